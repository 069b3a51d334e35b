#!/bin/bash
# EXPERIMENT (issue 12): the class-conditional DCGAN on the glyphs -- the latent ends with a one-hot
# of the letter (`--class-column char`), D is a projection discriminator, edits move only the
# N(0, I) part, so an attribute edit cannot change the letter. Fine-tuned from the shipped
# gan.glyphs (its letter rows start at zero; a fresh projection D learns for 500 steps first):
# trained from scratch with the unconditional recipe, D won within 300 steps (real logits 8-15)
# and G collapsed to blank images -- also with zeros in the class inputs and no projection, so
# the fragile start is the recipe's, not the conditioning's. Renders the data first (installs
# the Debian font packages; root). Resumable: rerun the same command (checkpoints in
# ~/.cache/imgedit/train/gan-glyphs-class). Export for the benchmark with
#   IMGEDIT_MODELS_DIR=/tmp/m bash tools/train_gan_glyphs_class.sh --export-only --export --name glyphsk
# (the --name given here last wins); to ship it instead: --export-only --ship.
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/glyphs
[ -f "$D/labels.csv" ] || .venv/bin/python -m imgedit_gan.glyphs --install --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train gan --data "$D" --labels "$D/labels.csv" --gray --class-column char \
  --name glyphs --out ~/.cache/imgedit/train/gan-glyphs-class --init-from gan.glyphs --d-warmup 500 --steps ${STEPS:-3500} --encoder-steps ${ENCODER_STEPS:-2500} --fid-every 500 \
  --summary 'glyphs of 97 fonts, letter-conditional' \
  --licence 'weights MIT; trained on fonts under SIL OFL 1.1 (Liberation, Noto), GPL-3+ with font exception (FreeFont), AGPL-3 with font exception (URW base35), Bitstream Vera licence (DejaVu)' "$@"
