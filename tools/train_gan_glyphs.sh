#!/bin/bash
# gan.glyphs: render the data (installs the Debian font packages; root) and train the conditional
# DCGAN. Resumable: rerun the same command (checkpoints in ~/.cache/imgedit/train/gan-glyphs).
# When it finishes: add --export-only --ship to write pretrained/gan-glyphs.safetensors.
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/glyphs
[ -f "$D/labels.csv" ] || .venv/bin/python -m imgedit_gan.glyphs --install --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train gan --data "$D" --labels "$D/labels.csv" --gray --conditional \
  --name glyphs --steps 7000 --encoder-steps 1000 --r1 1 --fid-every 2000 --summary 'glyphs of 97 fonts' \
  --licence 'weights MIT; trained on fonts under SIL OFL 1.1 (Liberation, Noto), GPL-3+ with font exception (FreeFont), AGPL-3 with font exception (URW base35), Bitstream Vera licence (DejaVu)' "$@"
