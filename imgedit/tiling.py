"""Run an image-to-image function over overlapping tiles and blend the seams away.

For images larger than a memory budget: ``tiled(fn, x, tile=512, overlap=64)`` cuts ``x``
(B,C,H,W) into tiles that overlap by ``overlap`` pixels, runs ``fn`` on each, and blends the
results with feathered (linear-ramp) weights so no seam is visible. ``fn`` may change the spatial
size by an integer factor (super-resolution); the factor is read from the first tile's output.
:func:`auto_tiled` tiles only when H*W exceeds ``max_pixels``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

TensorFn = Callable[[torch.Tensor], torch.Tensor]


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - overlap
    n = math.ceil((length - tile) / step) + 1
    # spread tiles evenly so every overlap is at least `overlap` wide
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool, device, dtype) -> torch.Tensor:
    w = torch.ones(length, device=device, dtype=dtype)
    if overlap <= 0:
        return w
    ramp = (torch.arange(overlap, device=device, dtype=dtype) + 0.5) / overlap
    if not at_start:
        w[:overlap] = ramp
    if not at_end:
        w[-overlap:] = torch.minimum(w[-overlap:], ramp.flip(0))
    return w


def tiled(fn: TensorFn, x: torch.Tensor, tile: int = 512, overlap: int = 64) -> torch.Tensor:
    """Apply ``fn`` to ``x`` (B,C,H,W) tile by tile with feathered blending of the overlaps."""
    if overlap * 2 >= tile:
        raise ValueError(f"overlap ({overlap}) must be less than half the tile size ({tile})")
    b, _, h, w = x.shape
    th, tw = min(tile, h), min(tile, w)
    ys, xs = _starts(h, th, overlap), _starts(w, tw, overlap)
    out = weight = None
    scale = None
    for yi, y0 in enumerate(ys):
        for xi, x0 in enumerate(xs):
            piece = fn(x[:, :, y0:y0 + th, x0:x0 + tw])
            if scale is None:
                scale = piece.shape[-1] / tw
                if piece.shape[-2] / th != scale or scale != int(scale) and scale * tw % 1:
                    raise ValueError("tiled(): fn must scale both sides by the same factor")
                out = torch.zeros((b, piece.shape[1], round(h * scale), round(w * scale)),
                                  device=piece.device, dtype=torch.float32)
                weight = torch.zeros((1, 1, out.shape[2], out.shape[3]), device=piece.device,
                                     dtype=torch.float32)
            ov_y, ov_x = round(overlap * scale), round(overlap * scale)
            wy = _ramp(piece.shape[-2], ov_y, yi == 0, yi == len(ys) - 1, piece.device, torch.float32)
            wx = _ramp(piece.shape[-1], ov_x, xi == 0, xi == len(xs) - 1, piece.device, torch.float32)
            wmap = (wy[:, None] * wx[None, :])[None, None]
            oy, ox = round(y0 * scale), round(x0 * scale)
            out[:, :, oy:oy + piece.shape[-2], ox:ox + piece.shape[-1]] += piece.float() * wmap
            weight[:, :, oy:oy + piece.shape[-2], ox:ox + piece.shape[-1]] += wmap
    return out / weight.clamp_min(1e-8)


def auto_tiled(fn: TensorFn, x: torch.Tensor, max_pixels: int, overlap: int = 64) -> torch.Tensor:
    """``fn(x)`` if H*W <= max_pixels, else :func:`tiled` with square tiles within the budget."""
    h, w = x.shape[-2:]
    if h * w <= max_pixels:
        return fn(x)
    tile = max(int(math.isqrt(max_pixels)), 2 * overlap + 32)
    return tiled(fn, x, tile=tile, overlap=overlap)
