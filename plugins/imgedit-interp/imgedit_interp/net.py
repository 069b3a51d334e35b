"""The interpolation network: recurrent bidirectional flow (RAFT-style ConvGRU) + fusion + refine.

Pipeline for a pair of frames ``I0, I1`` (float, [0,1], (B,3,H,W)) and a time ``t`` in (0,1):

1. :class:`Encoder` (shared weights) turns each frame into features at 1/4 and 1/8 of the
   *flow resolution* (the frame resized to a multiple of 8, times ``scale``).
2. :meth:`InterpNet.flows` estimates the bidirectional flows ``F01`` and ``F10`` at 1/8
   resolution. Both directions run as one batch through the same recurrence: each iteration
   backward-warps the target features with the current flow, builds a local correlation volume
   (radius :data:`RADIUS`) against the source features, and a ConvGRU update operator predicts a
   flow increment. The recurrence starts from zero or from a given flow (warm start: the
   previous pair's motion in a video).
3. :meth:`InterpNet.synthesize` (cheap, once per ``t``): intermediate flows ``Ft0, Ft1`` from the
   linear-motion approximation of ``F01, F10``, corrected at 1/4 resolution by a small fusion net
   that also predicts an occlusion/fusion mask; both frames are backward-warped at full
   resolution, fused by the mask, and a small refinement net at 1/2 resolution adds a residual.

Flows are in pixels of the grid they live on and point from the output pixel to where its
content is in the source frame (backward warping: ``out(x) = src(x + F(x))``).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

RADIUS = 3  #: local correlation radius at 1/8 resolution (7x7 window, ±24 px per iteration)
_grids: dict = {}


def backwarp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp: ``out[..., y, x] = img[..., y + flow_y, x + flow_x]`` (bilinear, border).

    ``flow`` is (B,2,H,W) in pixels of ``img``'s grid (channel 0 = x). Integer flows sample pixel
    centres (``align_corners=True``), so a whole-pixel shift is reproduced up to float32 rounding.
    Positions and sampling are always float32 (the result has ``img``'s dtype): in bf16 a
    normalised position near the right edge of a 214 px wide grid is off by up to 0.4 px.
    """
    b, _, h, w = flow.shape
    flow = flow.float()
    key = (h, w, flow.device)
    base = _grids.get(key)
    if base is None:
        ys, xs = torch.meshgrid(torch.arange(h, device=flow.device, dtype=torch.float32),
                                torch.arange(w, device=flow.device, dtype=torch.float32), indexing="ij")
        base = torch.stack((xs, ys))[None]
        if len(_grids) > 16:
            _grids.clear()
        _grids[key] = base
    pos = base + flow
    gx = pos[:, 0] * (2.0 / max(w - 1, 1)) - 1.0
    gy = pos[:, 1] * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    out = F.grid_sample(img.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.to(img.dtype)


def local_corr(f1: torch.Tensor, f2: torch.Tensor, r: int = RADIUS, scale: torch.Tensor | None = None) -> torch.Tensor:
    """Local correlation volume: channel ``k`` is the mean over channels of ``f1 * shift_k(f2)``
    for the (2r+1)^2 displacements of a window (zero outside the image).

    With ``scale`` the features are L2-normalised over channels first (in float32) and the result
    is ``scale * cosine``: the matching signal then has a usable size whatever the encoder's
    output magnitude (the plain mean of the first weights, interp-gru-v1, varied by only ~1e-4
    across the window, so the recurrence could not see it: docs/quality-review-2026-11-26.md)."""
    if scale is not None:
        c = f1.shape[1]
        k = (scale.abs() * c) ** 0.5
        f1, f2 = F.normalize(f1.float(), dim=1) * k, F.normalize(f2.float(), dim=1) * k
    h, w = f1.shape[-2:]
    f2p = F.pad(f2, (r, r, r, r))
    out = [(f1 * f2p[:, :, dy:dy + h, dx:dx + w]).mean(1, keepdim=True)
           for dy in range(2 * r + 1) for dx in range(2 * r + 1)]
    return torch.cat(out, 1)


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, act: bool = True) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2)]
    if act:
        layers.append(nn.LeakyReLU(0.1, inplace=True))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Frame -> (features at 1/4: 32 ch, features at 1/8: 64 ch)."""

    def __init__(self):
        super().__init__()
        self.s2 = nn.Sequential(conv(3, 16, 3, 2), conv(16, 16))
        self.s4 = nn.Sequential(conv(16, 32, 3, 2), conv(32, 32))
        self.s8 = nn.Sequential(conv(32, 64, 3, 2), conv(64, 64), conv(64, 64, act=False))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f4 = self.s4(self.s2(x * 2.0 - 1.0))
        return f4, self.s8(f4)


class ConvGRU(nn.Module):
    """Convolutional GRU cell (3x3 gates)."""

    def __init__(self, hidden: int, inp: int):
        super().__init__()
        self.zr = nn.Conv2d(hidden + inp, 2 * hidden, 3, padding=1)
        self.q = nn.Conv2d(hidden + inp, hidden, 3, padding=1)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        z, r = torch.sigmoid(self.zr(torch.cat((h, x), 1))).chunk(2, 1)
        q = torch.tanh(self.q(torch.cat((r * h, x), 1)))
        return (1 - z) * h + z * q


class UpdateBlock(nn.Module):
    """Motion encoder (correlation + current flow) -> ConvGRU -> flow increment."""

    HIDDEN, INP = 32, 16

    def __init__(self):
        super().__init__()
        ncorr = (2 * RADIUS + 1) ** 2
        self.corr = conv(ncorr, 32, 1)
        self.flow = conv(2, 16, 3)
        self.motion = conv(48, 30, 3)
        self.gru = ConvGRU(self.HIDDEN, 32 + self.INP)
        self.head = nn.Sequential(conv(self.HIDDEN, 32), conv(32, 2, act=False))

    def forward(self, h, inp, corr, flow):
        m = self.motion(torch.cat((self.corr(corr), self.flow(flow)), 1))
        h = self.gru(h, torch.cat((m, flow, inp), 1))
        return h, self.head(h)


def intermediate_flows(f01: torch.Tensor, f10: torch.Tensor, t, acc=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Ft0, Ft1)`` from the pair's flows by the linear-motion approximation (Jiang et al.,
    Super SloMo): ``Ft0 = -(1-t) t F01 + t^2 F10``, ``Ft1 = (1-t)^2 F01 - t (1-t) F10``.

    ``acc = cat(A0, A1)`` (optional): the motion's acceleration seen from frame 0 and from frame 1,
    ``A0 = F0->1 + F0->-1`` and ``A1 = F1->0 + F1->2`` (flows to the neighbouring frames of the
    pair, see :func:`acceleration`). Constant acceleration moves a point's position at time t by
    ``t (1-t) / 2 * ((1-t) A0 + t A1)`` off the straight path, and both intermediate flows start
    from that position, so both get the same term (the quadratic model of Xu et al., QVI).
    Plain arithmetic: without ``acc`` it works on numpy (H,W,2) arrays as well."""
    ft0, ft1 = -(1 - t) * t * f01 + t * t * f10, (1 - t) * (1 - t) * f01 - t * (1 - t) * f10
    if acc is None:
        return ft0, ft1
    d = t * (1 - t) / 2 * ((1 - t) * acc[:, :2] + t * acc[:, 2:])
    return ft0 + d, ft1 + d


