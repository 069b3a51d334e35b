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
#   imgedit train style-decoder <the last stage's args> --export-only
# Environment: STEPS (fast styles, default 2000), DECODER_STEPS (stage 1, default 2000), THREADS (2),
# IMGEDIT_PHOTOS (default ~/.cache/imgedit/media/photos, fetched by tools/fetch_media.sh),
# IMGEDIT_PAINTINGS (the decoder's, default ~/.cache/imgedit/media/styles/train_paintings, likewise).
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
    # five stages, each resumable, each starting from the one before (the shipped decoder's card):
    # 1. reconstruction only (photos); 2. + stylizing with the training paintings (Gram loss x3);
    # 3. Gram loss x5 at a random 4 px alignment (against the grid), heavier pixel loss (colour);
    # 4. the same with 8 random crops of each painting as more styles (paintings it never saw)
    # 5. the same + a saturation term on the reconstructions (stage 4 came back washed out: 0.90)
    PAINTINGS="${IMGEDIT_PAINTINGS:-$HOME/.cache/imgedit/media/styles/train_paintings}"
    [ -d "$PAINTINGS" ] || bash tools/fetch_media.sh
    D=(.venv/bin/imgedit train style-decoder --data "$PHOTOS" --threads "${THREADS:-2}")
    S=(--styles "$PAINTINGS" --identity 0.5 --lr 1e-4 --curriculum 0)
    "${D[@]}" --steps "${DECODER_STEPS:-2000}" --run-dir "$LOGS/style-decoder-ml" >> "$LOGS/style-decoder.log" 2>&1
    "${D[@]}" "${S[@]}" --init "$LOGS/style-decoder-ml/last.safetensors" --style-weight 3 --pixel-weight 2 \
      --feature-weight 2 --steps 3000 --run-dir "$LOGS/style-decoder-s3i5" >> "$LOGS/style-decoder.log" 2>&1
    "${D[@]}" "${S[@]}" --init "$LOGS/style-decoder-s3i5/last.safetensors" --style-weight 5 --pixel-weight 4 \
      --feature-weight 2 --jitter 4 --steps 2000 --run-dir "$LOGS/style-decoder-s5j" >> "$LOGS/style-decoder.log" 2>&1
    "${D[@]}" "${S[@]}" --init "$LOGS/style-decoder-s5j/last.safetensors" --style-weight 5 --pixel-weight 4 \
      --feature-weight 2 --jitter 4 --painting-crops 8 --steps 3000 --run-dir "$LOGS/style-decoder-crops8" >> "$LOGS/style-decoder.log" 2>&1
    "${D[@]}" "${S[@]}" --init "$LOGS/style-decoder-crops8/last.safetensors" --style-weight 5 --pixel-weight 4 \
      --feature-weight 2 --jitter 4 --painting-crops 8 --saturation-weight 5 --steps 2000 \
      --run-dir "$LOGS/style-decoder-sat5" >> "$LOGS/style-decoder.log" 2>&1
  else
    name=${s%%:*}; cw=5.0; [ "$name" = "$s" ] || cw=${s#*:}
    .venv/bin/imgedit train style --style "$name" --data "$PHOTOS" --steps "${STEPS:-2000}" \
      --content-weight "$cw" --threads "${THREADS:-2}" >> "$LOGS/style-$name.log" 2>&1
  fi
done
