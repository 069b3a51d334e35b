#!/bin/bash
# vae.faces: sample the face data from gan-face-generate's DCGAN (DigiFace-1M; NON-COMMERCIAL
# research use only, carried onto the model) and train the VAE on it, with 8 PCA directions.
# Resumable: rerun the same command (checkpoints in ~/.cache/imgedit/train/vae-faces).
# When it finishes: rerun with --export-only --ship to write pretrained/vae-faces.safetensors.
set -euo pipefail
cd "$(dirname "$0")/.."
D=~/.cache/imgedit/data/faces
[ -d "$D" ] && [ -n "$(ls -A "$D" 2>/dev/null)" ] || .venv/bin/python -m imgedit_gan.faces --count 20000 --out "$D"
exec nice -n ${NICE:-10} .venv/bin/imgedit train vae --data "$D" \
  --name faces --perceptual 0.05 --steps 4000 --eval-every 1000 --pca 8 --summary 'synthetic 64x64 faces' \
  --licence 'NON-COMMERCIAL RESEARCH USE ONLY (trained on samples of gan-face-generate, itself trained on DigiFace-1M); weights otherwise MIT' "$@"
