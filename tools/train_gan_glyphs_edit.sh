#!/bin/bash
# gan.glyphs for edits (issue 12): the shipped unconditional gan.glyphs fine-tuned into a
# conditional model whose latent ends with the five attribute coordinates (their inputs start as
# gan.glyphs' mean-difference directions: -1 -> +1 is one step along one). Half of each batch is the other half with one
# attribute flipped; a letter classifier trained on the labels must read both the same
# (--keep char). Only G's attribute inputs learn (--tune attributes: the rest of G stays
# gan.glyphs'; training all of G degraded its samples, FID-like 554 -> 1205 in 500 steps).
# D starts fresh: G is frozen for the first 300 steps. Renders the data first
# (installs the Debian font packages; root). Resumable: rerun the same command (checkpoints in
# ~/.cache/imgedit/train/gan-glyphs-edit3). Add --export-only --ship to write it to pretrained/.
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/glyphs
[ -f "$D/labels.csv" ] || .venv/bin/python -m imgedit_gan.glyphs --install --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train gan --data "$D" --labels "$D/labels.csv" --gray --conditional \
  --keep char --init-from gan.glyphs --tune attributes --lr 1e-3 --d-warmup 300 --aux-after 0 --r1 1 \
  --name glyphs --out ~/.cache/imgedit/train/gan-glyphs-edit3 --steps 2000 --encoder-steps 1000 --fid-every 500 \
  --summary 'glyphs of 97 fonts' \
  --licence 'weights MIT; trained on fonts under SIL OFL 1.1 (Liberation, Noto), GPL-3+ with font exception (FreeFont), AGPL-3 with font exception (URW base35), Bitstream Vera licence (DejaVu)' "$@"
