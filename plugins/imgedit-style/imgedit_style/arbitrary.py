"""Arbitrary styles in one forward pass: whitening-colouring transform (WCT, Li et al. 2017) on
EfficientNet-Lite0 features, inverted by a decoder trained on photos only.

* Encoder: the shared frozen :class:`imgedit.perceptual.PerceptualEncoder`, cut at one tap
  (default ``block7``: 80 channels, stride 16; the tap is stored in the decoder's weight file).
* Transform: :func:`wct` whitens the content features (zero mean, identity covariance per image)
  and colours them with the style's covariance and mean. Several styles blend by averaging their
  means and covariances with the given weights. ``strength`` blends features:
  ``f = s * wct(fc) + (1 - s) * fc``.
* Decoder: :class:`Decoder` (convolutions + nearest upsampling, no normalisation, so tiles agree)
  trained by ``imgedit train style-decoder`` to reconstruct photos from their features
  (pixel L1 + perceptual feature loss); it never sees a painting.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from imgedit.perceptual import TAP_CHANNELS, TAP_REDUCTIONS, TAPS

DEFAULT_TAP = "block7"


class Decoder(nn.Module):
    """Features at ``tap`` (C channels, stride r) -> (B, 3, H, W) image in [0, 1].

    ``width`` channels after the first convolution, halved at every x2 upsampling stage
    (``log2 r`` stages), ``blocks`` residual blocks at the feature resolution.
    """

    def __init__(self, tap: str = DEFAULT_TAP, width: int = 128, blocks: int = 2):
        super().__init__()
        if tap not in TAPS:
            raise ValueError(f"unknown tap {tap!r}")
        self.tap, self.width, self.n_blocks = tap, width, blocks
        cin, r = TAP_CHANNELS[tap], TAP_REDUCTIONS[tap]
        stages = int(round(math.log2(r)))
        self.inp = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(cin, width, 3), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3),
                                                  nn.ReLU(inplace=True), nn.ReflectionPad2d(1),
                                                  nn.Conv2d(width, width, 3)) for _ in range(blocks))
        ups, c = [], width
        for _ in range(stages):
            co = max(32, c // 2)
            ups.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1),
                                     nn.Conv2d(c, co, 3), nn.ReLU(inplace=True), nn.ReflectionPad2d(1),
                                     nn.Conv2d(co, co, 3), nn.ReLU(inplace=True)))
            c = co
        self.ups = nn.Sequential(*ups)
        self.out = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, 3, 3))
        self.register_buffer("tap_index", torch.tensor([TAPS.index(tap)]), persistent=True)

    def forward(self, f: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        h = self.inp(f)
        for b in self.blocks:
            h = h + b(h)
        y = torch.sigmoid(self.out(self.ups(h)).float())
        if size is not None and tuple(y.shape[-2:]) != tuple(size):
            y = y[:, :, : size[0], : size[1]]
            if tuple(y.shape[-2:]) != tuple(size):
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "Decoder":
        tap = TAPS[int(state["tap_index"].reshape(-1)[0])]
        width = int(state["inp.1.weight"].shape[0])
        blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
        dec = cls(tap, width, blocks)
        dec.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}, strict=True)
        return dec.eval().requires_grad_(False)


def feature_stats(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image channel mean (B,C,1) and covariance (B,C,C) of features (B,C,H,W), float32."""
    b, c = f.shape[:2]
    x = f.float().reshape(b, c, -1)
    mean = x.mean(dim=2, keepdim=True)
    xc = x - mean
    cov = xc @ xc.transpose(1, 2) / max(1, x.shape[2] - 1)
    return mean, cov


def _sym_power(cov: torch.Tensor, power: float, eps: float = 1e-5) -> torch.Tensor:
    """cov ** power for symmetric PSD matrices (B,C,C) by eigendecomposition (float64)."""
    c = cov.double()
    c = c + eps * torch.eye(c.shape[-1], dtype=c.dtype, device=c.device)
    vals, vecs = torch.linalg.eigh(c)
    vals = vals.clamp_min(eps).pow(power)
    return (vecs * vals.unsqueeze(-2)) @ vecs.transpose(-1, -2)


def blend_stats(stats: Sequence[tuple[torch.Tensor, torch.Tensor]], weights: Sequence[float]):
    """Weighted average of (mean, cov) pairs (weights need not sum to 1)."""
    total = float(sum(weights))
    mean = sum(w * m for (m, _), w in zip(stats, weights)) / total
    cov = sum(w * c for (_, c), w in zip(stats, weights)) / total
    return mean, cov


def wct(fc: torch.Tensor, style_mean: torch.Tensor, style_cov: torch.Tensor, strength: float = 1.0,
        content_stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Whiten ``fc`` (B,C,H,W) and colour it with the style statistics ((1|B,C,1), (1|B,C,C)).

    ``content_stats`` overrides the statistics measured on ``fc`` (tiles use the whole image's).
    """
    b, c, h, w = fc.shape
    mc, cc = content_stats if content_stats is not None else feature_stats(fc)
    x = fc.float().reshape(b, c, -1)
    transform = (_sym_power(style_cov, 0.5) @ _sym_power(cc, -0.5)).float()
    y = transform @ (x - mc) + style_mean.float()
    y = y.reshape(b, c, h, w)
    if strength < 1.0:
        y = strength * y + (1.0 - strength) * fc.float()
    return y
