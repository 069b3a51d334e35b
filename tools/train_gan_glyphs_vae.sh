#!/bin/bash
# The shipped gan.glyphs (issue 12; 2026-12-08): a letter- and attribute-conditional GAN whose
# generator starts as the decoder of the conditional VAE
#   bash tools/train_vae_glyphs.sh --conditional --class-column char --swap-weight 1 --name glyphs-cond --steps 2001 --export
# which already draws the letter and the attributes it is given; then the GAN recipe of
# tools/train_gan_glyphs_attrs.sh (projection D on the letter, an attribute classifier beside D,
# --keep char) sharpens it, and the inversion encoder learns from scratch. (Fine-tuned from the
# unconditional model instead, G ignored its letter input.)
# Resumable: rerun the same command (checkpoints in ~/.cache/imgedit/train/gan-glyphs-vae).
# The shipped run used these defaults (5,600 + 1,000), but was exported once at step 1,203 with
# STEPS=1203 ENCODER_STEPS=800 (which trained the encoder for steps 1,204-2,003) and then resumed:
# 4,800 GAN steps and 1,800 encoder steps in all (pretrained/gan-glyphs.md). Ship: add --ship (--export-only to skip training);
# an experiment: --export-only --export --name NAME (a user model, e.g. with IMGEDIT_MODELS_DIR=...).
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/glyphs
[ -f "$D/labels.csv" ] || .venv/bin/python -m imgedit_gan.glyphs --install --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train gan --data "$D" --labels "$D/labels.csv" --gray \
  --conditional --class-column char --keep char --init-from ${BASE:-vae.glyphs-cond} --d-warmup 500 --aux-after 0 --aux 4 --aux-ndf 32 --aux-lr 1e-3 --aux-augment '' \
  --lr 1e-4 --lr-d 2e-4 --name glyphs --out ~/.cache/imgedit/train/gan-glyphs-vae \
  --steps ${STEPS:-5600} --encoder-steps ${ENCODER_STEPS:-1000} --fid-every 500 \
  --summary 'glyphs of 97 fonts, letter- and attribute-conditional, G from a conditional VAE' \
  --licence 'weights MIT; trained on fonts under SIL OFL 1.1 (Liberation, Noto), GPL-3+ with font exception (FreeFont), AGPL-3 with font exception (URW base35), Bitstream Vera licence (DejaVu)' "$@"
