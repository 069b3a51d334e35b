"""Image-quality numbers shared by the verbs, the trainers and the benchmarks: PSNR and
sharpness (Laplacian variance) of (B,C,H,W) images in [0,1]. The perceptual distance is
:func:`imgedit.perceptual.perceptual_distance`."""
from __future__ import annotations

import torch


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B,) PSNR in dB of ``a`` against ``b`` (identical images: 100 dB, not infinity)."""
    mse = (a.float() - b.float()).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1 / mse)


def laplacian_variance(x: torch.Tensor) -> torch.Tensor:
    """(B,) variance of the 4-neighbour Laplacian of the luma (channel mean): how much fine
    detail an image has. A blurred copy has a small fraction of the original's."""
    g = x.float().mean(1, keepdim=True)
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], device=g.device).view(1, 1, 3, 3)
    lap = torch.nn.functional.conv2d(g, k)  # valid: no border effects
    return lap.flatten(1).var(1)
