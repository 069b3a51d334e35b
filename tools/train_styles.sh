#!/usr/bin/env bash
# Train the shipped fast style networks, one after the other (2 CPU cores: never two at once).
# Resumable: rerun the same command and every run continues from its checkpoint in
# ~/.cache/imgedit/train/style-<name>/ (preview.jpg there shows the bundled samples stylised).
# Export after looking at the previews:
#   imgedit train style --style NAME <same args> --export-only
# Usage: tools/train_styles.sh [style ...]     (default: all five shipped paintings)
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
PHOTOS="${IMGEDIT_PHOTOS:-$HOME/.cache/imgedit/media/photos}"
[ -d "$PHOTOS" ] || bash tools/fetch_media.sh
STEPS="${STEPS:-2000}"
styles=("$@")
[ ${#styles[@]} -gt 0 ] || styles=(starry_night wave the_scream composition_vii udnie)
for s in "${styles[@]}"; do
  .venv/bin/imgedit train style --style "$s" --data "$PHOTOS" --steps "$STEPS" --style-weight "${STYLE_WEIGHT:-1.0}" --content-weight "${CONTENT_WEIGHT:-5.0}" \
    --threads "${THREADS:-2}" >> "$HOME/.cache/imgedit/train/style-$s.log" 2>&1
done
