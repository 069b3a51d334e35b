#!/bin/bash
# vae.glyphs: render the glyph data (installs the Debian font packages; root) and train the VAE
# on it. Resumable: rerun the same command (checkpoints in ~/.cache/imgedit/train/vae-glyphs).
# When it finishes: rerun with --export-only --ship to write pretrained/vae-glyphs.safetensors.
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/glyphs
[ -f "$D/labels.csv" ] || .venv/bin/python -m imgedit_gan.glyphs --install --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train vae --data "$D" --labels "$D/labels.csv" --gray \
  --pair-by family,char --name glyphs --perceptual 0.05 --steps 5000 --eval-every 1000 --summary 'glyphs of 97 fonts' \
  --licence 'weights MIT; trained on fonts under SIL OFL 1.1 (Liberation, Noto), GPL-3+ with font exception (FreeFont), AGPL-3 with font exception (URW base35), Bitstream Vera licence (DejaVu)' "$@"
