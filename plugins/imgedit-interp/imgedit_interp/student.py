"""The distilled interpolator (issue 17): a coarse-to-fine estimator of the intermediate flows with
a recurrent (ConvGRU) refiner, trained on a teacher's flows (:mod:`imgedit_interp.teacher`).

For a pair ``I0, I1`` it estimates the two flows from the middle frame (t = 0.5) to each frame,
``cat(Ft0, Ft1)`` (backward warping: ``It(x) = I0(x + Ft0(x))``), with no DIS start:

* a per-frame **encoder** (:class:`FrameEncoder`, 4 channels at full resolution; a video's frame
  is encoded once and serves two pairs);
* a **coarse-to-fine stage** of flow blocks (:class:`FlowBlock`) at 1/16, 1/8, 1/4 and 1/2 of the
  frame, each seeing both frames and their features warped by the flows so far and adding a
  correction (the first sees them unwarped: large motion is found at 1/16, where +-100 px is a
  few cells). The layout is the teacher's (RIFE's IFNet, MIT) minus its finest block, so the
  trainer can start from the teacher's weights (``imgedit train interp-distil --init-teacher``);
  without its finest block it runs in about half the teacher's time;
* a **ConvGRU refiner** at 1/8: each iteration it reads both frames and features warped by the
  current flows (at 1/4, strided to 1/8), updates its hidden state (started from the last
  block's features) and adds a flow correction, upsampled bilinearly; its zero-initialised head
  makes iteration 0 exactly the blocks' estimate;
* a soft **fusion** logit from the refiner's state (zero-initialised: the equal 0.5/0.5 blend the
  measurements favour over RIFE's learned mask).

Other times ``t`` reuse the pair's midpoint flows along straight paths:
``Ft0(t) = 2t Ft0``, ``Ft1(t) = 2(1-t) Ft1``, and the fusion prior ``log((1-t)/t)``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .net import ConvGRU, backwarp, cap_acceleration

SCALES = (16, 8, 4, 2)       #: each block's working scale (the frame shrunk by this, then /4 inside)
WIDTHS = (192, 128, 96, 64)  #: channels of each block (the teacher's)
PAD = 64                     #: frames are padded to a multiple of this (the coarsest block's grid)
FEAT = 4                     #: encoder channels per frame
EXTRA = 8                    #: side channels each block hands the next (with the fusion logit)


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class FrameEncoder(nn.Module):
    """Frame (B,3,H,W) in [0,1] -> (B,FEAT,H,W) features (half-resolution convs, upsampled back)."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 16, 3, 2, 1)
        self.mid = nn.Sequential(_act(), nn.Conv2d(16, 16, 3, 1, 1), _act(), nn.Conv2d(16, 16, 3, 1, 1), _act())
        self.up = nn.ConvTranspose2d(16, FEAT, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.mid(self.down(x)))


class Residual(nn.Module):
    """``act(conv(x) * gain + x)`` with a learned per-channel gain."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.gain = nn.Parameter(torch.ones(1, c, 1, 1))
        self.act = _act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x) * self.gain + x)


class FlowBlock(nn.Module):
    """One coarse-to-fine step: inputs shrunk by ``scale``, two stride-2 convs, eight residual
    convs, a x4 upsampling back to the shrunk grid, then to full size: ``(flow correction in
    pixels (B,4), fusion logit (B,1), side features (B,EXTRA), internal features at scale*4)``."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(cin, c // 2, 3, 2, 1), _act(), nn.Conv2d(c // 2, c, 3, 2, 1), _act())
        self.body = nn.Sequential(*[Residual(c) for _ in range(8)])
        self.up = nn.ConvTranspose2d(c, 4 * (5 + EXTRA), 4, 2, 1)
        nn.init.zeros_(self.up.weight)  # (from scratch: no motion at first; its output is scaled
        nn.init.zeros_(self.up.bias)    # by up to 16, so a random start throws flows far off)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: int):
        x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            x = torch.cat((x, F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear",
                                            align_corners=False) / scale), 1)
        inner = self.body(self.down(x))
        out = F.pixel_shuffle(self.up(inner), 2)
        out = F.interpolate(out, scale_factor=scale, mode="bilinear", align_corners=False)
        return out[:, :4] * scale, out[:, 4:5], out[:, 5:], inner


