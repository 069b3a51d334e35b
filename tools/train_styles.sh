#!/usr/bin/env bash
# Train the shipped style weights, one run after the other (2 CPU cores: never two at once).
#   tools/train_styles.sh                      # the five fast styles, then the arbitrary-style decoder
#   tools/train_styles.sh wave:2 decoder       # just these; NAME:W sets the content weight (default 5)
# Resumable: rerun the same command and every run continues from its checkpoint in
# ~/.cache/imgedit/train/style-<name>/ (preview.jpg there shows the bundled samples stylised,
# updated at every checkpoint). Logs: ~/.cache/imgedit/train/style-<name>.log.
# Export after looking at the previews (writes pretrained/*.safetensors + model card and
# declares the sha256 in plugins/imgedit-style/imgedit_style/plugin.py):
#   imgedit train style --style NAME <same args> --export-only
#   imgedit train style-decoder <same args> --export-only
# Environment: STEPS (fast styles, default 2000), DECODER_STEPS (default 3000), THREADS (2),
# IMGEDIT_PHOTOS (default ~/.cache/imgedit/media/photos, fetched by tools/fetch_media.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
PHOTOS="${IMGEDIT_PHOTOS:-$HOME/.cache/imgedit/media/photos}"
[ -d "$PHOTOS" ] || bash tools/fetch_media.sh
LOGS="$HOME/.cache/imgedit/train"
mkdir -p "$LOGS"
runs=("$@")
# content weights chosen from the previews (wave and the_scream at 5 were only a colour cast)
[ ${#runs[@]} -gt 0 ] || runs=(starry_night wave:2 the_scream:2 composition_vii udnie:3 decoder)
for s in "${runs[@]}"; do
  if [ "$s" = decoder ]; then
    .venv/bin/imgedit train style-decoder --data "$PHOTOS" --steps "${DECODER_STEPS:-2000}" \
      --threads "${THREADS:-2}" >> "$LOGS/style-decoder.log" 2>&1
  else
    name=${s%%:*}; cw=5.0; [ "$name" = "$s" ] || cw=${s#*:}
    .venv/bin/imgedit train style --style "$name" --data "$PHOTOS" --steps "${STEPS:-2000}" \
      --content-weight "$cw" --threads "${THREADS:-2}" >> "$LOGS/style-$name.log" 2>&1
  fi
done
