"""A FID-like score on the perceptual backbone (no Inception network is shipped or downloaded).

:func:`feature_stats` pools EfficientNet-Lite0 features (taps ``block10`` and ``block15``,
spatial mean, concatenated: 432 values) of images upsampled to ``size``; :func:`frechet_distance`
is the Fréchet distance between two such Gaussians, as in Heusel et al. (2017). Numbers are
comparable only with each other (same taps, size and sample counts), not with published FIDs.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from imgedit.perceptual.backbone import get_encoder

FID_TAPS = ("block10", "block15")


@torch.no_grad()
def pooled_features(images: torch.Tensor, size: int = 128, batch: int = 100) -> torch.Tensor:
    """(N,3,H,W) in [0,1] -> (N, 432) pooled features (float64)."""
    enc = get_encoder(images.device)
    out = []
    for i in range(0, len(images), batch):
        x = images[i:i + batch].float()
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        feats = enc(x, FID_TAPS)
        out.append(torch.cat([feats[t].float().mean((2, 3)) for t in FID_TAPS], 1).double().cpu())
    return torch.cat(out)


def feature_stats(images: torch.Tensor, size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance of :func:`pooled_features`."""
    f = pooled_features(images, size)
    mu = f.mean(0)
    c = f - mu
    return mu, c.T @ c / max(1, len(f) - 1)


def frechet_distance(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> float:
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), with the trace of the matrix square
    root from the eigenvalues of S_a S_b (real and >= 0 up to rounding)."""
    (m1, s1), (m2, s2) = a, b
    ev = torch.linalg.eigvals(s1.double() @ s2.double()).real.clamp_min(0)
    return float((m1 - m2).pow(2).sum() + s1.trace() + s2.trace() - 2 * ev.sqrt().sum())
