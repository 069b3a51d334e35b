#!/bin/bash
# EXPERIMENT (issue 12): gan.glyphs fine-tuned into a model conditioned on both the letter and the
# five attributes: latent = 64 N(0, I) + bold, italic, monospace, serif, narrow (-1/+1) + a one-hot
# of the letter (`--conditional --class-column char`). All of G learns (its attribute inputs start
# as gan.glyphs' directions, its letter inputs at zero): an attribute classifier trained beside D
# gives G a cross-entropy on the attributes it was asked for (AC-GAN style), the projection D
# judges the letter, and half of each batch is the other half with one attribute flipped, which a
# letter classifier must read as the same letter (--keep char). The attribute classifier is as
# wide as D, learns at 1e-3 from un-augmented images with balanced classes (with the defaults --
# half width, DiffAugment's cutout, 2e-4 -- it read monospace, serif and narrow at 62-78%, near
# the majority class, and G never learned them), weight 4. A fresh D and the classifiers learn
# alone for 1,000 steps. Renders the data first (installs the Debian font packages; root). Resumable: rerun the
# same command (checkpoints in ~/.cache/imgedit/train/gan-glyphs-attrs2). Export for the benchmark:
#   IMGEDIT_MODELS_DIR=/tmp/m bash tools/train_gan_glyphs_attrs.sh --export-only --export --name glyphsa
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/glyphs
[ -f "$D/labels.csv" ] || .venv/bin/python -m imgedit_gan.glyphs --install --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train gan --data "$D" --labels "$D/labels.csv" --gray \
  --conditional --class-column char --keep char --init-from gan.glyphs --d-warmup 1000 --aux-after 0 --aux 4 --aux-ndf 32 --aux-lr 1e-3 --aux-augment '' \
  --lr 1e-4 --lr-d 2e-4 --name glyphs --out ~/.cache/imgedit/train/gan-glyphs-attrs2 \
  --steps ${STEPS:-4000} --encoder-steps ${ENCODER_STEPS:-2000} --fid-every 500 \
  --summary 'glyphs of 97 fonts, letter- and attribute-conditional' \
  --licence 'weights MIT; trained on fonts under SIL OFL 1.1 (Liberation, Noto), GPL-3+ with font exception (FreeFont), AGPL-3 with font exception (URW base35), Bitstream Vera licence (DejaVu)' "$@"
