"""The five shipped style paintings, stored inside a safetensors file.

``pretrained/style-references.safetensors`` holds one 1-D ``uint8`` tensor per painting: the bytes
of a JPEG (longest side :data:`REFERENCE_SIZE`, quality 90). The file is declared as a
:class:`~imgedit.api.WeightFile` of the ``style`` model, so it is located and sha256-checked by the
core like any weight file and reaches the model through ``ctx.load_weights`` (models never open
files). :func:`decode_reference` turns those bytes into a ``(1, 3, H, W)`` float tensor in memory
(``cv2.imdecode``, no file IO).

Rebuild it (only when the paintings change; the sha256 in ``plugin.py`` must then be updated)::

    python -m imgedit_style.references ../shared/data/styles pretrained/style-references.safetensors

The paintings are public domain (see :data:`imgedit_style.plugin.SHIPPED_STYLES`).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path

REFERENCE_SIZE = 512
REFERENCE_QUALITY = 90


def decode_reference(data) -> "torch.Tensor":  # noqa: F821 - torch imported lazily
    """JPEG bytes (a 1-D uint8 tensor) -> ``(1, 3, H, W)`` float32 in [0, 1]."""
    import cv2
    import torch

    buf = data.to("cpu", torch.uint8).contiguous().numpy()
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("style reference is not a decodable JPEG")
    rgb = torch.from_numpy(bgr[:, :, ::-1].copy()).permute(2, 0, 1)
    return rgb.float().div_(255.0)[None]


def encode_reference(path: Path, size: int = REFERENCE_SIZE, quality: int = REFERENCE_QUALITY) -> bytes:
    """Read a painting, fit its longest side to ``size`` (never upscaling) and return JPEG bytes."""
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        scale = size / max(im.size)
        if scale < 1:
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def build(src: Path, out: Path, names: tuple[str, ...] | None = None) -> str:
    """Write the references file from ``src/<name>.jpg`` for every shipped name; return its sha256."""
    import torch
    from safetensors.torch import save_file

    from imgedit_style.plugin import SHIPPED_STYLES

    names = names or tuple(SHIPPED_STYLES)
    tensors = {}
    for name in names:
        data = encode_reference(src / f"{name}.jpg")
        tensors[name] = torch.frombuffer(bytearray(data), dtype=torch.uint8).clone()
    meta = {"format": "jpeg-bytes", "size": str(REFERENCE_SIZE), "quality": str(REFERENCE_QUALITY),
            "licence": "public domain paintings"}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=meta)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build style-references.safetensors from the painting JPEGs.")
    ap.add_argument("src", type=Path, help="folder with <name>.jpg for each shipped style")
    ap.add_argument("out", type=Path, help="output .safetensors file")
    args = ap.parse_args(argv)
    digest = build(args.src, args.out)
    print(f"{args.out}: sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
