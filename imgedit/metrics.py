"""Image-quality numbers shared by the verbs, the trainers and the benchmarks: PSNR, SSIM,
sharpness (Laplacian variance) and saturation of (B,C,H,W) images in [0,1]. The perceptual distance is
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


def saturation(x: torch.Tensor) -> torch.Tensor:
    """(B,) mean HSV saturation, (max - min) / max over the channels of each pixel (differentiable:
    the style decoder's ``--saturation-weight`` trains on it). A washed-out copy (lifted blacks,
    faded colours) has a smaller one than the original."""
    x = x.float()
    mx, mn = x.amax(1), x.amin(1)
    return ((mx - mn) / mx.clamp_min(1e-3)).flatten(1).mean(1)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B,) mean SSIM of ``a`` against ``b`` over all channels (Wang et al. 2004: Gaussian window
    sigma 1.5, 11x11, valid positions only, C1 = 0.01², C2 = 0.03² for images in [0,1])."""
    x, y = a.double(), b.double()
    c = x.shape[1]
    g = torch.exp(-((torch.arange(11, dtype=torch.float64, device=x.device) - 5.0) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    k = (g[:, None] * g[None, :]).expand(c, 1, 11, 11).contiguous()

    def mu(z: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.conv2d(z, k, groups=c)

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = mu(x), mu(y)
    sxx, syy, sxy = mu(x * x) - mx ** 2, mu(y * y) - my ** 2, mu(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (sxx + syy + c2))
    return s.flatten(1).mean(1).float()
