"""Rebuild docs/styles_<method>.jpg: the bundled sample photos in every shipped style.

    .venv/bin/python docs/make_style_gallery.py [--method optimize|fast|arbitrary] [--size 256]
                                                [--photos chelsea.jpg ...]

Top row: the paintings (from pretrained/style-references.safetensors); then one row per photo:
the photo, then the result of
`imgedit stylize samples/photos/PHOTO OUT --style NAME --method METHOD --max-size SIZE`.
Default photos: all bundled ones for fast/arbitrary, chelsea.jpg for optimize (slow).
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
PHOTOS = ROOT / "samples" / "photos"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--method", default="optimize")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=120, help="optimize: steps at the finest scale")
    ap.add_argument("--photos", nargs="*", default=None, help="file names in samples/photos")
    args = ap.parse_args()
    names = args.photos or (["chelsea.jpg"] if args.method == "optimize" else sorted(p.name for p in PHOTOS.iterdir()
                                                                                    if p.suffix in (".jpg", ".png")))
    w = args.size
    thumbs = []
    for n in names:
        im = Image.open(PHOTOS / n).convert("RGB")
        im.thumbnail((w, w))
        thumbs.append(im)
    head = max(t.height for t in thumbs)
    row_h = [t.height for t in thumbs]
    label = 16
    sheet = Image.new("RGB", (w * (len(STYLES) + 1), head + label + sum(row_h)), "white")
    draw = ImageDraw.Draw(sheet)
    refs = safe_open(str(ROOT / "pretrained" / "style-references.safetensors"), "pt")
    for i, name in enumerate(STYLES, start=1):
        ref = Image.open(io.BytesIO(bytes(refs.get_tensor(name).numpy()))).convert("RGB")
        ref.thumbnail((w, head))
        sheet.paste(ref, (i * w + (w - ref.width) // 2, 0))
        draw.text((i * w + 5, head + 2), name, fill="black")
    draw.text((5, head + 2), f"photo / --method {args.method}", fill="black")
    with tempfile.TemporaryDirectory() as tmp:
        y = head + label
        for n, thumb in zip(names, thumbs):
            sheet.paste(thumb, (0, y))
            for i, name in enumerate(STYLES, start=1):
                out = Path(tmp) / f"{Path(n).stem}_{name}.png"
                summary = imgedit.process([PHOTOS / n], out, task="stylize", style=[name], method=args.method,
                                          max_size=args.size, steps=args.steps, progress=False)
                assert summary.exit_code == 0, summary.results[0].reason
                res = Image.open(out).convert("RGB")
                res.thumbnail((w, w))
                sheet.paste(res, (i * w, y))
            y += thumb.height
    dest = ROOT / "docs" / f"styles_{args.method}.jpg"
    sheet.save(dest, quality=85)
    print(dest)


if __name__ == "__main__":
    main()
