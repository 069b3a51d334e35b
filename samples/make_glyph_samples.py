"""Rebuild samples/glyphs/ (run from the repo root): four 64x64 glyphs of Pillow's bundled font
(Aileron Regular, CC0), which is not among gan.glyphs' training fonts -- real inputs for
the demo's inversion, edits and morph.

    .venv/bin/python samples/make_glyph_samples.py
"""
from pathlib import Path

from PIL import Image

from imgedit_gan.glyphs import load_font, render_glyph

out = Path(__file__).parent / "glyphs"
out.mkdir(exist_ok=True)
font = load_font(None)
for c in "AgR5":
    name = f"{c.lower()}_lower.png" if c.islower() else f"{c}.png"
    Image.fromarray(render_glyph(font, c)).save(out / name, optimize=True)
    print(out / name)
