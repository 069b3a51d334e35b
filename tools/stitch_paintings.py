"""Reassemble the paintings of GCompris' jigsaw activity from their pieces.

GCompris 3.1 ships 22 paintings (WebMuseum scans, GPL-3+) only as jigsaw pieces (RGBA, each
placed by its centre in a ``board*.qml`` file, as fractions of a background of the given size).
This pastes every board's pieces onto one canvas and writes the painting as PNG:

    python tools/stitch_paintings.py RESOURCE_DIR OUT_DIR [--exclude NAME ...]

RESOURCE_DIR is ``.../activities/paintings/resource`` (with ``board/`` and ``image/``). Called by
``tools/fetch_media.sh``; the result is the training set of paintings for the arbitrary-style
decoder (``imgedit train style-decoder --styles``).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from PIL import Image


def boards(resource: Path):
    for qml in sorted((resource / "board").glob("board*.qml")):
        text = qml.read_text(encoding="utf-8")
        size = re.search(r'"width"\s*:\s*(\d+)\s*,\s*"height"\s*:\s*(\d+)', text)
        pieces = re.findall(r'"pixmapfile"\s*:\s*"image/([^"]+\.webp)"\s*,\s*"x"\s*:\s*"([\d.]+)"\s*,\s*"y"\s*:\s*"([\d.]+)"', text)
        title = re.search(r'qsTr\("([^"]*)"\)', text)
        if size and pieces:
            yield qml.stem, (int(size[1]), int(size[2])), pieces, title[1] if title else ""


def stitch(resource: Path, size, pieces) -> Image.Image:
    w, h = size
    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    for name, fx, fy in pieces:
        p = Image.open(resource / "image" / name).convert("RGBA")
        cx, cy = float(fx) * w, float(fy) * h
        canvas.alpha_composite(p, (round(cx - p.width / 2), round(cy - p.height / 2)))
    box = canvas.getchannel("A").point(lambda a: 255 if a > 250 else 0).getbbox()
    return canvas.crop(box).convert("RGB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("resource", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--exclude", action="append", default=[], help="skip paintings whose piece names start with this")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    n = 0
    for _, size, pieces, title in boards(args.resource):
        stem = re.sub(r"[-_]?[a-z]?\d+\.webp$", "", pieces[0][0])
        if any(stem.startswith(x) for x in args.exclude):
            continue
        img = stitch(args.resource, size, pieces)
        img.save(args.out / f"{stem}.png")
        print(f"{stem}: {img.width}x{img.height}  {title}")
        n += 1
    print(f"{n} paintings -> {args.out}", file=sys.stderr)
    return 0 if n else 1


if __name__ == "__main__":
    raise SystemExit(main())
