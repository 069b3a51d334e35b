"""Fixtures of imgedit-gan's tests: a tiny labelled glyph set rendered from Pillow's bundled font
(synthetic bold and italic variants: no font package needed) and a tiny model trained on it."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

_CORE_TESTS = Path(__file__).resolve().parents[3] / "tests"
if _CORE_TESTS.is_dir() and str(_CORE_TESTS) not in sys.path:
    sys.path.insert(0, str(_CORE_TESTS))

VARIANTS = {"regular": (0, 0.0), "bold": (10, 0.0), "italic": (0, 0.3), "bolditalic": (10, 0.3)}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


@pytest.fixture(scope="session")
def glyph_set(tmp_path_factory) -> Path:
    return render_set(tmp_path_factory.mktemp("glyphs"))


TINY = ["--nz", "16", "--ngf", "8", "--ndf", "8", "--batch", "16", "--gray", "--fid-every", "1000",
        "--fid-samples", "50", "--preview-every", "1000", "--bf16", "--seed", "3"]


def tiny_args(glyph_set: Path, out: Path, steps: int, encoder_steps: int, *extra: str) -> list[str]:
    return ["--data", str(glyph_set), "--labels", str(glyph_set / "labels.csv"), "--name", "tiny",
            "--out", str(out), "--steps", str(steps), "--encoder-steps", str(encoder_steps), *TINY, *extra]


@pytest.fixture(scope="session")
def tiny_model(glyph_set, tmp_path_factory):
    """gan.tiny: 150 GAN + 150 encoder steps on the glyph set, exported to the (temp) user models
    folder with its bold/italic directions. Returns the run folder."""
    import torch

    from imgedit import registry
    from imgedit_gan import train

    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("run") / "gan-tiny"
    assert train.main(tiny_args(glyph_set, run, 150, 150, "--export", "--pca", "2")) == 0
    registry.reload()
    return run
