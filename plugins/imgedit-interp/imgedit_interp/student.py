"""The distilled interpolator (issue 17): a recurrent (ConvGRU) estimator of the intermediate
flows, trained on a teacher's flows (:mod:`imgedit_interp.teacher`).

For a pair ``I0, I1`` it estimates, at 1/8 resolution, the two flows from the middle frame
(t = 0.5) to each frame, ``cat(Ft0, Ft1)`` (backward warping: ``It(x) = I0(x + Ft0(x))``), from
zero, over ``iters`` iterations; no DIS start, so it owns its large-motion stage:

* both frames' 1/8 features are warped by the current flows and compared in a **correlation
  pyramid** (:func:`corr_pyramid`: frame 0's warped features against frame 1's shifted over a
  7x7 window, at 1/8, 1/16 and 1/32: +-3, +-6, +-12 cells = +-24, +-48, +-96 px of the frame per
  iteration);
* a ConvGRU update operator turns correlation + flows + context into a flow increment;
* the last hidden state predicts a **convex upsampling** mask (RAFT: each full-resolution flow
  vector a learned convex combination of its 3x3 coarse neighbours, sharp at motion edges) and a
  soft **fusion** logit (zero-initialised: an equal 0.5/0.5 blend, which is what the measurements
  favour over a learned occlusion mask).

Other times ``t`` reuse the pair's midpoint flows along straight paths:
``Ft0(t) = 2t Ft0``, ``Ft1(t) = 2(1-t) Ft1``, and the fusion prior ``log((1-t)/t)``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .net import ConvGRU, backwarp, conv

RADIUS = 3
LEVELS = 3
CORR_DIM = 16


def local_corr2(f1: torch.Tensor, f2: torch.Tensor, r: int = RADIUS) -> torch.Tensor:
    """Channel-mean products of ``f1`` and ``f2`` shifted over a (2r+1)^2 window (zero outside)."""
    h, w = f1.shape[-2:]
    f2p = F.pad(f2, (r, r, r, r))
    return torch.cat([(f1 * f2p[:, :, dy:dy + h, dx:dx + w]).mean(1, keepdim=True)
                      for dy in range(2 * r + 1) for dx in range(2 * r + 1)], 1)


def corr_pyramid(w0: torch.Tensor, w1: torch.Tensor, levels: int = LEVELS, r: int = RADIUS) -> torch.Tensor:
    """Correlation of the warped features ``w0`` against shifted ``w1`` at ``levels`` scales
    (average-pooled by 2 each), upsampled to the 1/8 grid: (B, levels*(2r+1)^2, h, w). (Both
    ways would double the correlation, the largest part of an iteration in a 480p profile.)
    Features should be L2-normalised over channels (then each entry is a scaled cosine)."""
    h, w = w0.shape[-2:]
    out = []
    a, b = w0, w1
    for lev in range(levels):
        if lev:
            a, b = F.avg_pool2d(a, 2, ceil_mode=True), F.avg_pool2d(b, 2, ceil_mode=True)
        c = local_corr2(a, b, r)
        out.append(c if lev == 0 else F.interpolate(c, size=(h, w), mode="bilinear", align_corners=False))
    return torch.cat(out, 1)


class FeatureEncoder(nn.Module):
    """Frame -> 1/8 features (64 ch) and correlation features (CORR_DIM ch, unnormalised)."""

    def __init__(self):
        super().__init__()
        # (as slim at 1/2 and 1/4 as interp.gru's encoder: 24/40 channels there cost 60 ms a 480p pair)
        self.body = nn.Sequential(conv(3, 16, 3, 2), conv(16, 16), conv(16, 32, 3, 2), conv(32, 32),
                                  conv(32, 64, 3, 2), conv(64, 64))
        self.corr = conv(64, CORR_DIM, 1, act=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.body(x * 2.0 - 1.0)
        return f, self.corr(f)


class Update(nn.Module):
    """Motion encoder + ConvGRU + flow head."""

    def __init__(self, hidden: int, inp: int):
        super().__init__()
        ncorr = LEVELS * (2 * RADIUS + 1) ** 2
        self.corr = nn.Sequential(conv(ncorr, 64, 1), conv(64, 48))
        self.flow = nn.Sequential(conv(4, 32, 5), conv(32, 16))
        self.motion = conv(64, 44)
        self.gru = ConvGRU(hidden, 44 + 4 + inp)
        self.head = nn.Sequential(conv(hidden, 48), conv(48, 4, act=False))
        nn.init.zeros_(self.head[-1][0].weight)
        nn.init.zeros_(self.head[-1][0].bias)

    def forward(self, h, inp, corr, flow):
        m = self.motion(torch.cat((self.corr(corr), self.flow(flow * 0.25)), 1))
        h = self.gru(h, torch.cat((m, flow * 0.25, inp), 1))
        return h, self.head(h)


class DistilNet(nn.Module):
    """See the module docstring. About 0.5 M parameters."""

    def __init__(self, hidden: int = 48, inp: int = 32):
        super().__init__()
        self.hidden, self.inp = hidden, inp
        self.encoder = FeatureEncoder()
        self.context = conv(128, hidden + inp, 3, act=False)
        self.corr_scale = nn.Parameter(torch.tensor(10.0))
        self.update = Update(hidden, inp)
        self.up = nn.Sequential(conv(hidden, 64), nn.Conv2d(64, 9 * 64, 1))
        self.fuse = nn.Conv2d(hidden, 1, 3, padding=1)
        nn.init.zeros_(self.fuse.weight)
        nn.init.zeros_(self.fuse.bias)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(features, correlation features)`` at 1/8 of frames (B,3,H,W) in [0,1] (padded to a
        multiple of 8 inside). A video's frame is the second of one pair and the first of the
        next: :meth:`pair` takes them back (``feats``) so each frame is encoded once."""
        H, W = x.shape[-2:]
        x = F.pad(x, (0, -(-W // 8) * 8 - W, 0, -(-H // 8) * 8 - H), mode="replicate")
        f, c = self.encoder(x)
        k = (self.corr_scale.abs() * CORR_DIM) ** 0.5
        # centred per image and channel (instance norm, as RAFT's encoder), then unit length: an
        # uncentred map's vectors all point one way (cosine ~1 everywhere at initialisation)
        return f, F.normalize(F.instance_norm(c.float()), dim=1) * k

    def pair(self, i0: torch.Tensor, i1: torch.Tensor, iters: int = 6, feats: tuple | None = None) -> dict:
        """The pair's midpoint flows: ``flows8`` (the 1/8 estimate after each iteration, pixels of
        the 1/8 grid), ``flows`` (B,4,H,W) full resolution in pixels, ``logit`` (B,1,H,W) fusion.
        ``i0``/``i1``: (B,3,H,W) in [0,1], any size. ``feats``: ``(features(i0), features(i1))``
        when already computed."""
        B, _, H, W = i0.shape
        H8, W8 = -(-H // 8) * 8, -(-W // 8) * 8
        if feats is None:
            f, c = self.features(torch.cat((i0, i1), 0))
            (fa, fb), (ca, cb) = f.split(B, 0), c.split(B, 0)
        else:
            (fa, ca), (fb, cb) = feats
        h, inp = self.context(torch.cat((fa, fb), 1)).split((self.hidden, self.inp), 1)
        h, inp = torch.tanh(h), F.relu(inp)
        flow = fa.new_zeros((B, 4, H8 // 8, W8 // 8), dtype=torch.float32)
        out = []
        for _ in range(iters):
            flow = flow.detach()
            corr = corr_pyramid(backwarp(ca, flow[:, :2]), backwarp(cb, flow[:, 2:])).to(h.dtype)
            h, delta = self.update(h, inp, corr, flow.to(h.dtype))
            flow = flow + delta.float()
            out.append(flow)
        full = convex_upsample(flow, self.up(h).float())[:, :, :H, :W]
        logit = F.interpolate(self.fuse(h).float(), size=(H8, W8), mode="bilinear", align_corners=False)[:, :, :H, :W]
        return {"flows8": out, "flows": full, "logit": logit}

    @staticmethod
    def synthesize(i0: torch.Tensor, i1: torch.Tensor, est: dict, t: float | torch.Tensor = 0.5) -> torch.Tensor:
        """The frame at ``t`` from a pair's :meth:`pair` result (straight paths off the midpoint)."""
        B = i0.shape[0]
        if not torch.is_tensor(t):
            t = torch.full((B,), float(t), device=i0.device)
        t = t.float().view(B, 1, 1, 1)
        fl = est["flows"]
        w0 = backwarp(i0, fl[:, :2] * (2 * t))
        w1 = backwarp(i1, fl[:, 2:] * (2 * (1 - t)))
        m = torch.sigmoid(est["logit"] + torch.log((1 - t) / t))
        return m * w0.float() + (1 - m) * w1.float()

    def forward(self, i0, i1, t=0.5, iters: int = 6):
        est = self.pair(i0, i1, iters)
        return self.synthesize(i0, i1, est, t), est


def convex_upsample(flow: torch.Tensor, mask: torch.Tensor, r: int = 8) -> torch.Tensor:
    """(B,C,h,w) flow in pixels of the coarse grid -> (B,C,r*h,r*w) in full-resolution pixels:
    each fine vector is a softmax-weighted (``mask``: (B,9*r*r,h,w)) mix of its 3x3 coarse
    neighbours (RAFT's convex upsampling), times ``r``."""
    B, C, h, w = flow.shape
    m = torch.softmax(mask.view(B, 1, 9, r, r, h, w), dim=2)
    nb = F.unfold(flow * r, 3, padding=1).view(B, C, 9, 1, 1, h, w)
    up = (m * nb).sum(2)  # B,C,r,r,h,w
    return up.permute(0, 1, 4, 2, 5, 3).reshape(B, C, r * h, r * w)


def flow_sequence_loss(flows8: list[torch.Tensor], full: torch.Tensor | None, target: torch.Tensor,
                       gamma: float = 0.8) -> torch.Tensor:
    """RAFT-style flow regression against the teacher's full-resolution ``target`` (B,4,H,W) px:
    L1 of every iteration's 1/8 estimate against the area-downsampled target (in 1/8-grid pixels),
    weighted ``gamma ** (n - 1 - i)``, plus the L1 of the upsampled ``full`` flow (full-resolution
    pixels / 8, the same scale). Zero when the estimates are the teacher's own flow."""
    H, W = target.shape[-2:]
    h8, w8 = flows8[-1].shape[-2:]
    tgt = F.pad(target.float(), (0, w8 * 8 - W, 0, h8 * 8 - H), mode="replicate")
    t8 = F.avg_pool2d(tgt, 8) / 8
    n = len(flows8)
    loss = sum(gamma ** (n - 1 - i) * (f.float() - t8).abs().mean() for i, f in enumerate(flows8))
    if full is not None:
        loss = loss + (full.float() - target.float()).abs().mean() / 8
    return loss

