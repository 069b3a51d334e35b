#!/bin/bash
# EXPERIMENT (issue 12): a letter- and attribute-conditional gan.glyphs whose generator starts as
# the decoder of the conditional VAE (tools/train_vae_glyphs.sh --conditional --class-column char
# --swap-weight 1 --name glyphs-cond --export), which already draws the letter and the attributes
# it is given; then the GAN recipe of tools/train_gan_glyphs_attrs.sh (projection D on the letter,
# an attribute classifier beside D, --keep char) sharpens it, and the inversion encoder learns
# from scratch. (Fine-tuned from the unconditional gan.glyphs, G ignored its letter input.)
# Resumable: rerun the same command (checkpoints in ~/.cache/imgedit/train/gan-glyphs-vae).
# Export for the benchmark:
#   IMGEDIT_MODELS_DIR=... bash tools/train_gan_glyphs_vae.sh --export-only --export --name glyphsv
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/glyphs
[ -f "$D/labels.csv" ] || .venv/bin/python -m imgedit_gan.glyphs --install --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train gan --data "$D" --labels "$D/labels.csv" --gray \
  --conditional --class-column char --keep char --init-from ${BASE:-vae.glyphs-cond} --d-warmup 500 --aux-after 0 --aux 4 --aux-ndf 32 --aux-lr 1e-3 --aux-augment '' \
  --lr 1e-4 --lr-d 2e-4 --name glyphs --out ~/.cache/imgedit/train/gan-glyphs-vae \
  --steps ${STEPS:-3000} --encoder-steps ${ENCODER_STEPS:-1500} --fid-every 500 \
  --summary 'glyphs of 97 fonts, letter- and attribute-conditional, G from a conditional VAE' \
  --licence 'weights MIT; trained on fonts under SIL OFL 1.1 (Liberation, Noto), GPL-3+ with font exception (FreeFont), AGPL-3 with font exception (URW base35), Bitstream Vera licence (DejaVu)' "$@"
