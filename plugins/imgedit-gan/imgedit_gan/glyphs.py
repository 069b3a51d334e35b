"""The glyph data set of ``gan.glyphs``: 64x64 renderings of A-Z, a-z, 0-9 of installed fonts,
labelled from each font's own metadata (OS/2 and post tables, read with fontTools); a font whose
tables do not classify it and whose name says neither serif nor sans (URW base35's Nimbus Roman,
C059, P052, Bookman) is serif when its ``H`` has serifs (:func:`has_serifs`).

    python -m imgedit_gan.glyphs --install --out ~/.cache/imgedit/data/glyphs

``--install`` runs ``apt-get install`` for the Debian font packages the shipped model is
trained on (five sources: fonts-dejavu core and extra, liberation2, freefont, urw-base35, noto-core) (root only; skipped when they are present). The output folder holds one PNG per glyph
(``<font>/<char code>.png``, black on white) and ``labels.csv`` with the columns ``file, char,
font, package`` and the 0/1 attributes ``bold, italic, monospace, serif, narrow``: the format
:class:`imgedit.training.LabelledSet` reads and ``imgedit train gan --labels`` turns into shipped
directions (``family``: :func:`font_family`, for paired directions). Fonts that lack any of the 62 characters (most of Noto's script-specific fonts) are
left out.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import string
import subprocess
import sys
from pathlib import Path

CHARS = string.ascii_uppercase + string.ascii_lowercase + string.digits
ATTRIBUTES = ("bold", "italic", "monospace", "serif", "narrow")
#: Debian packages of the shipped model's training fonts -> where their files are.
PACKAGES = ("fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation2", "fonts-freefont-ttf",
            "fonts-urw-base35", "fonts-noto-core")
FONT_EXTS = (".ttf", ".otf")
SIZE = 64
_NOT_LATIN = re.compile(r"symbol|dingbat|D050000L", re.I)


def package_fonts(packages=PACKAGES) -> list[tuple[str, Path]]:
    """(package, font file) for every TrueType/OpenType file the installed packages hold."""
    out = []
    for pkg in packages:
        try:
            listing = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        for line in sorted(listing.splitlines()):
            p = Path(line)
            if p.suffix.lower() in FONT_EXTS and p.is_file():
                out.append((pkg, p))
    return out


def font_attributes(path: Path) -> dict[str, int] | None:
    """0/1 attributes from the font's tables, or None when it lacks one of :data:`CHARS`."""
    import logging

    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # odd 'created' dates are harmless here
    try:
        f = TTFont(str(path), lazy=True, fontNumber=0)
        cmap = f.getBestCmap() or {}
        if any(ord(c) not in cmap for c in CHARS):
            return None
        if "alpha" in str(cmap[ord("a")]).lower() or _NOT_LATIN.search(path.stem):
            return None  # symbol fonts map Latin codes to Greek letters or dingbats
        os2 = f["OS/2"] if "OS/2" in f else None
        head = f["head"]
        post = f["post"] if "post" in f else None
        weight = getattr(os2, "usWeightClass", 400) if os2 else 400
        fs_sel = getattr(os2, "fsSelection", 0) if os2 else 0
        mac = head.macStyle
        bold = weight >= 600 or bool(fs_sel & 0x20) or bool(mac & 1)
        italic = bool(fs_sel & 0x01) or bool(mac & 2) or (post is not None and post.italicAngle != 0)
        mono = bool(post and post.isFixedPitch) or (os2 is not None and os2.panose.bProportion == 9)
        width = getattr(os2, "usWidthClass", 5) if os2 else 5
        name = path.stem.lower()
        # some condensed faces keep the normal width class (Roboto Condensed): their name says it
        narrow = width <= 4 or any(w in name for w in ("cond", "narrow", "compress"))
        family_class = (getattr(os2, "sFamilyClass", 0) >> 8) if os2 else 0
        serif_style = os2.panose.bSerifStyle if os2 else 0
        # IBM family classes 1-5, 7 are serif designs, 8 sans; PANOSE serif style 11-13 are sans
        if "sans" in name:  # e.g. Open Sans Condensed Light's family class says serif
            serif = False
        elif family_class in (1, 2, 3, 4, 5, 7):
            serif = True
        elif family_class == 8:
            serif = False
        elif serif_style in (11, 12, 13):
            serif = False
        elif 2 <= serif_style <= 10:
            serif = True
        elif "serif" in name:  # no classification ("sans" was ruled out above): the name, else the
            serif = True  # glyphs themselves (URW base35's Nimbus Roman, C059, P052 carry no class)
        else:
            serif = has_serifs(path)
        return {"bold": int(bold), "italic": int(italic), "monospace": int(mono), "serif": int(serif),
                "narrow": int(narrow)}
    except Exception:  # noqa: BLE001 - unreadable fonts are left out
        return None


_STYLE_WORDS = re.compile(r"Sans|Serif|Mono|Condensed|Narrow|Display|PS|Roman|Bold|Oblique|Italic")


def font_family(stem: str) -> str:
    """The design family a font file's name says: the part before its style suffix (``-Bold``,
    ``_RI``) without the serif, pitch, width, weight and slant words (``DejaVuSansMono-Bold`` ->
    ``DejaVu``, ``NimbusRoman-Italic`` -> ``Nimbus``, ``FreeMonoBold`` -> ``Free``). Fonts of one
    family that differ in one attribute pair up for ``--pair-by family,char`` directions."""
    base = re.split(r"[-_ ]", stem, maxsplit=1)[0]
    return _STYLE_WORDS.sub("", base) or base


