"""Generated test inputs for the I/O layer (and for CLI/runner tests that reuse them).

Everything is generated on the fly, small and fast; nothing depends on files outside the repo.

* :func:`make_bad_inputs` writes a folder of awkward inputs and returns ``{file name: expected
  InputError reason substring, or None when the file must read fine}``.
* :func:`make_test_video` writes a short H.264 MP4 with moving content and a sine AAC track.
* :func:`srgb_icc` returns a small valid ICC profile.
"""
from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

# Expected reasons (substrings of InputError.reason).
EMPTY = "empty file (0 bytes)"
NOT_IMAGE = "not an image (unrecognised format)"
CORRUPT_IMAGE = "truncated or corrupt image data"
TOO_LARGE = "image too large"
CORRUPT_VIDEO = "truncated or corrupt video"

UNICODE_NAME = "été photo ñ.png"


def srgb_icc() -> bytes:
    """A real sRGB ICC profile (Pillow's littleCMS), about 600 bytes."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: list[bytes]) -> bytes:
    """A PNG from already packed rows (filter type 0), for layouts writers do not offer."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    body = zlib.compress(b"".join(b"\x00" + row for row in rows))
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A *valid* 1-bit gray PNG of ``width x height`` zeros: ~50 KB on disk, 400 MP decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def noise(height: int, width: int, channels: int = 3, *, seed: int = 0, dtype=np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.random.default_rng(seed).integers(0, top + 1, shape, dtype=np.int64).astype(dtype)


def exif_bytes(orientation: int) -> bytes:
    """EXIF with the given orientation and Make = 'imgedit-test-camera'."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "imgedit-test-camera"  # Make
    return exif.tobytes()


def marker_image(width: int = 48, height: int = 32) -> Image.Image:
    """Gray image with a red 16x16 block in the top-left corner (JPEG-safe: block aligned)."""
    arr = np.full((height, width, 3), 128, np.uint8)
    arr[:16, :16] = (255, 0, 0)
    return Image.fromarray(arr)


def encode_cv2(ext: str, arr: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(ext, arr)
    assert ok
    return buf.tobytes()


def make_test_video(
    path: Path,
    n_frames: int = 12,
    fps: int | Fraction = 24,
    size: tuple[int, int] = (64, 48),
    with_audio: bool = True,
    *,
    faststart: bool = False,
    rotation: int | None = None,
    sample_rate: int = 44100,
    times: list[Fraction] | None = None,
) -> Path:
    """Write a short H.264/yuv420p MP4: a red bar moving right, a green level rising; plus (if
    ``with_audio``) a 440 Hz mono AAC sine exactly as long as the video.
    ``size`` is (width, height). ``times``: each frame's time in seconds (variable frame rate, a
    late start; millisecond time base) instead of ``i / fps``; the audio then starts at 0 and
    lasts until the last frame's end."""
    import av

    width, height = size
    fps = Fraction(fps)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "10"}
        if times is not None:
            video.codec_context.time_base = Fraction(1, 1000)
            n_frames = len(times)
        if rotation is not None:
            video.set_display_rotation(rotation)
        audio = None
        if with_audio:
            audio = out.add_stream("aac", rate=sample_rate)
            audio.layout = "mono"
        for i in range(n_frames):
            frame = np.zeros((height, width, 3), np.uint8)
            x = (i * 4) % width
            frame[:, x : x + 8, 0] = 255
            frame[: height // 2, :, 1] = min(255, i * 20)
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            if times is None:
                vf.pts, vf.time_base = i, 1 / fps
            else:
                vf.pts, vf.time_base = round(Fraction(times[i]) * 1000), Fraction(1, 1000)
            out.mux(video.encode(vf))
        out.mux(video.encode())
        if audio is not None:
            end = n_frames / fps if times is None else Fraction(times[-1]) + 1 / fps
            total = int(round(sample_rate * end))
            t = np.arange(total) / sample_rate
            samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = samples[start : start + 1024]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = sample_rate, start, Fraction(1, sample_rate)
                out.mux(audio.encode(af))
            out.mux(audio.encode())
    return path


def make_bad_inputs(folder: Path) -> dict[str, str | None]:
    """Write the corpus into ``folder`` and return ``{file name: expected reason or None}``.

    ``None`` means the file must be read without error (it may produce warnings). Video
    entries end in ``.mp4``; everything else is an image.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str | None] = {}

    def put(name: str, data: bytes, reason: str | None) -> None:
        (folder / name).write_bytes(data)
        expected[name] = reason

    def put_pil(name: str, im: Image.Image, reason: str | None = None, **options) -> None:
        buf = io.BytesIO()
        im.save(buf, format=options.pop("format", None) or Image.registered_extensions()[Path(name).suffix.lower()], **options)
        put(name, buf.getvalue(), reason)

    # --- unreadable --------------------------------------------------------------------------
    put("empty.png", b"", EMPTY)
    put("empty.mp4", b"", EMPTY)
    put("text.png", b"this is not an image, just text pretending to be a PNG\n" * 4, NOT_IMAGE)

    jpeg = io.BytesIO()
    Image.fromarray(noise(64, 64)).save(jpeg, "JPEG", quality=90)
    put("truncated.jpg", jpeg.getvalue()[: len(jpeg.getvalue()) // 2], CORRUPT_IMAGE)

    png = io.BytesIO()
    Image.fromarray(noise(64, 64)).save(png, "PNG")
    put("truncated.png", png.getvalue()[: len(png.getvalue()) // 2], CORRUPT_IMAGE)

    put("bomb.png", bomb_png(), TOO_LARGE)

    video = make_test_video(folder / "truncated.mp4", n_frames=12, fps=24, size=(64, 48))
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    expected["truncated.mp4"] = CORRUPT_VIDEO

    # --- unusual but fine --------------------------------------------------------------------
    put_pil("cmyk.jpg", Image.fromarray(noise(16, 16, 4), mode="CMYK"), quality=95)

    palette = Image.fromarray(noise(16, 16, 1)).convert("P")
    put_pil("palette.png", palette)
    transparent = palette.copy()
    transparent.info["transparency"] = 0
    put_pil("palette_alpha.png", transparent, transparency=0)

    put("rgb16.png", encode_cv2(".png", noise(12, 10, 3, seed=1, dtype=np.uint16)), None)
    put("rgba16.png", encode_cv2(".png", noise(12, 10, 4, seed=2, dtype=np.uint16)), None)
    put("gray16.png", encode_cv2(".png", noise(12, 10, 1, seed=3, dtype=np.uint16)), None)
    la16 = noise(12, 10, 2, seed=4, dtype=np.uint16).astype(">u2")
    put("la16.png", raw_png(10, 12, 16, 4, [la16[y].tobytes() for y in range(12)]), None)
    put("rgb16.tif", encode_cv2(".tiff", noise(12, 10, 3, seed=5, dtype=np.uint16)), None)
    put("rgba16.tif", encode_cv2(".tiff", noise(12, 10, 4, seed=12, dtype=np.uint16)), None)
    put("gray16.tif", encode_cv2(".tiff", noise(12, 10, 1, seed=6, dtype=np.uint16)), None)

    put_pil("rgba.png", Image.fromarray(noise(12, 10, 4, seed=7), mode="RGBA"))
    put_pil("la.png", Image.fromarray(noise(12, 10, 2, seed=8), mode="LA"))
    put_pil("gray.png", Image.fromarray(noise(12, 10, 1, seed=9), mode="L"))
    put_pil("gray.jpg", Image.fromarray(noise(16, 16, 1, seed=10), mode="L"), quality=95)

    put_pil("exif_rot6.jpg", marker_image(), quality=95, exif=exif_bytes(6))
    put_pil("exif_rot3.jpg", marker_image(), quality=95, exif=exif_bytes(3))

    put_pil(UNICODE_NAME, Image.fromarray(noise(8, 8, 3, seed=11)))
    return expected
