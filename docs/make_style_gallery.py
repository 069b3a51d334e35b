"""Rebuild docs/styles_<method>.jpg: the bundled chelsea photo in every shipped style.

    .venv/bin/python docs/make_style_gallery.py [--method optimize|fast] [--size 256]

Top row: the painting (from pretrained/style-references.safetensors); bottom row: the result of
`imgedit stylize samples/photos/chelsea.jpg OUT --style NAME --method METHOD --max-size SIZE`.
"""
import argparse
import io
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from safetensors import safe_open

import imgedit

ROOT = Path(__file__).resolve().parent.parent
STYLES = ["starry_night", "wave", "the_scream", "composition_vii", "udnie"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--method", default="optimize")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=120, help="optimize: steps at the finest scale")
    args = ap.parse_args()
    photo_path = ROOT / "samples" / "photos" / "chelsea.jpg"
    w = args.size
    photo = Image.open(photo_path)
    photo.thumbnail((w, w))
    h = photo.height
    sheet = Image.new("RGB", (w * (len(STYLES) + 1), h * 2 + 20), "white")
    sheet.paste(photo, (0, h + 20))
    draw = ImageDraw.Draw(sheet)
    draw.text((5, h + 2), "photo", fill="black")
    refs = safe_open(str(ROOT / "pretrained" / "style-references.safetensors"), "pt")
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(STYLES, start=1):
            ref = Image.open(io.BytesIO(bytes(refs.get_tensor(name).numpy()))).convert("RGB")
            ref.thumbnail((w, h))
            sheet.paste(ref, (i * w + (w - ref.width) // 2, 0))
            out = Path(tmp) / f"{name}.png"
            summary = imgedit.process([photo_path], out, task="stylize", style=[name], method=args.method,
                                      max_size=args.size, steps=args.steps, progress=False)
            assert summary.exit_code == 0, summary.results[0].reason
            res = Image.open(out)
            res.thumbnail((w, w))
            sheet.paste(res, (i * w, h + 20))
            draw.text((i * w + 5, h + 2), name, fill="black")
    dest = ROOT / "docs" / f"styles_{args.method}.jpg"
    sheet.save(dest, quality=85)
    print(dest)


if __name__ == "__main__":
    main()
