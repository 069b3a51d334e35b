"""Read and write still images without surprises.

:func:`read_image` turns any supported file into an :class:`Image`: float32 RGB pixels in
``[0, 1]`` plus everything needed to write the result back faithfully (alpha in its original
dtype, gray/colour, 8 or 16 bit, ICC profile, EXIF). :func:`write_image` does the reverse,
atomically. Reading then writing unchanged pixels is lossless for 8- and 16-bit PNG.
:func:`image_from_pil` and :func:`image_to_pil` apply the same rules to pictures in memory
(the Python API's PIL in -> PIL out), so files and PIL images are treated alike.

Decoding rules
--------------
* Errors are checked in a fixed order and reported as :class:`~imgedit.errors.InputError` with
  one of the ``REASON_*`` strings below (size limit and format errors carry details).
* The pixel count is checked from the header *before* anything is decoded (decompression bombs
  never reach the decoder). Pillow's own ``MAX_IMAGE_PIXELS`` is set to the same limit.
* Truncated data is an error (Pillow's ``LOAD_TRUNCATED_IMAGES`` is kept ``False`` and every
  image is fully decoded).
* EXIF orientation is applied; the returned EXIF says orientation 1.
* 16-bit PNG and TIFF are decoded with OpenCV (Pillow reduces 16-bit RGB(A) PNG to 8 bit) so
  no precision is lost; Pillow still supplies the metadata.
* OpenCV applies TIFF orientation itself; this is measured once (see
  ``_cv2_applies_orientation``) so that no file is ever rotated twice.
* cv2 is imported lazily (only for 16-bit files and for resizing alpha), torch never. OpenCV's
  log level is lowered to errors on first use (libtiff warnings would clutter the CLI).
"""
from __future__ import annotations

import dataclasses
import functools
import io
import os
import stat
import struct
import warnings as _warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import PIL.ImageFile

from imgedit.errors import InputError, OutputError, UsageError
from imgedit.io.atomic import atomic_path, atomic_write_bytes, describe_os_error

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}
DEFAULT_MAX_PIXELS = 100_000_000

# Exact reasons of InputError (the CLI and the tests match on them).
REASON_NOT_FOUND = "file not found"
REASON_DIRECTORY = "is a directory"
REASON_NOT_REGULAR = "not a regular file"
REASON_PERMISSION = "permission denied"
REASON_EMPTY = "empty file (0 bytes)"
REASON_NOT_IMAGE = "not an image (unrecognised format)"
REASON_TOO_LARGE = "image too large"  # prefix; full text names the size and the limit
REASON_CORRUPT = "truncated or corrupt image data"
REASON_NO_MEMORY = "not enough memory to decode the image"

#: Output formats: extension -> Pillow format name.
_EXT_TO_FORMAT = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}
_FORMAT_ALIASES = {ext[1:]: fmt for ext, fmt in _EXT_TO_FORMAT.items()}
_FORMAT_ALIASES.update({fmt.lower(): fmt for fmt in _EXT_TO_FORMAT.values()})
_ALPHA_FORMATS = {"PNG", "WEBP", "TIFF"}
#: ``save_format_for`` choices other than ``same`` -> extension (without dot).
_REQUESTED_TO_EXT = {"png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp", "tiff": "tiff", "tif": "tiff", "bmp": "bmp"}

