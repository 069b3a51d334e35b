"""Arbitrary styles in one forward pass: whitening-colouring transform (WCT, Li et al. 2017) on
EfficientNet-Lite0 features, inverted by a decoder trained on photos only.

* Encoder: the shared frozen :class:`imgedit.perceptual.PerceptualEncoder`, cut at one tap
  (default ``block7``: 80 channels, stride 16; the tap is stored in the decoder's weight file).
* Transform: :func:`wct` whitens the content features (zero mean, identity covariance per image)
  and colours them with the style's covariance and mean. Several styles blend by averaging their
  means and covariances with the given weights. ``strength`` blends features:
  ``f = s * wct(fc) + (1 - s) * fc``.
* Decoder: :class:`Decoder` (convolutions + nearest or bilinear upsampling, no normalisation, so
  tiles agree) trained by ``imgedit train style-decoder`` to reconstruct photos from their
  features (pixel L1 + perceptual feature loss); it never sees a painting. A multi-level decoder
  (``--skips block4,block2``) also reads finer taps on the way up; the transform is then applied
  to every level it reads (multi-level WCT in one decoder).
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

    ``skips`` (multi-level, e.g. ``("block4", "block2")``): features of finer taps joined at the
    stage whose output has their stride, so the decoder is not limited to what the stride-r tap
    keeps (the arbitrary method whitens/colours every level it reads). ``upsample``: ``nearest``
    (the first decoder) or ``bilinear`` (no blocky 2/4/8/16 px grid from repeated nearest
    doubling).
    """

    UPSAMPLE_MODES = ("nearest", "bilinear")

    def __init__(self, tap: str = DEFAULT_TAP, width: int = 128, blocks: int = 2,
                 skips: Sequence[str] = (), upsample: str = "nearest"):
        super().__init__()
        for t in (tap, *skips):
            if t not in TAPS:
                raise ValueError(f"unknown tap {t!r}")
        if upsample not in self.UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {self.UPSAMPLE_MODES}, not {upsample!r}")
        self.tap, self.width, self.n_blocks = tap, width, blocks
        self.skips, self.upsample = tuple(skips), upsample
        cin, r = TAP_CHANNELS[tap], TAP_REDUCTIONS[tap]
        stages = int(round(math.log2(r)))
        stage_stride = [r >> (i + 1) for i in range(stages)]  # output stride of each stage
        self.skip_stage = {}
        for t in self.skips:
            if TAP_REDUCTIONS[t] not in stage_stride:
                raise ValueError(f"skip {t!r} (stride {TAP_REDUCTIONS[t]}) is not finer than {tap!r} (stride {r})")
            self.skip_stage[stage_stride.index(TAP_REDUCTIONS[t])] = t
        self.inp = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(cin, width, 3), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3),
                                                  nn.ReLU(inplace=True), nn.ReflectionPad2d(1),
                                                  nn.Conv2d(width, width, 3)) for _ in range(blocks))
        ups, c = [], width
        for i in range(stages):
            co = max(32, c // 2)
            extra = TAP_CHANNELS[self.skip_stage[i]] if i in self.skip_stage else 0
            up = nn.Upsample(scale_factor=2, mode=upsample, **({} if upsample == "nearest" else {"align_corners": False}))
            ups.append(nn.Sequential(up, nn.ReflectionPad2d(1),
                                     nn.Conv2d(c + extra, co, 3), nn.ReLU(inplace=True), nn.ReflectionPad2d(1),
                                     nn.Conv2d(co, co, 3), nn.ReLU(inplace=True)))
            c = co
        self.ups = nn.Sequential(*ups)
        self.out = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, 3, 3))
        self.register_buffer("tap_index", torch.tensor([TAPS.index(tap)]), persistent=True)
        if self.skips:
            self.register_buffer("skip_index", torch.tensor([TAPS.index(t) for t in self.skips]), persistent=True)
        if upsample != "nearest":
            self.register_buffer("upsample_mode", torch.tensor([self.UPSAMPLE_MODES.index(upsample)]), persistent=True)

    @property
    def arch(self) -> str:
        """Architecture name for run folders and model cards, e.g. ``decoder-block7-w128-b2-block4-block2-bilinear``."""
        return (f"decoder-{self.tap}-w{self.width}-b{self.n_blocks}" + "".join(f"-{t}" for t in self.skips)
                + ("" if self.upsample == "nearest" else f"-{self.upsample}"))

    @property
    def taps(self) -> tuple[str, ...]:
        """Every encoder tap the decoder reads: its own, then the skips."""
        return (self.tap, *self.skips)

    def forward(self, f: torch.Tensor, size: tuple[int, int] | None = None,
                skips: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        h = self.inp(f)
        for b in self.blocks:
            h = h + b(h)
        for i, stage in enumerate(self.ups):
            h = stage[0](h)
            if i in self.skip_stage:
                s = (skips or {}).get(self.skip_stage[i])
                if s is None:
                    raise ValueError(f"this decoder needs the {self.skip_stage[i]!r} features (skips=)")
                h = torch.cat([h[:, :, : s.shape[-2], : s.shape[-1]], s.to(h.dtype)], dim=1)
            h = stage[1:](h)
        y = torch.sigmoid(self.out(h).float())
        if size is not None and tuple(y.shape[-2:]) != tuple(size):
            y = y[:, :, : size[0], : size[1]]
            if tuple(y.shape[-2:]) != tuple(size):
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y

    def decode(self, feats: dict[str, torch.Tensor], size: tuple[int, int] | None = None) -> torch.Tensor:
        """Decode ``{tap: features}`` holding every tap of :attr:`taps`."""
        return self(feats[self.tap], size=size, skips={t: feats[t] for t in self.skips})

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "Decoder":
        tap = TAPS[int(state["tap_index"].reshape(-1)[0])]
        width = int(state["inp.1.weight"].shape[0])
        blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
        skips = tuple(TAPS[int(i)] for i in state["skip_index"].reshape(-1)) if "skip_index" in state else ()
        mode = cls.UPSAMPLE_MODES[int(state["upsample_mode"].reshape(-1)[0])] if "upsample_mode" in state else "nearest"
        dec = cls(tap, width, blocks, skips, mode)
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