class Refiner(nn.Module):
    """The ConvGRU update at 1/8: warped frames and features at 1/4 -> motion features at 1/8 ->
    GRU -> flow correction (1/8 grid, full-resolution pixels) and fusion logit."""

    def __init__(self, hidden: int = 48, ctx: int = 64):
        super().__init__()
        cin = 2 * 3 + 2 * FEAT + 4 + 1 + EXTRA
        self.hidden = hidden
        self.start = nn.Conv2d(ctx, hidden, 1)
        self.motion = nn.Sequential(nn.Conv2d(cin, 48, 3, 2, 1), _act(), nn.Conv2d(48, 48, 3, 1, 1), _act())
        self.gru = ConvGRU(hidden, 48)
        self.head = nn.Sequential(nn.Conv2d(hidden, 48, 3, 1, 1), _act(), nn.Conv2d(48, 5, 3, 1, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, h: torch.Tensor, x4: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.gru(h, self.motion(x4))
        return h, self.head(h)


class DistilNet(nn.Module):
    """See the module docstring. ``widths``: channels of the four flow blocks (the teacher's by
    default; the tests use slimmer ones)."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS, hidden: int = 48):
        super().__init__()
        if len(widths) != len(SCALES):
            raise ValueError(f"the student has {len(SCALES)} flow blocks (scales {SCALES}), not {len(widths)}")
        self.widths = tuple(widths)
        self.encoder = FrameEncoder()
        first = 2 * 3 + 2 * FEAT + 1                   # both frames, both features, t
        rest = first + 1 + EXTRA + 4                    # + fusion logit, side features, flow
        self.blocks = nn.ModuleList([FlowBlock(first if i == 0 else rest, c) for i, c in enumerate(widths)])
        self.refiner = Refiner(hidden, widths[-1])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder features of frames (B,3,H,W) in [0,1] (padded to a multiple of :data:`PAD`
        inside). A video's frame is the second of one pair and the first of the next: :meth:`pair`
        takes them back (``feats``) so each frame is encoded once."""
        return self.encoder(_pad(x))

    def pair(self, i0: torch.Tensor, i1: torch.Tensor, iters: int = 2, feats: tuple | None = None) -> dict:
        """The pair's midpoint flows: ``flows`` (B,4,H,W) in pixels, ``logit`` (B,1,H,W) fusion,
        ``seq`` (the full-resolution estimate after each block and each refiner iteration,
        padded size). ``i0``/``i1``: (B,3,H,W) in [0,1], any size; ``feats``:
        ``(features(i0), features(i1))`` when already computed."""
        B, _, H, W = i0.shape
        a, b = _pad(i0), _pad(i1)
        if feats is None:
            fa, fb = self.encoder(torch.cat((a, b), 0)).split(B, 0)
        else:
            fa, fb = feats
        t = a.new_full((B, 1, *a.shape[-2:]), 0.5)
        flow = logit = side = inner = None
        wa, wb, wfa, wfb = a, b, fa, fb
        seq = []
        for block, scale in zip(self.blocks, SCALES):
            x = torch.cat((wa, wb, wfa, wfb, t) if flow is None else (wa, wb, wfa, wfb, t, logit, side), 1)
            d, logit, side, inner = block(x, flow, scale)
            d, logit, side = d.float(), logit.float(), side.float()  # (bf16 autocast: flows add up in fp32)
            flow = d if flow is None else flow + d
            seq.append(flow)
            if len(seq) < len(self.blocks):
                wa, wb, wfa, wfb = _warp4(a, b, fa, fb, flow)
        # the refiner works at 1/4 (reads) and 1/8 (state): frames and features shrunk once
        a4, b4 = F.avg_pool2d(torch.cat((a, fa), 1), 4), F.avg_pool2d(torch.cat((b, fb), 1), 4)
        side4 = F.avg_pool2d(torch.cat((logit, side), 1), 4)
        fusion = flow.new_zeros((B, 1, *a.shape[-2:]))  # RIFE's mask (``logit``) is only an input
        h = torch.tanh(self.refiner.start(inner))
        for _ in range(iters):
            f4 = F.avg_pool2d(flow, 4) / 4
            x4 = torch.cat((backwarp(a4, f4[:, :2]), backwarp(b4, f4[:, 2:]), f4, side4), 1)
            h, out = self.refiner(h, x4)
            up = F.interpolate(out, scale_factor=8, mode="bilinear", align_corners=False)
            flow = flow + up[:, :4].float() * 8
            fusion = fusion + up[:, 4:5].float()
            seq.append(flow)
        return {"flows": flow[:, :, :H, :W], "logit": fusion[:, :, :H, :W], "seq": seq}

    @staticmethod
    def synthesize(i0: torch.Tensor, i1: torch.Tensor, est: dict, t: float | torch.Tensor = 0.5,
                   acc: torch.Tensor | None = None) -> torch.Tensor:
        """The frame at ``t`` from a pair's :meth:`pair` result: straight paths off the midpoint,
        or, with ``acc`` (:func:`acceleration`), paths bent by that constant acceleration."""
        B = i0.shape[0]
        if not torch.is_tensor(t):
            t = torch.full((B,), float(t), device=i0.device)
        t = t.float().view(B, 1, 1, 1)
        fl = est["flows"].float()
        bend = 0.0 if acc is None else t * (1 - t) / 2 * acc
        w0 = backwarp(i0, fl[:, :2] * (2 * t) + bend)
        w1 = backwarp(i1, fl[:, 2:] * (2 * (1 - t)) + bend)
        m = torch.sigmoid(est["logit"].float() + torch.log((1 - t) / t))
        return m * w0.float() + (1 - m) * w1.float()

    def forward(self, i0, i1, t=0.5, iters: int = 2):
        est = self.pair(i0, i1, iters)
        return self.synthesize(i0, i1, est, t), est


def acceleration(flows: torch.Tensor, prev: torch.Tensor | None, nxt: torch.Tensor | None) -> torch.Tensor | None:
    """The motion's acceleration (B,2,H,W, px per frame^2) at each midpoint pixel of a pair, from
    its midpoint flows ``flows = cat(Ft0, Ft1)`` and those of the pair before (frames -1, 0) and
    after it (1, 2) on the same video (None where there is none: a scene start or end).

    Each pair's motion is ``m = Ft1 - Ft0`` (frame 0 -> frame 1 through the midpoint pixel). The
    point seen at midpoint ``p`` was at ``p + Ft0`` in frame 0, so the previous pair's midpoint
    for it is about ``p + Ft0 - m/2`` and the next pair's ``p + Ft1 + m/2``: their motions are
    read there, and the acceleration is their central difference (one-sided with one neighbour).
    A constant acceleration ``a`` puts the point at time t ``t (1-t) / 2 * a`` off the straight
    path (QVI's quadratic model; :meth:`DistilNet.synthesize`). Capped as the DIS-start model's
    (:func:`~imgedit_interp.net.cap_acceleration`)."""
    if prev is None and nxt is None:
        return None
    ft0, ft1 = flows[:, :2].float(), flows[:, 2:].float()
    m = ft1 - ft0
    mp = None if prev is None else backwarp(prev[:, 2:] - prev[:, :2], ft0 - m / 2)
    mn = None if nxt is None else backwarp(nxt[:, 2:] - nxt[:, :2], ft1 + m / 2)
    a = (mn - mp) / 2 if mp is not None and mn is not None else (mn - m if mn is not None else m - mp)
    return cap_acceleration(a, m)


def _pad(x: torch.Tensor) -> torch.Tensor:
    H, W = x.shape[-2:]
    return F.pad(x, (0, -(-W // PAD) * PAD - W, 0, -(-H // PAD) * PAD - H))


def _warp4(a, b, fa, fb, flow):
    """Both frames and both feature maps warped by ``flow`` = cat(Ft0, Ft1)."""
    f0, f1 = flow[:, :2], flow[:, 2:]
    w = backwarp(torch.cat((a, fa), 1), f0), backwarp(torch.cat((b, fb), 1), f1)
    return w[0][:, :3], w[1][:, :3], w[0][:, 3:], w[1][:, 3:]


def flow_sequence_loss(seq: list[torch.Tensor], target: torch.Tensor, gamma: float = 0.8) -> torch.Tensor:
    """RAFT-style flow regression against the teacher's ``target`` (B,4,H,W) px: the L1 of every
    estimate in ``seq`` (full resolution, possibly padded beyond the target) weighted
    ``gamma ** (n - 1 - i)`` (later estimates weigh more), in pixels / 8. Zero when every
    estimate is the teacher's own flow."""
    H, W = target.shape[-2:]
    n = len(seq)
    return sum(gamma ** (n - 1 - i) * (f[:, :, :H, :W].float() - target.float()).abs().mean() for i, f in enumerate(seq)) / 8
