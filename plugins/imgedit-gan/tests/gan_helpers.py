"""Helpers of imgedit-gan's tests (a uniquely named module: every plugin has a conftest)."""
from __future__ import annotations

import csv
from pathlib import Path

VARIANTS = {"regular": (0, 0.0), "bold": (10, 0.0), "italic": (0, 0.3), "bolditalic": (10, 0.3)}


def render_set(out: Path, chars: str | None = None) -> Path:
    from PIL import Image

    from imgedit_gan.glyphs import CHARS, load_font, render_glyph

    font = load_font(None)
    rows = []
    for variant, (stroke, shear) in VARIANTS.items():
        (out / variant).mkdir(parents=True, exist_ok=True)
        for c in chars or CHARS:
            name = f"{variant}/{ord(c):03d}.png"
            Image.fromarray(render_glyph(font, c, 64, stroke, shear)).save(out / name)
            rows.append({"file": name, "char": c, "bold": int("bold" in variant), "italic": int("italic" in variant)})
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "char", "bold", "italic"])
        w.writeheader()
        w.writerows(rows)
    return out


TINY = ["--nz", "16", "--ngf", "8", "--ndf", "8", "--batch", "16", "--gray", "--fid-every", "1000",
        "--fid-samples", "50", "--preview-every", "1000", "--bf16", "--seed", "3"]


def tiny_args(glyph_set: Path, out: Path, steps: int, encoder_steps: int, *extra: str) -> list[str]:
    return ["--data", str(glyph_set), "--labels", str(glyph_set / "labels.csv"), "--name", "tiny",
            "--out", str(out), "--steps", str(steps), "--encoder-steps", str(encoder_steps), *TINY, *extra]


