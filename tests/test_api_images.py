"""The Python API (``load_model(...).edit(pil_image)``) follows the CLI's image rules (issue 13):
16-bit read at full scale, alpha kept (resized with the picture), gray stays gray, EXIF
orientation applied. Each case is checked against the file the CLI writes for the same picture.
All images are generated here; tiny and fast."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageOps

import imgedit


@pytest.fixture(scope="module")
def adjust():
    return imgedit.load_model("classic.adjust", device="cpu")


@pytest.fixture(scope="module")
def resize():
    return imgedit.load_model("classic.resize", device="cpu")


def _noise(h: int, w: int, c: int, seed: int = 0, dtype=np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top + 1, size=(h, w, c), dtype=np.int64).astype(dtype)


def _gray16(h: int = 24, w: int = 40) -> PILImage.Image:
    ramp = np.linspace(0, 65535, h * w).round().astype(np.uint16).reshape(h, w)
    return PILImage.fromarray(ramp)  # mode I;16, what Pillow gives for a 16-bit gray PNG


def _via_cli(tmp_path: Path, pil: PILImage.Image, model: str, name: str = "in.png", **opts) -> PILImage.Image:
    """Save ``pil`` as a file, run the model over it as the CLI does and open the result."""
    src, dst = tmp_path / name, tmp_path / f"out_{Path(name).stem}.png"
    pil.save(src, **({"exif": pil.info["exif"]} if "exif" in pil.info else {}))
    summary = imgedit.process([src], dst, model=model, device="cpu", **opts)
    assert [r.status for r in summary.results] == ["done"], summary.as_dict()
    out = PILImage.open(dst)
    out.load()
    return out


def _same_pixels(a: PILImage.Image, b: PILImage.Image) -> None:
    assert (a.mode, a.size) == (b.mode, b.size)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_16bit_gray_is_read_at_full_scale(adjust, tmp_path):
    src = _gray16()
    out = adjust.edit(src)
    assert out.mode == "I;16"  # gray stays gray, 16 bit stays 16 bit
    assert abs(float(np.asarray(out, dtype=np.float64).mean()) - 65535 / 2) < 2
    np.testing.assert_allclose(np.asarray(out, dtype=np.int64), np.asarray(src, dtype=np.int64), atol=1)
    _same_pixels(out, _via_cli(tmp_path, src, "classic.adjust"))


@pytest.mark.parametrize("mode", ["I", "F"])
def test_other_16bit_gray_modes(adjust, mode):
    src = _gray16()
    if mode == "F":
        src = PILImage.fromarray(np.asarray(src, dtype=np.float32) / 65535)  # F: samples in [0, 1]
    else:
        src = src.convert("I")
    out = adjust.edit(src)
    assert out.mode == "I;16"
    assert abs(float(np.asarray(out, dtype=np.float64).mean()) - 65535 / 2) < 2


def test_rgba_keeps_alpha(adjust, tmp_path):
    src = PILImage.fromarray(_noise(20, 30, 4, seed=1), "RGBA")
    out = adjust.edit(src)
    assert out.mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(out)[..., 3], np.asarray(src)[..., 3])
    np.testing.assert_allclose(np.asarray(out, np.int16)[..., :3], np.asarray(src, np.int16)[..., :3], atol=1)
    _same_pixels(adjust.edit(src, saturation=1.3), _via_cli(tmp_path, src, "classic.adjust", saturation=1.3))


def test_alpha_is_resized_with_the_picture(resize, tmp_path):
    src = PILImage.fromarray(_noise(20, 30, 4, seed=2), "RGBA")
    out = resize.edit(src, scale=0.5)
    assert (out.mode, out.size) == ("RGBA", (15, 10))
    _same_pixels(out, _via_cli(tmp_path, src, "classic.resize", scale=0.5))


@pytest.mark.parametrize("mode", ["L", "LA"])
def test_gray_stays_gray(adjust, tmp_path, mode):
    src = PILImage.fromarray(_noise(16, 24, len(mode), seed=3).squeeze(-1) if mode == "L" else _noise(16, 24, 2, seed=3),
                             mode)
    out = adjust.edit(src, contrast=1.2)
    assert out.mode == mode
    _same_pixels(out, _via_cli(tmp_path, src, "classic.adjust", contrast=1.2))
    np.testing.assert_allclose(np.asarray(adjust.edit(src), np.int16), np.asarray(src, np.int16), atol=1)


def test_exif_orientation_is_applied(adjust, tmp_path):
    pic = PILImage.fromarray(_noise(12, 20, 3, seed=4), "RGB")
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    pic.info["exif"] = exif.tobytes()
    pic.save(tmp_path / "oriented.png", exif=pic.info["exif"])
    src = PILImage.open(tmp_path / "oriented.png")
    out = adjust.edit(src)
    assert out.size == (12, 20)  # displayed orientation
    np.testing.assert_allclose(np.asarray(out, np.int16), np.asarray(ImageOps.exif_transpose(src), np.int16), atol=1)
    assert out.getexif().get(0x0112, 1) == 1  # no second rotation when it is saved and reopened
    _same_pixels(out, _via_cli(tmp_path, src, "classic.adjust", name="oriented.png"))


def test_lists_and_palette_images(adjust):
    rgba = PILImage.fromarray(_noise(8, 8, 4, seed=5), "RGBA")
    gray = PILImage.fromarray(_noise(8, 8, 1, seed=6)[..., 0], "L")
    pal = PILImage.fromarray(_noise(8, 8, 3, seed=7), "RGB").convert("P")
    outs = adjust.edit([rgba, gray, pal])
    assert [o.mode for o in outs] == ["RGBA", "L", "RGB"]


def test_image_options_read_pil_like_files():
    """A PIL image given as an ``image`` option goes through the same reader (16-bit scale)."""
    from imgedit.engine import resolve_image_arg

    arg = resolve_image_arg(_gray16())
    assert abs(float(arg.image.mean()) - 0.5) < 1e-3
    assert tuple(arg.image.shape) == (1, 3, 24, 40)
