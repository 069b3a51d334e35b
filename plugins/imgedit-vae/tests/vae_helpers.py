"""Helpers of imgedit-vae's tests (a uniquely named module: every plugin's tests folder has one,
and pytest imports them all by their bare names)."""
from __future__ import annotations

import csv
from pathlib import Path

VARIANTS = {"regular": 0, "bold": 12}   #: name -> stroke width (px at 4x): synthetic bold
TRAIN_CHARS = "ABCDEFGHKLMNOPRSTUVXYZ0123"
HELD_CHARS = "EHJQW689"                   #: for the held-aside checks (E and H also in training)


def render_glyph(char: str, stroke: int = 0, size: int = 64):
    """One glyph of Pillow's bundled font, black on white, (size, size) uint8, drawn at 4x and
    centred on the cell (so every glyph has the same scale)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    big = size * 4
    font = ImageFont.load_default(size=int(big * 0.8))
    canvas = Image.new("L", (big, big), 255)
    ImageDraw.Draw(canvas).text((big / 2, big / 2), char, font=font, fill=0, anchor="mm",
                                stroke_width=stroke, stroke_fill=0)
    return np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS))


def render_set(out: Path, chars: str = TRAIN_CHARS, labels: bool = True) -> Path:
    """``out/regular/NNN.png`` and ``out/bold/NNN.png`` for each char (+ ``labels.csv``: file,
    char, bold)."""
    from PIL import Image

    rows = []
    for variant, stroke in VARIANTS.items():
        (out / variant).mkdir(parents=True, exist_ok=True)
        for c in chars:
            name = f"{variant}/{ord(c):03d}.png"
            Image.fromarray(render_glyph(c, stroke)).save(out / name)
            rows.append({"file": name, "char": c, "bold": int(variant == "bold")})
    if labels:
        with open(out / "labels.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["file", "char", "bold"])
            w.writeheader()
            w.writerows(rows)
    return out


TINY = ["--nz", "16", "--nef", "8", "--ngf", "8", "--batch", "16", "--gray", "--eval-every", "1000",
        "--fid-samples", "0", "--preview-every", "1000", "--beta-warmup", "50", "--lr", "2e-3",
        "--bf16", "--seed", "3"]


def tiny_args(glyph_set: Path, out: Path, steps: int, *extra: str) -> list[str]:
    return ["--data", str(glyph_set), "--labels", str(glyph_set / "labels.csv"), "--name", "tiny",
            "--out", str(out), "--steps", str(steps), *TINY, *extra]
