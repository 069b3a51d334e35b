"""DCGAN networks at 64x64 (Radford et al. 2016) with the stabilisers that let them train on a
few thousand images on a CPU, and the inversion encoder.

* :class:`Generator` - z -> 4x4 (transposed conv) -> 8 -> 16 -> 32 -> 64, BatchNorm + ReLU,
  tanh output mapped to [0,1]. ``channels=1`` for grayscale data (glyphs), replicated to RGB.
* :class:`Discriminator` - strided convs with LeakyReLU(0.2), spectral norm on every layer
  (instead of BatchNorm: no batch statistics to mix between real and fake), one logit; or the
  paper's BatchNorm (``norm="bn"``), which trained the faces where spectral norm stalled.
* :class:`Encoder` - the same trunk as D (BatchNorm, no spectral norm) ending in a linear layer
  to z: predicts the latent of an image, the starting point of the inversion. With k outputs it
  is also the attribute classifier of conditional runs (``imgedit train gan --conditional``).
* :func:`diff_augment` - DiffAugment (Zhao et al. 2020): the same random translation, cutout and
  (optionally) colour changes applied to real and fake images before D, differentiably, so D
  cannot memorise a small set.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Generator(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32, channels: int = 3):
        super().__init__()
        self.nz, self.ngf, self.channels = nz, ngf, channels

        def up(cin, cout):
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1), nn.Tanh())
        for m in self.modules():  # the paper's init: N(0, 0.02), BN gamma N(1, 0.02)
            if isinstance(m, nn.ConvTranspose2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, nz) -> (B, 3, 64, 64) in [0,1]."""
        x = self.net(z.reshape(z.shape[0], self.nz, 1, 1))
        x = (x + 1) * 0.5
        return x.expand(-1, 3, -1, -1) if self.channels == 1 else x


def _trunk(channels: int, ndf: int, norm: str) -> list[nn.Module]:
    sn = nn.utils.parametrizations.spectral_norm if norm == "sn" else (lambda m: m)
    layers: list[nn.Module] = [sn(nn.Conv2d(channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
    c = ndf
    for _ in range(3):  # 32 -> 16 -> 8 -> 4
        layers.append(sn(nn.Conv2d(c, c * 2, 4, 2, 1, bias=norm != "bn")))
        if norm == "bn":
            layers.append(nn.BatchNorm2d(c * 2))
        layers.append(nn.LeakyReLU(0.2, True))
        c *= 2
    return layers


class Discriminator(nn.Module):
    """``norm="sn"``: spectral norm on every layer (default); ``"bn"``: the paper's BatchNorm.

    ``classes > 0``: a projection discriminator (Miyato & Koyama 2018) for class-conditional runs:
    the logit gains ``<embed(y), mean-pooled trunk features>``, so D judges "a real image *of class
    y*" and G must draw the class it was given."""

    def __init__(self, ndf: int = 32, channels: int = 3, norm: str = "sn", classes: int = 0):
        super().__init__()
        self.channels = channels
        last = nn.Conv2d(ndf * 8, 1, 4, 1, 0)
        self.net = nn.Sequential(*_trunk(channels, ndf, norm),
                                 nn.utils.parametrizations.spectral_norm(last) if norm == "sn" else last)
        self.embed = None
        if classes:
            emb = nn.Embedding(classes, ndf * 8)
            nn.init.normal_(emb.weight, 0.0, 0.02)
            self.embed = nn.utils.parametrizations.spectral_norm(emb) if norm == "sn" else emb

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 3, 64, 64) in [0,1] (and, for a projection D, (B,) class indices) -> (B,) logits."""
        if self.channels == 1:
            x = x.mean(1, keepdim=True)
        h = self.net[:-1](x * 2 - 1)
        out = self.net[-1](h).flatten()
        if self.embed is not None:
            if y is None:
                raise ValueError("a class-conditional discriminator needs the classes y")
            out = out + (self.embed(y).to(h.dtype) * h.mean((2, 3))).sum(1)
        return out


class Encoder(nn.Module):
    def __init__(self, nz: int = 64, ndf: int = 32, channels: int = 3):
        super().__init__()
        self.nz, self.channels = nz, channels
        self.net = nn.Sequential(*_trunk(channels, ndf, "bn"), nn.Flatten(), nn.Linear(ndf * 8 * 16, nz))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 64, 64) in [0,1] -> (B, nz)."""
        if self.channels == 1:
            x = x.mean(1, keepdim=True)
        return self.net(x * 2 - 1)


# ------------------------------------------------------------------------------------------------
def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """DiffAugment of a batch (B,3,H,W) in [0,1]; ``policy`` is a comma list of ``color``,
    ``translation``, ``cutout``. Random draws come from ``generator`` (reproducible runs)."""
    b, _, h, w = x.shape
    dev = x.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator).to(dev)

    for p in filter(None, (s.strip() for s in policy.split(","))):
        if p == "color":
            x = x + (rand(b, 1, 1, 1) - 0.5) * 0.5                              # brightness
            m = x.mean(1, keepdim=True)
            x = (x - m) * (rand(b, 1, 1, 1) * 2) + m                              # saturation
            m = x.mean((1, 2, 3), keepdim=True)
            x = (x - m) * (rand(b, 1, 1, 1) + 0.5) + m                            # contrast
        elif p == "translation":  # shift by up to 1/8 of the size, zero (white-free) padding
            sh, sw = h // 8, w // 8
            ty = (rand(b) * (2 * sh + 1)).long() - sh
            tx = (rand(b) * (2 * sw + 1)).long() - sw
            yy = (torch.arange(h, device=dev)[None, :] - ty[:, None].to(dev)).clamp(-1, h)
            xx = (torch.arange(w, device=dev)[None, :] - tx[:, None].to(dev)).clamp(-1, w)
            pad = F.pad(x, (1, 1, 1, 1), mode="replicate")
            idx_y = (yy + 1).clamp(0, h + 1)
            idx_x = (xx + 1).clamp(0, w + 1)
            x = pad[torch.arange(b, device=dev)[:, None, None], :, idx_y[:, :, None], idx_x[:, None, :]]
            x = x.permute(0, 3, 1, 2)
        elif p == "cutout":  # one square of half the size, filled with the mid grey
            ch, cw = h // 2, w // 2
            cy = (rand(b) * (h + 1 - ch % 2)).long()
            cx = (rand(b) * (w + 1 - cw % 2)).long()
            gy = torch.arange(h, device=dev)[None, :, None]
            gx = torch.arange(w, device=dev)[None, None, :]
            hole = ((gy - cy.to(dev)[:, None, None]).abs() < ch // 2) & ((gx - cx.to(dev)[:, None, None]).abs() < cw // 2)
            x = torch.where(hole[:, None], torch.full_like(x, 0.5), x)
        else:
            raise ValueError(f"unknown DiffAugment policy {p!r}")
    return x