_EXIF_ORIENTATION = 0x0112
_EXIF_SOFTWARE = 0x0131
#: Written into every output (image EXIF Software tag, video container comment): what marks a
#: file as imgedit's own, so a command line is never read as "overwrite the user's file".
MADE_BY = "imgedit"
_TIFF_BITS_PER_SAMPLE = 258
_TIFF_PHOTOMETRIC = 262
_TIFF_SAMPLE_FORMAT = 339
_TIFF_EXTRA_SAMPLES = 338
_TIFF_ICC_PROFILE = 34675
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_REC601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class Image:
    """A decoded image plus what is needed to write it back faithfully.

    ``pixels`` is always ``H x W x 3`` float32 RGB in ``[0, 1]`` (gray sources are replicated to
    three channels). ``alpha`` is kept in the source dtype (uint8 or uint16) and is never
    modified by reading; :func:`write_image` resizes it if the pixels changed size.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    gray: bool
    bit_depth: int
    format: str
    icc_profile: bytes | None = None
    exif: bytes | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def with_pixels(self, pixels: np.ndarray) -> Image:
        """Return a copy with new ``pixels`` (any H, W); alpha is resized on write if needed."""
        return dataclasses.replace(self, pixels=pixels, warnings=list(self.warnings))


# --------------------------------------------------------------------------------------------
# input checks shared with imgedit.io.video


def check_input_file(path: os.PathLike | str) -> int:
    """Check that ``path`` is a readable, non-empty regular file; return its size in bytes.

    Raises :class:`InputError` with, in this order: ``file not found``, ``is a directory``,
    ``not a regular file``, ``permission denied``, ``empty file (0 bytes)``.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, REASON_NOT_FOUND) from None
    except PermissionError:
        raise InputError(path, REASON_PERMISSION) from None
    except OSError as err:
        raise InputError(path, f"cannot read ({err.strerror or err})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(path, REASON_DIRECTORY)
    if not stat.S_ISREG(st.st_mode):
        raise InputError(path, REASON_NOT_REGULAR)
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise InputError(path, REASON_PERMISSION) from None
    except OSError as err:
        raise InputError(path, f"cannot read ({err.strerror or err})") from None
    if st.st_size == 0:
        raise InputError(path, REASON_EMPTY)
    return int(st.st_size)


def _too_large_reason(width: int | None, height: int | None, pixels: int, max_pixels: int) -> str:
    """Exact pixel counts (``384x384 = 147,456 pixels exceeds the limit of 100,000 pixels``):
    rounded megapixels would say "0.1 MP exceeds the limit of 0.1 MP"."""
    size = f"{width}x{height} = " if width is not None and height is not None else ""
    return f"{REASON_TOO_LARGE}: {size}{pixels:,} pixels exceeds the limit of {max_pixels:,} pixels (--max-pixels)"


# --------------------------------------------------------------------------------------------
# reading


def read_image(path: os.PathLike | str, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image:
    """Decode ``path`` into an :class:`Image`. ``max_pixels`` None or 0 disables the size limit.

    Every failure is an :class:`InputError` naming the file (see the ``REASON_*`` constants).
    The file is only read, never modified.
    """
    path = Path(path)
    check_input_file(path)
    pil = _open_with_pillow(path, max_pixels if max_pixels and max_pixels > 0 else None)
    try:
        with pil:
            return _decode(path, pil)
    except InputError:
        raise
    except MemoryError:
        raise InputError(path, REASON_NO_MEMORY) from None
    except Exception as err:  # any decoder error (OSError, SyntaxError, ValueError, cv2.error...)
        raise InputError(path, REASON_CORRUPT) from err


def _open_with_pillow(path: Path, max_pixels: int | None) -> PIL.ImageFile.ImageFile:
    """Open lazily (header only) and enforce the pixel limit before any decoding."""
    PIL.ImageFile.LOAD_TRUNCATED_IMAGES = False
    PIL.Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's guard agrees with ours
    try:
        with _warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its limit: make that an error too.
            _warnings.simplefilter("error", PIL.Image.DecompressionBombWarning)
            pil = PIL.Image.open(path)
    except (PIL.Image.DecompressionBombError, PIL.Image.DecompressionBombWarning):
        if max_pixels is None:  # Pillow's limit was changed by someone else meanwhile
            raise InputError(path, f"{REASON_TOO_LARGE} (Pillow's MAX_IMAGE_PIXELS)") from None
        size = _size_without_bomb_check(path)
        if size is None:
            raise InputError(path, f"{REASON_TOO_LARGE}: exceeds the limit of {max_pixels:,} pixels (--max-pixels)") from None
        width, height = size
        raise InputError(path, _too_large_reason(width, height, width * height, max_pixels)) from None
    except PIL.UnidentifiedImageError:
        raise InputError(path, REASON_NOT_IMAGE) from None
    except PermissionError:
        raise InputError(path, REASON_PERMISSION) from None
    except MemoryError:
        raise InputError(path, REASON_NO_MEMORY) from None
    except Exception as err:  # a recognised format whose header is broken
        raise InputError(path, REASON_CORRUPT) from err
    width, height = pil.size
    if max_pixels is not None and width * height > max_pixels:
        pil.close()
        raise InputError(path, _too_large_reason(width, height, width * height, max_pixels))
    return pil


def _size_without_bomb_check(path: Path) -> tuple[int, int] | None:
    """Read the width and height from the header with Pillow's plugins directly (which, unlike
    ``Image.open``, do not apply the decompression-bomb check). Decodes nothing."""
    PIL.Image.init()
    try:
        with open(path, "rb") as fp:
            prefix = fp.read(16)
            for fmt in PIL.Image.ID:
                factory, accept = PIL.Image.OPEN[fmt]
                try:
                    accepted = True if accept is None else accept(prefix)
                    if not accepted or isinstance(accepted, str):
                        continue
                    fp.seek(0)
                    im = factory(fp, str(path))
                    return int(im.size[0]), int(im.size[1])
                except Exception:
                    continue
    except OSError:
        return None
    return None


def image_from_pil(pil: PIL.Image.Image) -> Image:
    """The :class:`Image` of a picture already decoded by Pillow, by :func:`read_image`'s rules
    (what the Python API does with PIL images): 16-bit gray (``I;16``, ``I``) scaled to [0, 1],
    alpha kept, gray marked gray, palette and CMYK converted (with a note), EXIF orientation
    applied. ``pil`` is not modified. (Pillow holds 16-bit colour PNG as 8-bit RGB; only a file
    read with :func:`read_image` keeps its 16 bits.)"""
    return _decode(None, pil)


def _decode(path: Path | None, pil: PIL.Image.Image) -> Image:
    """The shared decoding rules; ``path`` is None for a picture that is only in memory."""
    fmt = pil.format or "UNKNOWN"
    notes: list[str] = []
    if fmt == "MPO":  # camera JPEG with extra (preview/depth) pictures: the first is the photo
        fmt = "JPEG"
    elif getattr(pil, "n_frames", 1) > 1:
        notes.append("multi-frame image: only the first frame is used")
    icc = pil.info.get("icc_profile") or None

    sixteen = None if path is None else _sixteen_bit_layout(path, pil)
    if sixteen is not None:
        pixels, alpha, gray = _decode_16bit_with_cv2(path, gray_source=sixteen)
        bit_depth = 16
    else:
        pil.load()  # full decode now: truncated data raises here
        pixels, alpha, gray, bit_depth, icc = _pillow_to_arrays(pil, icc, notes)

    orientation, exif = _orientation_and_exif(pil, fmt, notes)
    if sixteen is not None and _cv2_applies_orientation(fmt):
        orientation = 1  # OpenCV already returned the displayed orientation
    if orientation != 1:
        pixels = _apply_orientation(pixels, orientation)
        if alpha is not None:
            alpha = _apply_orientation(alpha, orientation)
    return Image(
        pixels=pixels,
        alpha=alpha,
        gray=gray,
        bit_depth=bit_depth,
        format=fmt,
        icc_profile=icc,
        exif=exif,
        warnings=notes,
    )


def _sixteen_bit_layout(path: Path, pil: PIL.ImageFile.ImageFile) -> bool | None:
    """For a 16-bit PNG or integer TIFF return whether it is gray; ``None`` for anything else."""
    if pil.format == "PNG":
        with open(path, "rb") as fh:
            head = fh.read(33)
        if len(head) < 26 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
            return None
        bit_depth, colour_type = head[24], head[25]
        return (colour_type in (0, 4)) if bit_depth == 16 else None
    if pil.format == "TIFF":
        tags = getattr(pil, "tag_v2", {})
        bits = tags.get(_TIFF_BITS_PER_SAMPLE, 8)
        bits = max(bits) if isinstance(bits, (tuple, list)) else bits
        sample_format = tags.get(_TIFF_SAMPLE_FORMAT, 1)
        sample_format = sample_format[0] if isinstance(sample_format, (tuple, list)) else sample_format
        if bits != 16 or sample_format not in (1, None):
            return None
        return tags.get(_TIFF_PHOTOMETRIC, 1) in (0, 1)
    return None


def _cv2() -> Any:
    """Import OpenCV lazily; its warnings (e.g. libtiff notes) are silenced once, errors kept."""
    import cv2

    global _CV2_CONFIGURED
    if not _CV2_CONFIGURED:
        _CV2_CONFIGURED = True
        try:
            logging = cv2.utils.logging
            if logging.getLogLevel() > logging.LOG_LEVEL_ERROR:
                logging.setLogLevel(logging.LOG_LEVEL_ERROR)
        except AttributeError:
            pass
    return cv2


_CV2_CONFIGURED = False


@functools.lru_cache(maxsize=None)
def _cv2_applies_orientation(fmt: str) -> bool:
    """Whether ``cv2.imdecode(..., IMREAD_UNCHANGED)`` already applies the orientation stored in
    a ``fmt`` file (OpenCV's TIFF reader does, its PNG reader does not). Measured once on a
    2x1 image with orientation 6, so that a change in OpenCV cannot rotate twice."""
    cv2 = _cv2()
    sample = np.zeros((1, 2), np.uint16)
    if fmt == "PNG":
        exif = PIL.Image.Exif()
        exif[_EXIF_ORIENTATION] = 6
        ok, buf = cv2.imencode(".png", sample)
        data = _png_with_metadata(buf.tobytes(), None, exif.tobytes())
    else:
        out = io.BytesIO()
        PIL.Image.fromarray(sample).save(out, format="TIFF", tiffinfo={_EXIF_ORIENTATION: 6})
        data = out.getvalue()
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return decoded is not None and decoded.shape[:2] == (2, 1)


def _decode_16bit_with_cv2(path: Path, *, gray_source: bool) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Full-precision decode of a 16-bit PNG/TIFF (np.fromfile: works with any file name)."""
    cv2 = _cv2()

    data = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise ValueError("OpenCV could not decode the image")
    if data.dtype == np.uint8:  # should not happen for 16-bit sources; keep the scale right
        data = data.astype(np.uint16) * 257
    if data.dtype != np.uint16:
        raise ValueError(f"unexpected sample type {data.dtype}")
    alpha: np.ndarray | None = None
    if data.ndim == 2:
        colour = data[:, :, None]
    elif data.shape[2] == 1:
        colour = data
    elif data.shape[2] == 2:
        colour, alpha = data[:, :, :1], data[:, :, 1]
    elif data.shape[2] == 3:
        colour = data[:, :, ::-1]
    else:
        colour, alpha = data[:, :, 2::-1], data[:, :, 3]
    if gray_source:
        colour = colour[:, :, :1]  # OpenCV expands gray+alpha to BGRA: channels are equal
    pixels = _to_float_rgb(colour, 65535.0)
    return pixels, None if alpha is None else np.ascontiguousarray(alpha), colour.shape[2] == 1


def _pillow_to_arrays(
    pil: PIL.Image.Image, icc: bytes | None, notes: list[str]
) -> tuple[np.ndarray, np.ndarray | None, bool, int, bytes | None]:
    """Convert a decoded Pillow image: (pixels, alpha, gray, bit_depth, icc_profile)."""
    mode = pil.mode
    im: PIL.Image.Image = pil
    if mode == "CMYK":
        im, icc = _cmyk_to_rgb(pil, icc)
        notes.append("CMYK converted to RGB")
        mode = "RGB"
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in pil.info or (pil.palette is not None and pil.palette.mode == "RGBA")
        mode = "RGBA" if has_alpha else "RGB"
        im = pil.convert(mode)
        notes.append(f"palette image converted to {mode}")
    elif mode == "1":
        im, mode = pil.convert("L"), "L"
    elif mode in ("La", "RGBa", "LA", "RGBA"):
        mode = "LA" if mode[0] == "L" else "RGBA"
        im = pil.convert(mode) if pil.mode != mode else pil
    elif mode in ("RGBX", "YCbCr", "LAB", "HSV"):
        if mode in ("LAB", "HSV"):
            notes.append(f"{mode} converted to RGB")
        im, mode = pil.convert("RGB"), "RGB"

    if mode == "L":
        return _to_float_rgb(np.asarray(im)[:, :, None], 255.0), None, True, 8, icc
    if mode == "LA":
        arr = np.asarray(im)
        return _to_float_rgb(arr[:, :, :1], 255.0), np.ascontiguousarray(arr[:, :, 1]), True, 8, icc
    if mode == "RGB":
        return _to_float_rgb(np.asarray(im), 255.0), None, False, 8, icc
    if mode == "RGBA":
        arr = np.asarray(im)
        return _to_float_rgb(arr[:, :, :3], 255.0), np.ascontiguousarray(arr[:, :, 3]), False, 8, icc
    if mode.startswith("I;16"):
        arr = np.asarray(im).astype(np.uint16)
        return _to_float_rgb(arr[:, :, None], 65535.0), None, True, 16, icc
    if mode in ("I", "F"):
        arr = np.asarray(im)
        if mode == "I":
            top, scaled = 65535.0, arr.astype(np.float64)
        else:
            top, scaled = 1.0, arr.astype(np.float64)
        if np.any(~np.isfinite(scaled)) or scaled.min(initial=0) < 0 or scaled.max(initial=0) > top:
            notes.append(f"{'32-bit integer' if mode == 'I' else 'floating-point'} samples clipped to [0, {top:g}]")
        scaled = np.clip(np.nan_to_num(scaled), 0.0, top) / top
        return np.repeat(scaled.astype(np.float32)[:, :, None], 3, axis=2), None, True, 16, icc
    # Any other mode Pillow knows how to convert.
    target = "RGBA" if "A" in mode else "RGB"
    notes.append(f"{mode} image converted to {target}")
    arr = np.asarray(pil.convert(target))
    alpha = np.ascontiguousarray(arr[:, :, 3]) if target == "RGBA" else None
    return _to_float_rgb(arr[:, :, :3], 255.0), alpha, False, 8, icc


def _cmyk_to_rgb(pil: PIL.Image.Image, icc: bytes | None) -> tuple[PIL.Image.Image, bytes | None]:
    """Colour-managed CMYK->sRGB when the file has a CMYK profile, else Pillow's naive formula.
    The CMYK profile is never kept (it does not describe RGB data)."""
    if icc:
        try:
            from PIL import ImageCms

            srgb = ImageCms.createProfile("sRGB")
            rgb = ImageCms.profileToProfile(pil, ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb, outputMode="RGB")
            if rgb is not None:
                return rgb, ImageCms.ImageCmsProfile(srgb).tobytes()
        except Exception:
            pass
    return pil.convert("RGB"), None


def _to_float_rgb(arr: np.ndarray, scale: float) -> np.ndarray:
    """``H x W x (1|3)`` integer samples -> ``H x W x 3`` float32 in [0, 1]."""
    out = arr.astype(np.float32) * np.float32(1.0 / scale)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.ascontiguousarray(out)


def _orientation_and_exif(pil: PIL.Image.Image, fmt: str, notes: list[str]) -> tuple[int, bytes | None]:
    """Return (EXIF orientation 1..8, EXIF bytes to keep with orientation reset to 1).

    TIFF orientation comes from the TIFF tag; TIFF tags are not carried over as EXIF.
    """
    if fmt == "TIFF":
        value = getattr(pil, "tag_v2", {}).get(_EXIF_ORIENTATION, 1)
        return _valid_orientation(value), None
    raw = pil.info.get("exif")
    if not raw:
        return 1, None
    if isinstance(raw, str):
        raw = raw.encode("latin-1")
    if not raw.startswith(b"Exif\x00\x00"):
        raw = b"Exif\x00\x00" + raw
    try:
        exif = PIL.Image.Exif()
        exif.load(raw)
        orientation = _valid_orientation(exif.get(_EXIF_ORIENTATION, 1))
        if exif.get(_EXIF_ORIENTATION, 1) == 1:
            return orientation, bytes(raw)
        exif[_EXIF_ORIENTATION] = 1
        return orientation, exif.tobytes()
    except Exception:
        notes.append("unreadable EXIF data ignored")
        return 1, None


def _valid_orientation(value: object) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1
    return number if 1 <= number <= 8 else 1


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (same result as ``PIL.ImageOps.exif_transpose``) to the first
    two axes of ``arr``."""
    if orientation == 2:
        out = arr[:, ::-1]
    elif orientation == 3:
        out = arr[::-1, ::-1]
    elif orientation == 4:
        out = arr[::-1]
    elif orientation == 5:
        out = arr.swapaxes(0, 1)
    elif orientation == 6:
        out = np.rot90(arr, k=-1)
    elif orientation == 7:
        out = arr.swapaxes(0, 1)[::-1, ::-1]
    elif orientation == 8:
        out = np.rot90(arr, k=1)
    else:
        out = arr
    return np.ascontiguousarray(out)


# --------------------------------------------------------------------------------------------
# writing


def save_format_for(src_path: os.PathLike | str, requested: str) -> str:
    """Resolve an output format choice to a file extension without the dot.

    ``requested`` is ``png``, ``jpg`` (``jpeg``), ``webp``, ``tiff`` (``tif``), ``bmp`` or
    ``same``; ``same`` keeps the source extension (lower-cased, e.g. ``jpeg`` stays ``jpeg``)
    when it is a writable image format and falls back to ``png`` otherwise.
    """
    choice = requested.strip().lower().lstrip(".")
    if choice == "same":
        ext = Path(src_path).suffix.lower()
        return ext[1:] if ext in _EXT_TO_FORMAT else "png"
    if choice in _REQUESTED_TO_EXT:
        return _REQUESTED_TO_EXT[choice]
    raise UsageError(f"unknown output format {requested!r} (choose from png, jpg, webp, tiff, bmp, same)")


def _resolve_format(path: Path, format: str | None) -> str:
    if format is not None:
        key = format.strip().lower().lstrip(".")
        if key in _FORMAT_ALIASES:
            return _FORMAT_ALIASES[key]
        raise OutputError(path, f"unsupported output format {format!r}")
    ext = path.suffix.lower()
    if ext in _EXT_TO_FORMAT:
        return _EXT_TO_FORMAT[ext]
    raise OutputError(path, f"unsupported output extension {ext or '(none)'!r} (use one of {', '.join(sorted(_EXT_TO_FORMAT))})")


def _as_float_rgb(pixels: np.ndarray) -> np.ndarray:
    """Accept H x W, H x W x 1/3/4 arrays of float (0..1), uint8 or uint16; return H x W x 3 float."""
    arr = np.asarray(pixels)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"pixels must be H x W x 3, got shape {arr.shape}")
    if arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / np.float32(255.0)
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / np.float32(65535.0)
    else:
        arr = np.nan_to_num(arr.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=0.0)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    return arr


def _quantise(arr: np.ndarray, top: int, dtype: type[np.integer]) -> np.ndarray:
    """Round half up: floor(x * top + 0.5), clipped. Inverse of ``value / top`` (lossless)."""
    return np.clip(arr * np.float32(top) + np.float32(0.5), 0, top).astype(dtype)


def _fit_alpha(alpha: np.ndarray, height: int, width: int, dtype: type[np.integer]) -> np.ndarray:
    """Resize alpha to the pixels' size (bilinear, same dtype) and convert to ``dtype``."""
    if alpha.shape[:2] != (height, width):
        cv2 = _cv2()
        alpha = cv2.resize(alpha, (width, height), interpolation=cv2.INTER_LINEAR)
    if alpha.dtype == dtype:
        return np.ascontiguousarray(alpha)
    if dtype == np.uint8 and alpha.dtype == np.uint16:
        return ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if dtype == np.uint16 and alpha.dtype == np.uint8:
        return alpha.astype(np.uint16) * 257
    top = 255 if dtype == np.uint8 else 65535  # float alpha in [0, 1]
    return _quantise(alpha.astype(np.float32), top, dtype)


def write_image(
    path: os.PathLike | str,
    image: Image,
    *,
    format: str | None = None,
    quality: int = 95,
    mark: str = MADE_BY,
) -> Path:
    """Write ``image`` to ``path`` atomically and return the path.

    The format comes from ``format`` (``png``, ``jpg``, ``webp``, ``tiff``, ``bmp``) or else from
    the extension. Gray images stay gray (3-channel pixels are reduced by Rec.601 luma), 16-bit
    images stay 16-bit in PNG/TIFF, alpha is re-attached for PNG/WEBP/TIFF and dropped for
    JPEG/BMP (a note is appended to ``image.warnings``), ICC and EXIF are kept where the format
    allows. ``mark`` goes into the EXIF Software tag (imgedit's output mark, which the runner
    extends with what made the file: :func:`imgedit.io.discover.made_mark`). Raises
    :class:`OutputError` when the file cannot be written.
    """
    path = Path(path)
    fmt = _resolve_format(path, format)
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be 1..100, got {quality}")
    image = dataclasses.replace(image, exif=_signed_exif(image.exif, mark))  # same warnings list
    sixteen = image.bit_depth == 16 and fmt in ("PNG", "TIFF")
    keep_alpha = fmt in _ALPHA_FORMATS
    if image.alpha is not None and not keep_alpha:
        image.warnings.append(f"alpha channel dropped ({fmt} has no transparency)")
    samples, alpha = _samples(image, sixteen=sixteen, alpha=keep_alpha)

    try:
        if sixteen:
            data = _encode_16bit(fmt, samples, alpha, image, mark)
            atomic_write_bytes(path, data)
        else:
            _write_with_pillow(path, fmt, samples, alpha, image, int(quality))
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(path, describe_os_error(err)) from err
    except ValueError as err:
        raise OutputError(path, f"cannot encode {fmt}: {err}") from err
    return path


def _samples(image: Image, *, sixteen: bool, alpha: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The integer samples to store: H x W (gray, Rec.601 luma of 3-channel pixels) or H x W x 3,
    uint16 when ``sixteen`` else uint8, and the alpha channel in the same dtype, resized to the
    pixels' size (None when there is none or ``alpha`` is False)."""
    pixels = _as_float_rgb(image.pixels)
    height, width = pixels.shape[:2]
    top, dtype = (65535, np.uint16) if sixteen else (255, np.uint8)
    colour = pixels @ _REC601 if image.gray else pixels  # H x W for gray
    samples = _quantise(colour, top, dtype)
    fitted = _fit_alpha(image.alpha, height, width, dtype) if alpha and image.alpha is not None else None
    return samples, fitted


def _pil_from_samples(samples: np.ndarray, alpha: np.ndarray | None) -> PIL.Image.Image:
    """8-bit samples (+ alpha) as a Pillow image: L, LA, RGB or RGBA; 16-bit gray as I;16."""
    if samples.dtype == np.uint16:
        if samples.ndim != 2 or alpha is not None:
            raise ValueError("Pillow holds 16-bit samples only as gray without alpha (I;16)")
        return PIL.Image.fromarray(np.ascontiguousarray(samples))
    if samples.ndim == 2:
        mode = "L" if alpha is None else "LA"
    else:
        mode = "RGB" if alpha is None else "RGBA"
    arr = samples if alpha is None else np.dstack([samples, alpha])
    return PIL.Image.fromarray(np.ascontiguousarray(arr), mode=mode)


def image_to_pil(image: Image) -> PIL.Image.Image:
    """``image`` as a Pillow image by :func:`write_image`'s rules (what the Python API returns
    for PIL input): gray stays gray (L, LA), alpha is re-attached (resized if the pixels changed
    size), 16-bit gray stays 16-bit (I;16); 16-bit colour or gray+alpha become 8-bit, as Pillow
    has no such mode. The ICC profile and the EXIF block (orientation 1: the pixels are upright)
    are put in ``info``, where Pillow's encoders find the profile."""
    sixteen = image.bit_depth == 16 and image.gray and image.alpha is None
    pil = _pil_from_samples(*_samples(image, sixteen=sixteen, alpha=True))
    if image.icc_profile:
        pil.info["icc_profile"] = image.icc_profile
    if image.exif:
        pil.info["exif"] = image.exif
    return pil


def _signed_exif(raw: bytes | None, mark: str = MADE_BY) -> bytes:
    """The EXIF block with its Software tag set to ``mark`` (``imgedit ...``, as every photo
    editor signs its files): what marks the file as an imgedit output (:func:`made_by_imgedit`)."""
    exif = PIL.Image.Exif()
    if raw:
        try:
            exif.load(raw)
        except Exception:  # noqa: BLE001 - unreadable EXIF: start a new block
            exif = PIL.Image.Exif()
    exif[_EXIF_SOFTWARE] = mark
    return exif.tobytes()


def _write_with_pillow(
    path: Path, fmt: str, samples: np.ndarray, alpha: np.ndarray | None, image: Image, quality: int
) -> None:
    pil = _pil_from_samples(samples, alpha)
    if fmt == "WEBP" and pil.mode in ("L", "LA"):  # WebP has no gray layout
        pil = pil.convert("RGB" if pil.mode == "L" else "RGBA")

    options: dict[str, object] = {}
    if fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        if image.icc_profile:
            options["icc_profile"] = image.icc_profile
        if image.exif:
            if fmt == "JPEG" and len(image.exif) > 65533:
                image.warnings.append("EXIF data too large for JPEG: not written")
            else:
                options["exif"] = image.exif
    if fmt == "PNG":
        options["compress_level"] = 6
    elif fmt == "JPEG":
        options["quality"] = quality
    elif fmt == "WEBP":
        options["quality"] = quality
    elif fmt == "TIFF":
        options["compression"] = "tiff_lzw"
    with atomic_path(path) as tmp:
        pil.save(tmp, format=fmt, **options)


def _encode_16bit(fmt: str, samples: np.ndarray, alpha: np.ndarray | None, image: Image,
                  mark: str = MADE_BY) -> bytes:
    """Encode uint16 samples (H x W gray or H x W x 3 RGB) plus optional uint16 alpha."""
    cv2 = _cv2()

    if samples.ndim == 2 and alpha is not None:
        if fmt == "PNG":  # OpenCV cannot write 2-channel images: use the small encoder below
            return _encode_png_gray_alpha16(samples, alpha, image.icc_profile, image.exif)
        image.warnings.append("16-bit gray+alpha TIFF written as RGBA")
        samples = np.repeat(samples[:, :, None], 3, axis=2)
    if samples.ndim == 2:
        bgr = samples
    elif alpha is None:
        bgr = samples[:, :, ::-1]
    else:
        bgr = np.dstack([samples[:, :, ::-1], alpha])
    bgr = np.ascontiguousarray(bgr)
    if fmt == "PNG":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        if not ok:
            raise ValueError("OpenCV could not encode the PNG")
        return _png_with_metadata(buf.tobytes(), image.icc_profile, image.exif)
    ok, buf = cv2.imencode(".tiff", bgr)
    if not ok:
        raise ValueError("OpenCV could not encode the TIFF")
    return _tiff_with_tags(buf.tobytes(), alpha=alpha is not None, icc=image.icc_profile, notes=image.warnings,
                           software=mark)


def _tiff_with_tags(data: bytes, *, alpha: bool, icc: bytes | None, notes: list[str],
                    software: str = MADE_BY) -> bytes:
    """Add ExtraSamples=unassociated alpha (OpenCV omits it), the ICC profile and the Software tag
    (imgedit's output mark) to a classic TIFF: a new first IFD (old entries plus ours) is
    appended; the image data is not moved."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack(order + "H", data[2:4])[0] != 42:  # not a classic TIFF
        if icc:
            notes.append("ICC profile not written (16-bit TIFF)")
        return data
    (ifd,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    entries = {
        struct.unpack(order + "H", data[pos : pos + 2])[0]: data[pos : pos + 12]
        for pos in range(ifd + 2, ifd + 2 + 12 * count, 12)
    }
    next_ifd = data[ifd + 2 + 12 * count : ifd + 6 + 12 * count]
    out = bytearray(data)
    if len(out) % 2:
        out += b"\x00"
    if icc:
        entries[_TIFF_ICC_PROFILE] = struct.pack(order + "HHII", _TIFF_ICC_PROFILE, 7, len(icc), len(out))
        out += icc + b"\x00" * (len(icc) % 2)
    if alpha:
        entries[_TIFF_EXTRA_SAMPLES] = struct.pack(order + "HHIHH", _TIFF_EXTRA_SAMPLES, 3, 1, 2, 0)
    text = software.encode("ascii", "replace") + b"\x00"
    entries[_EXIF_SOFTWARE] = struct.pack(order + "HHII", _EXIF_SOFTWARE, 2, len(text), len(out))
    out += text + b"\x00" * (len(text) % 2)
    new_ifd = len(out)
    out += struct.pack(order + "H", len(entries)) + b"".join(entries[tag] for tag in sorted(entries)) + next_ifd
    out[4:8] = struct.pack(order + "I", new_ifd)
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_metadata_chunks(icc: bytes | None, exif: bytes | None) -> list[bytes]:
    chunks = []
    if icc:
        chunks.append(_png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if exif:
        raw = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        chunks.append(_png_chunk(b"eXIf", raw))
    return chunks


def _png_with_metadata(png: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    """Insert iCCP/eXIf chunks right after IHDR (replacing any sRGB/iCCP/eXIf chunk)."""
    if not icc and not exif:
        return png
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("encoder did not produce a PNG")
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        end = pos + 12 + length
        if kind == b"IHDR":
            out.append(png[pos:end])
            out.extend(_png_metadata_chunks(icc, exif))
        elif not (kind in (b"iCCP", b"sRGB") and icc) and not (kind == b"eXIf" and exif):
            out.append(png[pos:end])
        pos = end
    return b"".join(out)


def _encode_png_gray_alpha16(gray: np.ndarray, alpha: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    """Minimal PNG encoder for 16-bit gray+alpha (colour type 4), filter 'Up' on every row."""
    height, width = gray.shape
    rows = np.dstack([gray, alpha]).astype(">u2").view(np.uint8).reshape(height, width * 4)
    up = rows.copy()
    up[1:] -= rows[:-1]  # uint8 arithmetic wraps modulo 256, as the PNG filter requires
    raw = np.hstack([np.full((height, 1), 2, dtype=np.uint8), up]).tobytes()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 4, 0, 0, 0)
    return b"".join(
        [_PNG_SIGNATURE, _png_chunk(b"IHDR", ihdr), *_png_metadata_chunks(icc, exif),
         _png_chunk(b"IDAT", zlib.compress(raw, 6)), _png_chunk(b"IEND", b"")]
    )