def has_serifs(path: Path, threshold: float = 1.5) -> bool:
    """Whether the font's ``H`` has serifs: its ink rows at the very top and bottom (the serifs'
    feet) against its stems a fifth of the way in. 1.0-1.2 for sans faces (plain, flared), >= 1.6
    for serif and slab faces; checked against the OS/2 class of the 200 classified fonts of the
    training, held-out and judges' packages, with which it agrees on all but a keycap font."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(path), 300)
    img = Image.new("L", (600, 600), 255)
    ImageDraw.Draw(img).text((100, 100), "H", font=font, fill=0)
    rows = (np.asarray(img) < 128).sum(1)
    ys = np.nonzero(rows)[0]
    if not len(ys):
        return False
    t, b = ys.min(), ys.max()
    h = b - t + 1
    edge = max(1, int(0.04 * h))
    foot = rows[b - edge:b + 1].max() / max(1.0, np.median(rows[b - int(0.35 * h):b - int(0.15 * h)]))
    top = rows[t:t + edge + 1].max() / max(1.0, np.median(rows[t + int(0.15 * h):t + int(0.35 * h)]))
    return bool(min(foot, top) >= threshold)


def render_glyph(font, char: str, size: int = SIZE, stroke: int = 0, shear: float = 0.0):
    """One glyph as a (size, size) uint8 array, black on white, centred on its ink box, in the crop
    box :func:`load_font` chose for the font (so relative sizes of letters are kept; shrunk only if
    the ink would not fit). ``stroke`` (px at 4x) and ``shear`` (x per y) make synthetic bold and
    italic variants, for tests and for fonts without such styles."""
    import numpy as np
    from PIL import Image, ImageDraw

    big = size * 4
    canvas = Image.new("L", (big, big), 255)
    draw = ImageDraw.Draw(canvas)
    l, t, r, b = draw.textbbox((0, 0), char, font=font)
    draw.text(((big - (r - l)) / 2 - l, (big - (b - t)) / 2 - t), char, font=font, fill=0,
              stroke_width=stroke, stroke_fill=0)
    if shear:
        canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, (1, shear, -shear * big / 2, 0, 1, 0),
                                  resample=Image.Resampling.BICUBIC, fillcolor=255)
    ink = np.asarray(canvas) < 250
    ys, xs = np.nonzero(ink)
    if not len(ys):
        return None
    cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
    extent = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
    box = max(extent / 0.95, getattr(font, "_imgedit_box", extent / 0.9))  # ink always fits
    half = box / 2
    crop = canvas.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
    return np.asarray(crop.resize((size, size), Image.Resampling.LANCZOS))


def load_font(path=None, size: int = SIZE):
    """A Pillow font sized so that its ``H`` is about 0.55 of a 64 px cell (rendered 4x); ``path``
    None is Pillow's own bundled font (Aileron Regular), which needs no font package."""
    from PIL import ImageFont

    def open_at(pt: int):
        return ImageFont.load_default(size=pt) if path is None else ImageFont.truetype(str(path), pt)

    l, t, r, b = open_at(100).getbbox("H")
    cap = max(1, b - t)
    font = open_at(max(8, round(100 * size * 4 * 0.55 / cap)))
    # every glyph of a font shares one crop box (the font's tallest ink), so relative sizes stay
    boxes = [font.getbbox(c) for c in ("H", "g", "j", "Q", "W", "M", "l", "y", "f")]
    tallest = max(b - t for _, t, _, b in boxes)
    widest = max(r - l for l, _, r, _ in boxes)
    font._imgedit_box = max(tallest, widest) / 0.9
    return font


def render_font(path, size: int = SIZE, stroke: int = 0, shear: float = 0.0) -> dict[str, "object"]:
    """``{char: (size,size) uint8}`` for every character of :data:`CHARS` the font renders."""
    font = load_font(path, size)
    out = {}
    for c in CHARS:
        g = render_glyph(font, c, size, stroke, shear)
        if g is not None:
            out[c] = g
    return out


def write_set(fonts: list[tuple[str, Path]], out: Path, size: int = SIZE, log=print) -> int:
    """Render ``fonts`` into ``out`` (PNGs + labels.csv); returns the number of glyphs."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    kept = 0
    for pkg, path in fonts:
        attrs = font_attributes(path)
        if attrs is None:
            continue
        glyphs = render_font(path, size)
        if len(glyphs) != len(CHARS):
            continue
        folder = out / path.stem
        folder.mkdir(exist_ok=True)
        for c, arr in glyphs.items():
            name = f"{path.stem}/{ord(c):03d}.png"
            Image.fromarray(arr).save(out / name)
            rows.append({"file": name, "char": c, "font": path.stem, "family": font_family(path.stem),
                         "package": pkg, **attrs})
        kept += 1
    tmp = out / "labels.csv.tmp"
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["file", "char", "font", "family", "package", *ATTRIBUTES])
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out / "labels.csv")
    log(f"{len(rows)} glyphs of {kept} fonts -> {out}")
    for a in ATTRIBUTES:
        n = sum(r[a] for r in rows) // len(CHARS)
        log(f"  {a}: {n} fonts")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imgedit_gan.glyphs", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("~/.cache/imgedit/data/glyphs").expanduser())
    ap.add_argument("--install", action="store_true", help="apt-get install the font packages first")
    ap.add_argument("--packages", nargs="+", default=list(PACKAGES), help="Debian font packages to render")
    ap.add_argument("--size", type=int, default=SIZE)
    args = ap.parse_args(argv)
    if args.install:
        missing = [p for p in args.packages
                   if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
        if missing:
            subprocess.run(["apt-get", "update"], check=True)
            subprocess.run(["apt-get", "install", "-y", *missing], check=True)
    fonts = package_fonts(args.packages)
    if not fonts:
        print("no fonts found: install the packages (--install)", file=sys.stderr)
        return 1
    write_set(fonts, args.out.expanduser(), args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
