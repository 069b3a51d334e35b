"""Tests for imgedit.io.images and imgedit.io.atomic (all data generated here, tiny and fast)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageOps

from imgedit.errors import InputError, OutputError, UsageError
from imgedit.io import images as images_mod
from imgedit.io.atomic import TEMP_MARKER, atomic_path, atomic_write_bytes, cleanup_stale_temps
from imgedit.io.images import Image, read_image, save_format_for, write_image
from io_corpus import UNICODE_NAME, encode_cv2, exif_bytes, make_bad_inputs, noise, srgb_icc

SHARED = Path("/work/shared/data/edgecases")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str | None]]:
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_bad_inputs(folder)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temp_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if TEMP_MARKER in p.name]


def cv2_read(path: Path) -> np.ndarray:
    import cv2

    return cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)


# ---------------------------------------------------------------------------------------------
# bad inputs


def test_corpus_image_reasons_are_exact_and_inputs_untouched(corpus) -> None:
    folder, expected = corpus
    before = {name: sha256(folder / name) for name in expected}
    for name, reason in expected.items():
        if name.endswith(".mp4"):
            continue
        path = folder / name
        if reason is None:
            image = read_image(path)
            assert image.pixels.dtype == np.float32 and image.pixels.ndim == 3 and image.pixels.shape[2] == 3
            assert 0.0 <= image.pixels.min() and image.pixels.max() <= 1.0
        else:
            with pytest.raises(InputError) as info:
                read_image(path)
            assert reason in info.value.reason, (name, info.value.reason)
            assert info.value.path == os.fspath(path)
            message = str(info.value)
            assert message.startswith(os.fspath(path) + ": ") and "\n" not in message
    assert {name: sha256(folder / name) for name in expected} == before


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.png", "empty file (0 bytes)"),
        ("text.png", "not an image (unrecognised format)"),
        ("truncated.jpg", "truncated or corrupt image data"),
        ("truncated.png", "truncated or corrupt image data"),
        ("bomb.png", "image too large: 20000x20000 = 400,000,000 pixels exceeds the limit of 100,000,000 pixels (--max-pixels)"),
    ],
)
def test_exact_reason_strings(corpus, name: str, reason: str) -> None:
    folder, _ = corpus
    with pytest.raises(InputError) as info:
        read_image(folder / name)
    assert info.value.reason == reason


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_image(tmp_path / "nope.png")
    assert info.value.reason == "file not found"
    with pytest.raises(InputError) as info:
        read_image(tmp_path)
    assert info.value.reason == "is a directory"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read anything")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    PILImage.new("RGB", (2, 2)).save(path)
    path.chmod(0)
    try:
        with pytest.raises(InputError) as info:
            read_image(path)
        assert info.value.reason == "permission denied"
    finally:
        path.chmod(0o644)


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "small.png"
    PILImage.fromarray(noise(40, 50)).save(path)

    def no_decode(*args, **kwargs):  # the limit must trip before any pixel is decoded
        raise AssertionError("decoded an image over the limit")

    monkeypatch.setattr(PILImage.Image, "load", no_decode)
    monkeypatch.setattr(images_mod, "_decode", no_decode)
    # 2000 px is between 1x and 2x the limit (Pillow would only warn) ...
    with pytest.raises(InputError) as info:
        read_image(path, max_pixels=1500)
    assert info.value.reason == "image too large: 50x40 = 2,000 pixels exceeds the limit of 1,500 pixels (--max-pixels)"
    # ... and over 2x (Pillow's own DecompressionBombError path)
    with pytest.raises(InputError) as info:
        read_image(path, max_pixels=500)
    assert info.value.reason.startswith("image too large: 50x40 = ")


def test_pixel_limit_can_be_disabled(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    PILImage.fromarray(noise(40, 50)).save(path)
    assert read_image(path, max_pixels=None).pixels.shape == (40, 50, 3)
    assert read_image(path, max_pixels=0).pixels.shape == (40, 50, 3)
    assert read_image(path, max_pixels=2000).pixels.shape == (40, 50, 3)


def test_truncated_16bit_png_raises(tmp_path: Path) -> None:
    data = encode_cv2(".png", noise(64, 64, 3, dtype=np.uint16))
    path = tmp_path / "t16.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        read_image(path)
    assert info.value.reason == "truncated or corrupt image data"


# ---------------------------------------------------------------------------------------------
# orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_exif_orientations_match_pillow(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"o{orientation}.png"
    rgba = noise(5, 7, 4, seed=orientation)
    PILImage.fromarray(rgba, mode="RGBA").save(path, exif=exif_bytes(orientation))
    image = read_image(path)
    with PILImage.open(path) as im:
        want = np.asarray(ImageOps.exif_transpose(im))
    assert image.pixels.shape == want.shape[:2] + (3,)
    np.testing.assert_array_equal(np.round(image.pixels * 255).astype(np.uint8), want[:, :, :3])
    np.testing.assert_array_equal(image.alpha, want[:, :, 3])
    exif = PILImage.Exif()
    exif.load(image.exif)
    assert exif.get(0x0112) == 1
    assert exif.get(0x010F) == "imgedit-test-camera"


def test_exif_rotated_jpegs(corpus) -> None:
    folder, _ = corpus
    rot6 = read_image(folder / "exif_rot6.jpg")  # stored 48x32, displayed rotated 90 deg clockwise
    assert rot6.pixels.shape == (48, 32, 3)
    assert rot6.pixels[4, -5, 0] > 0.9 and rot6.pixels[4, -5, 1] < 0.1  # marker now top-right
    assert rot6.pixels[4, 4, 0] < 0.6
    rot3 = read_image(folder / "exif_rot3.jpg")  # rotated 180 deg
    assert rot3.pixels.shape == (32, 48, 3)
    assert rot3.pixels[-5, -5, 0] > 0.9 and rot3.pixels[-5, -5, 1] < 0.1  # marker bottom-right
    for image in (rot6, rot3):
        exif = PILImage.Exif()
        exif.load(image.exif)
        assert exif[0x0112] == 1


def test_16bit_tiff_orientation_applied_once(tmp_path: Path) -> None:
    arr = noise(6, 9, 1, seed=3, dtype=np.uint16)
    path = tmp_path / "o6.tif"
    PILImage.fromarray(arr).save(path, tiffinfo={274: 6})
    image = read_image(path)
    assert image.bit_depth == 16 and image.gray
    want = np.rot90(arr, k=-1)
    np.testing.assert_array_equal(np.round(image.pixels[:, :, 0] * 65535).astype(np.uint16), want)


def test_16bit_png_orientation(tmp_path: Path) -> None:
    arr = noise(4, 7, 3, seed=5, dtype=np.uint16)
    stored = Image(arr.astype(np.float32) / 65535, None, False, 16, "PNG", None, exif_bytes(6))
    image = read_image(write_image(tmp_path / "o6.png", stored))
    np.testing.assert_array_equal(np.round(image.pixels * 65535).astype(np.uint16), np.rot90(arr, k=-1))


# ---------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("name", ["rgb16.png", "rgba16.png", "gray16.png", "la16.png", "rgb16.tif", "rgba16.tif", "gray16.tif"])
def test_16bit_round_trip_is_bit_exact(corpus, tmp_path: Path, name: str) -> None:
    folder, _ = corpus
    source = folder / name
    image = read_image(source)
    assert image.bit_depth == 16
    out = write_image(tmp_path / ("out" + source.suffix), image)
    assert out == tmp_path / ("out" + source.suffix)
    np.testing.assert_array_equal(cv2_read(out), cv2_read(source))
    again = read_image(out)
    assert again.bit_depth == 16 and again.gray == image.gray
    np.testing.assert_array_equal(again.pixels, image.pixels)
    if image.alpha is not None:
        assert again.alpha is not None and again.alpha.dtype == np.uint16
        np.testing.assert_array_equal(again.alpha, image.alpha)


def test_16bit_values_preserved(tmp_path: Path) -> None:
    arr = np.array([[[0, 1, 2], [65535, 65534, 32768]], [[257, 258, 12345], [40000, 3, 65533]]], np.uint16)
    src = tmp_path / "v.png"
    src.write_bytes(encode_cv2(".png", arr[:, :, ::-1]))  # cv2 wants BGR
    image = read_image(src)
    np.testing.assert_array_equal(np.round(image.pixels * 65535).astype(np.uint16), arr)
    out = write_image(tmp_path / "w.png", image)
    np.testing.assert_array_equal(cv2_read(out)[:, :, ::-1], arr)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA"])
def test_8bit_png_round_trip_is_lossless(tmp_path: Path, mode: str) -> None:
    channels = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}[mode]
    arr = noise(9, 11, channels, seed=channels)
    src = tmp_path / "src.png"
    PILImage.fromarray(arr, mode=mode).save(src)
    out = write_image(tmp_path / "out.png", read_image(src))
    with PILImage.open(out) as im:
        assert im.mode == mode
        np.testing.assert_array_equal(np.asarray(im), arr)


def test_alpha_untouched_and_gray_stays_gray(corpus, tmp_path: Path) -> None:
    folder, _ = corpus
    with PILImage.open(folder / "rgba.png") as im:
        rgba = np.asarray(im)
    image = read_image(folder / "rgba.png")
    np.testing.assert_array_equal(image.alpha, rgba[:, :, 3])

    la = read_image(folder / "la.png")
    assert la.gray and la.alpha is not None
    with PILImage.open(write_image(tmp_path / "la.png", la)) as im:
        assert im.mode == "LA"

    for name, mode in [("gray.png", "L"), ("gray16.png", "I;16"), ("gray.jpg", "L")]:
        image = read_image(folder / name)
        assert image.gray
        out = write_image(tmp_path / ("g_" + name), image)
        with PILImage.open(out) as im:
            assert im.mode == mode, name


def test_gray_written_by_luma_when_pixels_changed(tmp_path: Path) -> None:
    src = tmp_path / "g.png"
    PILImage.new("L", (2, 1), 0).save(src)
    image = read_image(src)
    pixels = np.zeros((1, 2, 3), np.float32)
    pixels[0, 0] = (1.0, 0.0, 0.0)
    pixels[0, 1] = (0.0, 1.0, 0.0)
    with PILImage.open(write_image(tmp_path / "o.png", image.with_pixels(pixels))) as im:
        assert im.mode == "L"
        assert list(np.asarray(im)[0]) == [76, 150]  # 0.299*255, 0.587*255 rounded


def test_palette_and_cmyk_warnings(corpus) -> None:
    folder, _ = corpus
    assert read_image(folder / "palette.png").warnings == ["palette image converted to RGB"]
    transparent = read_image(folder / "palette_alpha.png")
    assert transparent.warnings == ["palette image converted to RGBA"]
    with PILImage.open(folder / "palette_alpha.png") as im:
        index = np.asarray(im)
    np.testing.assert_array_equal(transparent.alpha == 0, index == 0)
    cmyk = read_image(folder / "cmyk.jpg")
    assert cmyk.warnings == ["CMYK converted to RGB"] and not cmyk.gray and cmyk.bit_depth == 8


def test_icc_profile_survives(tmp_path: Path) -> None:
    icc = srgb_icc()
    arr = noise(8, 8)
    for suffix in (".png", ".jpg"):
        src = tmp_path / ("icc" + suffix)
        PILImage.fromarray(arr).save(src, icc_profile=icc)
        image = read_image(src)
        assert image.icc_profile == icc
        with PILImage.open(write_image(tmp_path / ("out" + suffix), image)) as im:
            assert im.info.get("icc_profile") == icc
    src16 = tmp_path / "icc16.png"
    image = read_image(Path(write_image(src16, Image(noise(4, 5, 3).astype(np.float32) / 255, None, False, 16, "PNG", icc))))
    assert image.icc_profile == icc and image.bit_depth == 16
    with PILImage.open(src16) as im:
        assert im.info.get("icc_profile") == icc


def test_16bit_tiff_gets_icc_and_alpha_tags(corpus, tmp_path: Path) -> None:
    folder, _ = corpus
    icc = srgb_icc()
    image = read_image(folder / "rgba16.tif")
    image.icc_profile = icc
    out = write_image(tmp_path / "out.tif", image)
    with PILImage.open(out) as im:
        assert im.info.get("icc_profile") == icc
        assert im.tag_v2.get(338) in (2, (2,))  # ExtraSamples: unassociated alpha
    again = read_image(out)
    assert again.icc_profile == icc and again.bit_depth == 16
    np.testing.assert_array_equal(again.alpha, image.alpha)
    np.testing.assert_array_equal(again.pixels, image.pixels)


def test_exif_kept_in_16bit_png_and_jpeg(tmp_path: Path) -> None:
    exif = exif_bytes(1)
    image = Image(np.full((3, 4, 3), 0.5, np.float32), None, False, 16, "PNG", None, exif)
    back = read_image(write_image(tmp_path / "e16.png", image))
    parsed = PILImage.Exif()
    parsed.load(back.exif)
    assert parsed[0x010F] == "imgedit-test-camera"
    back = read_image(write_image(tmp_path / "e.jpg", image))
    parsed.load(back.exif)
    assert parsed[0x010F] == "imgedit-test-camera"


def test_alpha_dropped_for_jpeg_and_resized_when_pixels_change(corpus, tmp_path: Path) -> None:
    folder, _ = corpus
    image = read_image(folder / "rgba.png")
    out = write_image(tmp_path / "a.jpg", image)
    assert image.warnings == ["alpha channel dropped (JPEG has no transparency)"]
    with PILImage.open(out) as im:
        assert im.mode == "RGB"
    bigger = image.with_pixels(np.zeros((24, 20, 3), np.float32))
    with PILImage.open(write_image(tmp_path / "big.png", bigger)) as im:
        assert im.mode == "RGBA" and im.size == (20, 24)
    sixteen = read_image(folder / "rgba16.png").with_pixels(np.zeros((6, 5, 3), np.float32))
    assert read_image(write_image(tmp_path / "small16.png", sixteen)).alpha.shape == (6, 5)
    as_webp = read_image(write_image(tmp_path / "a.webp", read_image(folder / "rgba16.png"), quality=90))
    assert as_webp.alpha is not None and as_webp.alpha.dtype == np.uint8 and as_webp.bit_depth == 8


def test_other_formats_and_explicit_format(corpus, tmp_path: Path) -> None:
    folder, _ = corpus
    image = read_image(folder / "rgb16.png")
    for suffix, fmt in [(".jpg", "JPEG"), (".webp", "WEBP"), (".bmp", "BMP"), (".tiff", "TIFF")]:
        back = read_image(write_image(tmp_path / ("x" + suffix), image))
        assert back.format == fmt and back.pixels.shape == image.pixels.shape
    out = write_image(tmp_path / "noext.bin", image, format="png")
    with PILImage.open(out) as im:
        assert im.format == "PNG"
    with pytest.raises(OutputError):
        write_image(tmp_path / "x.xyz", image)
    gray_webp = read_image(write_image(tmp_path / "g.webp", read_image(folder / "gray.png")))
    assert gray_webp.pixels.shape == (12, 10, 3)


def test_unicode_names(corpus, tmp_path: Path) -> None:
    folder, _ = corpus
    image = read_image(folder / UNICODE_NAME)
    out = write_image(tmp_path / "sous dossier" / UNICODE_NAME, image)
    assert out.exists()
    np.testing.assert_array_equal(read_image(out).pixels, image.pixels)
    sixteen = read_image(folder / "rgb16.png")
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "ñ 16.png", sixteen)).pixels, sixteen.pixels)


def test_with_pixels_copies() -> None:
    image = Image(np.zeros((2, 2, 3), np.float32), None, False, 8, "PNG", warnings=["a"])
    other = image.with_pixels(np.ones((3, 4, 3), np.float32))
    other.warnings.append("b")
    assert image.warnings == ["a"] and other.height == 3 and other.width == 4 and image.width == 2


def test_save_format_for() -> None:
    assert save_format_for("a/b.JPEG", "same") == "jpeg"
    assert save_format_for("a/b.gif", "same") == "png"
    assert save_format_for("a/b.png", "jpg") == "jpg"
    assert save_format_for("a/b.png", "jpeg") == "jpg"
    assert save_format_for("a/b.png", "tiff") == "tiff"
    assert save_format_for("a/b.png", "webp") == "webp"
    with pytest.raises(UsageError):
        save_format_for("a/b.png", "gif")


# ---------------------------------------------------------------------------------------------
# atomic writes


def test_atomic_write_leaves_no_temp(tmp_path: Path) -> None:
    image = Image(np.zeros((4, 4, 3), np.float32), None, False, 8, "PNG")
    write_image(tmp_path / "a.png", image)
    write_image(tmp_path / "b.png", Image(np.zeros((4, 4, 3), np.float32), None, False, 16, "PNG"))
    atomic_write_bytes(tmp_path / "c.bin", b"xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "c.bin"]
    assert (tmp_path / "c.bin").read_bytes() == b"xyz"


def test_failure_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_save(self, fp, *args, **kwargs):
        Path(fp).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(PILImage.Image, "save", broken_save)
    image = Image(np.zeros((4, 4, 3), np.float32), None, False, 8, "PNG")
    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "a.png", image)
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_old_file_on_error(tmp_path: Path) -> None:
    final = tmp_path / "sub" / "f.png"
    with atomic_path(final) as tmp:
        assert tmp.parent == final.parent and tmp.suffix == ".png" and TEMP_MARKER in tmp.name
        tmp.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_bytes(b"new")
        raise RuntimeError("boom")
    assert final.read_bytes() == b"old" and temp_leftovers(final.parent) == []


def test_write_error_is_output_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    image = Image(np.zeros((2, 2, 3), np.float32), None, False, 8, "PNG")
    with pytest.raises(OutputError) as info:
        write_image(tmp_path / "file" / "x.png", image)
    assert info.value.path == os.fspath(tmp_path / "file" / "x.png")


def test_cleanup_stale_temps(tmp_path: Path) -> None:
    (tmp_path / ".a.png.imgedit-tmp-1234abcd.png").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".b.mp4.imgedit-tmp-00000000.mp4").write_bytes(b"x")
    (tmp_path / "keep.png").write_bytes(b"x")
    assert [p.name for p in cleanup_stale_temps(tmp_path)] == [".a.png.imgedit-tmp-1234abcd.png"]
    assert len(cleanup_stale_temps(tmp_path, recursive=True)) == 1
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["keep.png"]
    assert cleanup_stale_temps(tmp_path / "missing") == []


def test_imports_stay_lazy() -> None:
    """The CLI's --help imports these modules: they must not pull in cv2, av or torch."""
    import subprocess
    import sys

    code = (
        "import sys, imgedit.io, imgedit.io.atomic, imgedit.io.images, imgedit.io.video;"
        "print(sorted(m for m in ('cv2', 'av', 'torch') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# optional: the real sample files (skipped in a fresh clone)


@pytest.mark.skipif(not SHARED.is_dir(), reason="sample data not available")
def test_real_edge_cases(tmp_path: Path) -> None:
    tree = read_image(SHARED / "tree_alpha_16bit.png")
    assert tree.bit_depth == 16 and tree.alpha is not None and tree.alpha.dtype == np.uint16
    out = write_image(tmp_path / "tree.png", tree)
    np.testing.assert_array_equal(cv2_read(out), cv2_read(SHARED / "tree_alpha_16bit.png"))
    with PILImage.open(out) as im:
        assert im.info.get("icc_profile") == tree.icc_profile
    assert read_image(SHARED / "00017_gray.png").gray
    assert read_image(SHARED / "wolf_gray.jpg").gray
    children = read_image(SHARED / "children-alpha.png")
    assert children.alpha is not None and children.alpha.dtype == np.uint8
    assert read_image(SHARED / "0014.jpg").pixels.shape == (179, 179, 3)
