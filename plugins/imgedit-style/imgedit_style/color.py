"""Colour helpers: full-range BT.601 YCbCr, luminance-only transfer, resizing.

``--preserve-color`` keeps the photo's chroma: the stylised image's luma ``Y`` is combined with the
photo's ``Cb, Cr`` (Gatys et al. 2016, "Preserving color in neural artistic style transfer",
luminance-only variant). The result is clamped to [0, 1] in RGB, which can move chroma only for
colours outside the RGB gamut.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

# rows: Y, Cb, Cr (full range, offsets 0.5 for the chroma channels)
_RGB2YCC = torch.tensor([[0.299, 0.587, 0.114],
                         [-0.168735892, -0.331264108, 0.5],
                         [0.5, -0.418687589, -0.081312411]])
_YCC2RGB = torch.linalg.inv(_RGB2YCC)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB in [0,1] -> (B,3,H,W) Y, Cb, Cr (Y in [0,1], Cb/Cr centred on 0.5)."""
    m = _RGB2YCC.to(x.device, x.dtype)
    y = torch.einsum("ij,bjhw->bihw", m, x)
    return y + torch.tensor([0.0, 0.5, 0.5], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)


def ycbcr_to_rgb(y: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr` (not clamped)."""
    m = _YCC2RGB.to(y.device, y.dtype)
    y = y - torch.tensor([0.0, 0.5, 0.5], device=y.device, dtype=y.dtype).view(1, 3, 1, 1)
    return torch.einsum("ij,bjhw->bihw", m, y)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) RGB -> (B,1,H,W) luma Y."""
    return rgb_to_ycbcr(x)[:, :1]


def keep_chroma(stylised: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """Luma of ``stylised`` with the chroma of ``photo`` (same shape), clamped to [0, 1]."""
    s, p = rgb_to_ycbcr(stylised.float()), rgb_to_ycbcr(photo.float())
    return ycbcr_to_rgb(torch.cat([s[:, :1], p[:, 1:]], dim=1)).clamp(0, 1)


def gray_like(style: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """Style image reduced to luma, its mean/std matched to the photo's luma, as 3-channel grey.

    Used as the style target when preserving colour, so the style term does not push the
    optimisation (or the feature transform) towards the painting's palette.
    """
    ys, yp = luminance(style.float()), luminance(photo.float())
    ys = (ys - ys.mean()) / (ys.std() + 1e-6) * yp.std() + yp.mean()
    return ys.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def gray3(x: torch.Tensor) -> torch.Tensor:
    """Luma as a 3-channel grey image."""
    return luminance(x.float()).expand(-1, 3, -1, -1).contiguous()


def fit_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    """(h, w) scaled down so the longest side is at most ``max_side`` (never up; aspect kept)."""
    if not max_side or max(h, w) <= max_side:
        return h, w
    s = max_side / max(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize (antialiased when shrinking), float32, clamped to [0, 1]."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x.float(), size=size, mode="bicubic", align_corners=False,
                         antialias=shrink).clamp(0, 1)


def resize_long(x: torch.Tensor, long_side: int) -> torch.Tensor:
    """Resize so the longest side is ``long_side`` (up or down), aspect kept."""
    h, w = x.shape[-2:]
    s = long_side / max(h, w)
    return resize(x, (max(1, round(h * s)), max(1, round(w * s))))