ACC_LIMIT = 0.75  #: |acceleration| is capped at ACC_LIMIT * (|pair flow| + 1 px) (chosen on validation clips)


def acceleration(f01: torch.Tensor, f10: torch.Tensor, f0p: torch.Tensor | None, f1n: torch.Tensor | None
                 ) -> torch.Tensor | None:
    """``cat(A0, A1)`` for :func:`intermediate_flows` from a pair's flows (B,2,H,W each) and the
    flows from its frames to their outer neighbours: ``f0p`` = frame 0 -> the frame before it,
    ``f1n`` = frame 1 -> the frame after it (same spacing in time; None where there is none,
    e.g. at a scene start: that side's acceleration is then taken as zero). Each vector is capped
    at ``ACC_LIMIT`` times the pair's flow there plus one pixel: where a neighbour's flow fails
    (occlusions, a cut) the quadratic term must not throw a pixel further than the motion itself.
    None when neither neighbour exists."""
    if f0p is None and f1n is None:
        return None
    a0 = torch.zeros_like(f01) if f0p is None else cap_acceleration(f01 + f0p, f01)
    a1 = torch.zeros_like(f10) if f1n is None else cap_acceleration(f10 + f1n, f10)
    return torch.cat((a0, a1), 1)


def cap_acceleration(a: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """``a`` (B,2,H,W) with each vector's length capped at ``ACC_LIMIT`` times the motion ``f``'s
    there plus one pixel: where a neighbour's flow fails (occlusions, a cut) the quadratic term
    must not throw a pixel further than the motion itself."""
    def norm(v: torch.Tensor) -> torch.Tensor:  # hypot: torch's norm over dim 1 is slow on DIS's (H,W,2) layout
        return torch.hypot(v[:, 0:1], v[:, 1:2])

    lim = ACC_LIMIT * (norm(f) + 1.0)
    return a * (lim / norm(a).clamp_min(1e-6)).clamp(max=1.0)


def resize_flow(z: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a flow field (B,2k,h,w) to ``size``, rescaling x and y per axis."""
    h, w = z.shape[-2:]
    if (h, w) == tuple(size):
        return z.float()
    s = torch.tensor([size[1] / w, size[0] / h] * (z.shape[1] // 2), device=z.device, dtype=torch.float32)
    return F.interpolate(z.float(), size=size, mode="bilinear", align_corners=False) * s.view(1, -1, 1, 1)


def refined_flow(flow8: torch.Tensor, size: tuple[int, int],
                 base: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """The flow at ``size`` (pixels) that the recurrence's 1/8 result ``flow8`` stands for: with
    ``base = (full, start8)`` (the flow it started from, at full and at 1/8 resolution) the
    full-resolution start plus the recurrence's correction upsampled; otherwise ``flow8`` upsampled."""
    if base is None:
        return resize_flow(flow8, size)
    return resize_flow(base[0], size) + resize_flow(flow8 - base[1], size)


class SynthUNet(nn.Module):
    """Synthesis v2: a small U-Net at 1/2, 1/4 and 1/8 of the image that corrects the intermediate
    flows, predicts the fusion mask and an RGB residual, where v1's two shallow nets had a few
    pixels of context (docs/quality-review-2026-11-26.md, P3).

    Inputs at 1/2: both frames, both warped frames, their luma difference, warped context features
    of both frames (16 ch each), the intermediate flows and t; at 1/4 the encoder's 1/4 features of
    both frames, projected and warped. Output heads start at zero, so an untrained network gives
    the linear-flow warp blended by the distance prior."""

    def __init__(self):
        super().__init__()
        self.ctx2 = nn.Sequential(conv(3, 16, 3, 2), conv(16, 16))
        self.proj4 = conv(32, 16, 1)
        self.e2 = nn.Sequential(conv(3 * 4 + 1 + 32 + 4 + 1, 32), conv(32, 32))
        self.down4 = conv(32, 32, 3, 2)
        self.e4 = nn.Sequential(conv(32 + 32 + 4, 48), conv(48, 48))
        self.down8 = conv(48, 72, 3, 2)
        self.e8 = nn.Sequential(conv(72, 72), conv(72, 72))
        self.d4 = nn.Sequential(conv(72 + 48, 48), conv(48, 48))
        self.d2 = nn.Sequential(conv(48 + 32, 32), conv(32, 32))
        self.head = nn.Conv2d(32, 4 + 1 + 12, 3, padding=1)  # d flows (1/2 px), mask logit, RGB x4 (shuffled)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, img0, img1, f4a, f4b, f01, f10, t, aux: dict | None = None, acc=None):
        """``f01``/``f10``: the pair's flows at full resolution (pixels); returns the frame at t.
        ``acc``: optional acceleration ``cat(A0, A1)`` at full resolution (:func:`intermediate_flows`).
        A dict ``aux`` receives the fusion's inputs for training losses: ``mask_logit``, the two
        warped frames ``warped0``/``warped1`` and the final intermediate flows ``flows_t`` =
        ``cat(Ft0, Ft1)`` (full resolution)."""
        B, _, H, W = img0.shape
        H8, W8 = -(-H // 8) * 8, -(-W // 8) * 8
        pad = (0, W8 - W, 0, H8 - H)
        i0, i1 = F.pad(img0, pad, mode="replicate"), F.pad(img1, pad, mode="replicate")
        f01, f10 = F.pad(f01, pad, mode="replicate"), F.pad(f10, pad, mode="replicate")
        if acc is not None:
            acc = F.pad(acc, pad, mode="replicate")
        h2, w2 = H8 // 2, W8 // 2
        ft = torch.cat(intermediate_flows(f01, f10, t, acc), 1)
        ft2 = resize_flow(ft, (h2, w2))
        half = lambda z: F.interpolate(z, size=(h2, w2), mode="bilinear", align_corners=False, antialias=True)  # noqa: E731
        a2, b2 = half(i0), half(i1)
        w0, w1 = backwarp(a2, ft2[:, :2]), backwarp(b2, ft2[:, 2:])
        c0, c1 = self.ctx2(i0), self.ctx2(i1)
        diff = (w0 - w1).abs().mean(1, keepdim=True)
        dt = a2.dtype
        x2 = self.e2(torch.cat((a2, b2, w0, w1, diff, backwarp(c0, ft2[:, :2]), backwarp(c1, ft2[:, 2:]),
                                ft2 * 0.1, t.expand(B, 1, h2, w2)), 1).to(dt))
        ft4 = resize_flow(ft2, (h2 // 2, w2 // 2))
        q0 = F.interpolate(self.proj4(f4a), size=(h2 // 2, w2 // 2), mode="bilinear", align_corners=False)
        q1 = F.interpolate(self.proj4(f4b), size=(h2 // 2, w2 // 2), mode="bilinear", align_corners=False)
        x4 = self.e4(torch.cat((self.down4(x2), backwarp(q0, ft4[:, :2]), backwarp(q1, ft4[:, 2:]),
                                (ft4 * 0.1).to(x2.dtype)), 1))
        x8 = self.e8(self.down8(x4))
        y4 = self.d4(torch.cat((F.interpolate(x8, size=x4.shape[-2:], mode="nearest"), x4), 1))
        y2 = self.d2(torch.cat((F.interpolate(y4, size=x2.shape[-2:], mode="nearest"), x2), 1))
        out = self.head(y2).float()
        ftf = ft + resize_flow(out[:, :4], (H8, W8))  # full-resolution flow + the learned 1/2 correction
        prior = torch.log((1 - t) / t)  # the nearer frame wins a priori
        logit = F.interpolate(out[:, 4:5], size=(H8, W8), mode="bilinear", align_corners=False) + prior
        mask = torch.sigmoid(logit)
        w0f, w1f = backwarp(i0, ftf[:, :2]), backwarp(i1, ftf[:, 2:])
        if aux is not None:
            aux.update(mask_logit=logit[:, :, :H, :W], warped0=w0f[:, :, :H, :W], warped1=w1f[:, :, :H, :W],
                       flows_t=ftf[:, :, :H, :W])
        fused = mask * w0f + (1 - mask) * w1f
        return (fused + F.pixel_shuffle(out[:, 5:], 2))[:, :, :H, :W]


class InterpNet(nn.Module):
    """The whole interpolator; see the module docstring. ``synth="unet"`` (new networks, about
    0.5 M parameters) synthesises with :class:`SynthUNet`; ``synth="v1"`` (interp-gru-v1, 0.29 M)
    with the fusion + refine nets below.

    ``corr="cosine"`` (new networks) correlates L2-normalised features scaled by a learned
    temperature ``corr_scale`` (initialised to 10); ``corr="mean"`` is the plain channel mean of
    the first weights (interp-gru-v1). :func:`corr_mode` tells them apart from a state dict."""

    def __init__(self, corr: str = "cosine", synth: str = "unet"):
        super().__init__()
        if corr not in ("cosine", "mean"):
            raise ValueError(f"corr must be 'cosine' or 'mean', not {corr!r}")
        if synth not in ("unet", "v1"):
            raise ValueError(f"synth must be 'unet' or 'v1', not {synth!r}")
        self.corr_scale = nn.Parameter(torch.tensor(10.0)) if corr == "cosine" else None
        self.encoder = Encoder()
        self.context = conv(64, UpdateBlock.HIDDEN + UpdateBlock.INP, 3, act=False)
        self.update = UpdateBlock()
        if corr == "cosine":  # new networks start as "keep the initial flow" (DIS in inference)
            nn.init.zeros_(self.update.head[-1][0].weight)
            nn.init.zeros_(self.update.head[-1][0].bias)
        self.synth = SynthUNet() if synth == "unet" else None
        if self.synth is None:  # v1 synthesis (interp-gru-v1)
            self.proj4 = conv(32, 16, 1)
            # fusion at 1/4: warped img0/img1 (3+3), warped proj. features (16+16), Ft0/Ft1 (4), t (1)
            self.fusion = nn.Sequential(conv(43, 40), conv(40, 40), conv(40, 40), conv(40, 5, act=False))
            # refinement at 1/2 (pixel-unshuffled fused, warped0, warped1 and mask: 10 ch x 4)
            self.refine = nn.Sequential(conv(40, 24), conv(24, 12, act=False))
            for last in (self.fusion[-1][0], self.refine[-1][0]):
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)

    # -- stage 1+2: features and bidirectional flow ---------------------------------------------
    def features(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder features of a frame already resized to the flow grid (H, W multiples of 8)."""
        return self.encoder(img)

    def flows(self, f8a: torch.Tensor, f8b: torch.Tensor, iters: int,
              init: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Refine the bidirectional flow ``cat(F01, F10)`` (B,4,h,w) at 1/8 for ``iters`` steps.

        Returns the estimate after every iteration (the last one is the result), each in pixels
        of the 1/8 grid. ``init`` (same shape) warm-starts the recurrence.
        """
        b = f8a.shape[0]
        src = torch.cat((f8a, f8b), 0)
        tgt = torch.cat((f8b, f8a), 0)
        h, inp = self.context(src).split((UpdateBlock.HIDDEN, UpdateBlock.INP), 1)
        h, inp = torch.tanh(h), F.relu(inp)
        if init is None:  # flows accumulate in float32 (bf16 cannot hold sub-pixel positions)
            flow = src.new_zeros((2 * b, 2, *src.shape[-2:]), dtype=torch.float32)
        else:
            flow = torch.cat(init.split(2, 1), 0).float()
        out = []
        for _ in range(iters):
            flow = flow.detach()  # as RAFT: each iteration learns its own increment
            corr = local_corr(src, backwarp(tgt, flow), scale=self.corr_scale).to(src.dtype)
            h, delta = self.update(h, inp, corr, flow)
            flow = flow + delta.float()
            out.append(torch.cat(flow.split(b, 0), 1))
        return out

    # -- stage 3: one intermediate frame -----------------------------------------------------
    def synthesize(self, img0: torch.Tensor, img1: torch.Tensor, f4a: torch.Tensor, f4b: torch.Tensor,
                   flow8: torch.Tensor, t: float | torch.Tensor, base: tuple[torch.Tensor, torch.Tensor] | None = None,
                   aux: dict | None = None, acc: torch.Tensor | None = None) -> torch.Tensor:
        """Frame at time ``t`` from full-resolution frames and the pair's 1/8 flow ``cat(F01,F10)``.

        ``f4a``/``f4b`` are the 1/4 features of the flow grid; the full-resolution size may differ
        from 8x the flow grid (``scale`` < 1 or sizes not multiple of 8): flows are rescaled per axis.
        ``base = (full, start8)``: the full-resolution flow the recurrence started from (e.g. DIS,
        (B,4,H,W) px) and its 1/8 version ``start8``; the synthesis then gets ``full`` plus the
        recurrence's correction ``flow8 - start8`` upsampled, instead of the 1/8 flow upsampled
        (which blurs motion boundaries: -0.11 dB against DIS on validation crops).
        ``acc``: the motion's acceleration ``cat(A0, A1)`` (:func:`acceleration`, pixels, any
        resolution) for the quadratic path of :func:`intermediate_flows`; None = straight paths.
        """
        B, _, H, W = img0.shape
        h4, w4 = f4a.shape[-2:]
        if not torch.is_tensor(t):
            t = torch.full((B,), float(t), device=img0.device)
        t = t.to(img0.dtype).view(B, 1, 1, 1)
        if self.synth is not None:
            full = refined_flow(flow8, (H, W), base)
            acc = None if acc is None else resize_flow(acc, (H, W))
            return self.synth(img0, img1, f4a, f4b, full[:, :2], full[:, 2:], t, aux=aux, acc=acc)
        flow4 = F.interpolate(flow8.float(), size=(h4, w4), mode="bilinear", align_corners=False) * 2.0
        f01, f10 = flow4[:, :2], flow4[:, 2:]
        ft0, ft1 = intermediate_flows(f01, f10, t, None if acc is None else resize_flow(acc, (h4, w4)))
        i0 = F.interpolate(img0, size=(h4, w4), mode="bilinear", align_corners=False, antialias=True)
        i1 = F.interpolate(img1, size=(h4, w4), mode="bilinear", align_corners=False, antialias=True)
        p0, p1 = self.proj4(f4a), self.proj4(f4b)
        x = torch.cat((backwarp(i0, ft0), backwarp(i1, ft1), backwarp(p0, ft0), backwarp(p1, ft1),
                       ft0 * 0.25, ft1 * 0.25, t.expand(B, 1, h4, w4)), 1)
        d = self.fusion(x.to(p0.dtype))
        ft0 = ft0 + d[:, 0:2]
        ft1 = ft1 + d[:, 2:4]
        prior = torch.log((1 - t) / t)  # the nearer frame wins a priori
        logit = d[:, 4:5] + prior
        # to full resolution: per-axis scale of the 1/4 grid to the image grid
        sx, sy = W / w4, H / h4
        scale = torch.tensor([sx, sy], device=img0.device, dtype=ft0.dtype).view(1, 2, 1, 1)
        up = lambda z: F.interpolate(z, size=(H, W), mode="bilinear", align_corners=False)  # noqa: E731
        ft0f, ft1f = up(ft0) * scale, up(ft1) * scale
        mask = torch.sigmoid(up(logit))
        w0 = backwarp(img0, ft0f.float())
        w1 = backwarp(img1, ft1f.float())
        fused = mask * w0 + (1 - mask) * w1
        # refinement at 1/2 resolution (pad to even size)
        ph, pw = H % 2, W % 2
        z = torch.cat((fused, w0, w1, mask), 1)
        if ph or pw:
            z = F.pad(z, (0, pw, 0, ph), mode="replicate")
        res = F.pixel_shuffle(self.refine(F.pixel_unshuffle(z, 2).to(p0.dtype)), 2)[:, :, :H, :W]
        return fused + res.float()

    # -- training / convenience ----------------------------------------------------------------
    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: float | torch.Tensor, iters: int = 6,
                scale: float = 1.0, init: torch.Tensor | None = None,
                init_full: torch.Tensor | None = None, aux: dict | None = None
                ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Interpolate a batch. Returns ``(frame_t, flow estimates per iteration)``. ``init``: the
        starting flow ``cat(F01, F10)`` at 1/8 of the flow grid (see :func:`flow_to_grid8`);
        ``init_full``: the same flow at full resolution (synthesis refines it, see
        :meth:`synthesize`); without ``init`` it is computed from ``init_full``. ``aux``: see
        :meth:`SynthUNet.forward` (U-Net synthesis only)."""
        g0, g1 = to_flow_grid(img0, scale), to_flow_grid(img1, scale)
        f4a, f8a = self.features(g0)
        f4b, f8b = self.features(g1)
        if init is None and init_full is not None:
            init = flow_to_grid8(init_full, tuple(g0.shape[-2:]))
        flows = self.flows(f8a, f8b, iters, init=init)
        base = None if init_full is None else (init_full, init)
        return self.synthesize(img0, img1, f4a, f4b, flows[-1], t, base=base, aux=aux), flows


def corr_mode(state: dict) -> str:
    """"cosine" or "mean": the correlation a state dict was trained with (see :class:`InterpNet`)."""
    return "cosine" if "corr_scale" in state else "mean"


def synth_mode(state: dict) -> str:
    """"unet" or "v1": the synthesis stage of a state dict (see :class:`InterpNet`)."""
    return "unet" if any(k.startswith("synth.") for k in state) else "v1"


def arch_of(state: dict) -> dict:
    """``InterpNet(**arch_of(state))`` builds the network a state dict belongs to."""
    return {"corr": corr_mode(state), "synth": synth_mode(state)}


def flow_to_grid8(flow: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """A full-resolution flow (B,C,H,W) in pixels -> 1/8 of the flow grid ``grid``, in pixels of
    that 1/8 grid (area-averaged, scaled per axis; C is 2 or 4, x then y per pair)."""
    h8, w8 = grid[0] // 8, grid[1] // 8
    h, w = flow.shape[-2:]
    out = F.interpolate(flow.float(), size=(h8, w8), mode="area")
    s = torch.tensor([w8 / w, h8 / h] * (flow.shape[1] // 2), device=flow.device).view(1, -1, 1, 1)
    return out * s


def flow_grid_size(h: int, w: int, scale: float = 1.0) -> tuple[int, int]:
    """The size flow is estimated at: ``scale`` times the frame, rounded up to a multiple of 8."""
    return max(8, math.ceil(h * scale / 8) * 8), max(8, math.ceil(w * scale / 8) * 8)


def to_flow_grid(img: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Resize a frame to :func:`flow_grid_size` (a no-op when it already has that size)."""
    h, w = img.shape[-2:]
    size = flow_grid_size(h, w, scale)
    if size == (h, w):
        return img
    return F.interpolate(img, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)
