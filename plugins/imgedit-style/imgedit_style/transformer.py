"""Johnson et al. (2016) feed-forward style network, with tile-safe instance normalisation.

Architecture (``width`` = w, default 32 as in the paper)::

    reflect-pad conv 9x9 w  -> IN -> ReLU
    conv 3x3 2w stride 2    -> IN -> ReLU
    conv 3x3 4w stride 2    -> IN -> ReLU
    ``blocks`` x residual (conv 3x3 4w, IN, ReLU, conv 3x3 4w, IN) + skip
    nearest x2 + conv 3x3 2w -> IN -> ReLU
    nearest x2 + conv 3x3 w  -> IN -> ReLU
    conv 9x9 3 -> sigmoid        (output in [0, 1])

Upsampling is nearest-neighbour + convolution (no checkerboard artefacts). Input is any
``(B, 3, H, W)`` in [0, 1]; the output has the input's size (odd sizes are padded internally).

**Tiling.** Instance normalisation uses per-image statistics, so running tiles independently
would give each tile its own colours. :class:`StatsNorm` can *record* the statistics of a pass
over a (downscaled) copy of the whole image and *replay* them on every tile; :func:`run_tiled`
does that, so a tiled result matches the untiled one up to the tile-border effects that the
overlap blending of :func:`imgedit.tiling.tiled` removes.
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from imgedit.tiling import tiled


class StatsNorm(nn.Module):
    """Affine instance norm whose statistics can be recorded once and replayed (see module doc)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps
        self.mode = "instance"  # instance | record | replay
        self.saved: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "replay":
            assert self.saved is not None, "StatsNorm: replay without recorded statistics"
            mean, var = self.saved
            # statistics in float32, applied as one per-channel multiply-add in the input's dtype
            scale = torch.rsqrt(var + self.eps) * self.weight.view(1, -1, 1, 1).float()
            shift = self.bias.view(1, -1, 1, 1).float() - mean * scale
            return torch.addcmul(shift.to(x.dtype), x, scale.to(x.dtype))
        # Instance norm = batch norm of each image on its own. ATen's batch-norm kernel reduces
        # channels-last (and bf16) tensors ~10x faster than var_mean over (H, W) (measured on
        # CPU), and its backward is fused too. Statistics are accumulated in float32.
        record = self.mode == "record"
        outs, means, variances = [], [], []
        for xi in x.split(1):
            rm = torch.zeros(x.shape[1], device=x.device) if record else None
            rv = torch.ones(x.shape[1], device=x.device) if record else None
            w, b = (self.weight.float(), self.bias.float()) if record else (self.weight, self.bias)  # float stats
            outs.append(F.batch_norm(xi, rm, rv, w, b, training=True, momentum=1.0, eps=self.eps))
            if record:
                n = xi.shape[2] * xi.shape[3]
                means.append(rm.view(1, -1, 1, 1))
                variances.append((rv * ((n - 1) / n) if n > 1 else rv.zero_()).view(1, -1, 1, 1))
        if record:
            self.saved = (torch.cat(means), torch.cat(variances))
        return outs[0] if len(outs) == 1 else torch.cat(outs)


class ConvLayer(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride))


class ResidualBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1, self.in1 = ConvLayer(c, c, 3), StatsNorm(c)
        self.conv2, self.in2 = ConvLayer(c, c, 3), StatsNorm(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        return x + self.in2(self.conv2(y))


def upsample2_reflect_pad1(x: torch.Tensor) -> torch.Tensor:
    """``F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect")``
    in one pass, written straight into a channels-last buffer (inference only: no autograd).
    At 1080p it replaces two full-resolution passes (~60 ms of the fast network's ~1 s)."""
    b, c, h, w = x.shape
    out = torch.empty((b, c, 2 * h + 2, 2 * w + 2), dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last)
    inner = out[:, :, 1:2 * h + 1, 1:2 * w + 1].unflatten(2, (h, 2)).unflatten(4, (w, 2))
    inner.copy_(x[:, :, :, None, :, None].expand(b, c, h, 2, w, 2))
    # reflect by one pixel: padded[-1] = up[1] = x[0] = up[0], so copy the first/last inner line
    out[:, :, :, 0] = out[:, :, :, 2]
    out[:, :, :, 2 * w + 1] = out[:, :, :, 2 * w - 1]
    out[:, :, 0] = out[:, :, 2]
    out[:, :, 2 * h + 1] = out[:, :, 2 * h - 1]
    return out


class UpConv(nn.Module):
    """x2 upsampling then a 3x3 convolution: ``nearest`` (the first networks) or ``bilinear``
    (smoother: nearest doubling twice leaves a 4 px grid on flat areas, BENCHMARKS.md)."""

    def __init__(self, cin: int, cout: int, mode: str = "nearest"):
        super().__init__()
        self.conv = ConvLayer(cin, cout, 3)
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "bilinear":
            return self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        if torch.is_grad_enabled() and (x.requires_grad or self.conv[1].weight.requires_grad):
            return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))
        return self.conv[1](upsample2_reflect_pad1(x))


class TransformerNet(nn.Module):
    """The fast style network. ``width`` and ``blocks`` are read back from a state dict by
    :meth:`from_state_dict`, so exported files are self-describing."""

    UPSAMPLE_MODES = ("nearest", "bilinear")

    def __init__(self, width: int = 32, blocks: int = 5, upsample: str = "nearest"):
        super().__init__()
        if upsample not in self.UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {self.UPSAMPLE_MODES}, not {upsample!r}")
        w = width
        self.width, self.blocks, self.upsample = width, blocks, upsample
        self.down = nn.Sequential(
            ConvLayer(3, w, 9), StatsNorm(w), nn.ReLU(inplace=True),
            ConvLayer(w, 2 * w, 3, 2), StatsNorm(2 * w), nn.ReLU(inplace=True),
            ConvLayer(2 * w, 4 * w, 3, 2), StatsNorm(4 * w), nn.ReLU(inplace=True),
        )
        self.res = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(blocks)])
        self.up = nn.Sequential(
            UpConv(4 * w, 2 * w, upsample), StatsNorm(2 * w), nn.ReLU(inplace=True),
            UpConv(2 * w, w, upsample), StatsNorm(w), nn.ReLU(inplace=True),
            ConvLayer(w, 3, 9),
        )
        if upsample != "nearest":  # (files of nearest networks have no such key: they load as before)
            self.register_buffer("upsample_mode", torch.tensor([self.UPSAMPLE_MODES.index(upsample)]), persistent=True)

    @property
    def arch(self) -> str:
        """Architecture name for run folders and model cards, e.g. ``transformer-w16-b5-bilinear``."""
        return f"transformer-w{self.width}-b{self.blocks}" + ("" if self.upsample == "nearest" else f"-{self.upsample}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        y = (x - 0.5) * 2.0
        if ph or pw:
            y = F.pad(y, (0, pw, 0, ph), mode="reflect" if min(h, w) > max(ph, pw) else "replicate")
        y = self.up(self.res(self.down(y)))
        return torch.sigmoid(y[:, :, :h, :w].float())

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "TransformerNet":
        width = int(state["down.0.1.weight"].shape[0])
        blocks = len({k.split(".")[1] for k in state if k.startswith("res.")})
        mode = cls.UPSAMPLE_MODES[int(state["upsample_mode"].reshape(-1)[0])] if "upsample_mode" in state else "nearest"
        net = cls(width, blocks, mode)
        net.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}, strict=True)
        return net.eval().requires_grad_(False)

    @contextlib.contextmanager
    def norm_mode(self, mode: str):
        norms = [m for m in self.modules() if isinstance(m, StatsNorm)]
        old = [n.mode for n in norms]
        for n in norms:
            n.mode = mode
        try:
            yield
        finally:
            for n, m in zip(norms, old):
                n.mode = m
                if m != "replay" and mode == "replay":
                    n.saved = None


def run_tiled(net: TransformerNet, x: torch.Tensor, tile_pixels: int, *, stats_pixels: int | None = None,
              overlap: int = 64) -> torch.Tensor:
    """``net(x)``, tiled when H*W > tile_pixels, with instance-norm statistics shared by all tiles.

    The statistics come from one pass over ``x`` downscaled to at most ``stats_pixels`` pixels
    (default: ``max(tile_pixels, 1 Mpx)``; at most ``H*W``, i.e. exact when the image fits).
    """
    h, w = x.shape[-2:]
    if h * w <= tile_pixels:
        return net(x)
    stats_pixels = min(h * w, stats_pixels or max(tile_pixels, 1 << 20))
    s = math.sqrt(stats_pixels / (h * w))
    small = x if s >= 1 else F.interpolate(x.float(), size=(max(8, round(h * s)), max(8, round(w * s))),
                                            mode="bilinear", align_corners=False, antialias=True).to(x.dtype)
    out: torch.Tensor
    with net.norm_mode("record"):
        net(small)
    with net.norm_mode("replay"):
        tile = max(int(math.isqrt(tile_pixels)), 2 * overlap + 32)
        out = tiled(net, x, tile=tile, overlap=overlap)
    return out


class RowSplitConv(nn.Module):
    """A k x k convolution with few output channels, computed as a 1 x k convolution to k*cout
    channels (one group per kernel row) followed by a fixed k x 1 selection convolution that
    sums the rows. Same result up to one rounding of the intermediate; oneDNN runs the wide
    1 x k convolution far better than a 3-channel output (measured at 1080p, bf16, 2 cores:
    the fast network's last 9x9 layer 191 -> 123 ms)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        cout, cin, k, k2 = conv.weight.shape
        assert k == k2 and conv.stride == (1, 1) and conv.padding == (0, 0) and conv.groups == 1
        w = conv.weight.detach()
        rows = w.permute(2, 0, 1, 3).reshape(k * cout, cin, 1, k)  # channel dy*cout + c: row dy of out c
        select = torch.zeros(cout, k * cout, k, 1, dtype=w.dtype, device=w.device)
        for dy in range(k):
            select[torch.arange(cout), dy * cout + torch.arange(cout), dy, 0] = 1
        self.register_buffer("rows", rows.contiguous(memory_format=torch.channels_last))
        self.register_buffer("select", select.contiguous(memory_format=torch.channels_last))
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, self.rows), self.select, self.bias)


def for_inference(net: TransformerNet, device=None, dtype: torch.dtype | None = None) -> TransformerNet:
    """The network as the plugin runs it: weights already in the autocast ``dtype`` (no per-call
    weight casts), channels-last (oneDNN's fast layout on CPU), and the last 9x9 layer as a
    :class:`RowSplitConv` (only for a :class:`TransformerNet`)."""
    net = net.eval().requires_grad_(False).to(device, dtype=dtype, memory_format=torch.channels_last)
    if isinstance(net, TransformerNet) and isinstance(net.up[-1][1], nn.Conv2d):
        net.up[-1][1] = RowSplitConv(net.up[-1][1])
    return net


def run_native(fn, x: torch.Tensor | dict[str, torch.Tensor], dtype: torch.dtype | None = None):
    """``fn(x)`` for a :func:`for_inference` network: ``x`` (a tensor or a dict of them) in the
    weights' ``dtype`` (float32 when None) and channels-last, with autocast *off*. The weights are already in that dtype, and
    autocast's CPU policy computes ``reflection_pad2d`` in float32, which turned every padding
    into a bf16->fp32 copy and every convolution input back into a fp32->bf16 copy (measured:
    fast network at 1080p 1.64 s -> 0.95 s, 2 cores)."""
    def native(t: torch.Tensor) -> torch.Tensor:
        return t.to(dtype or torch.float32).contiguous(memory_format=torch.channels_last)

    if isinstance(x, dict):  # {tap: features} for a multi-level decoder
        with torch.autocast(device_type=next(iter(x.values())).device.type, enabled=False):
            return fn({k: native(v) for k, v in x.items()})
    with torch.autocast(device_type=x.device.type, enabled=False):
        return fn(native(x))


#: Reflected margin (pixels) around the image for the fast networks and the arbitrary method's
#: decoder, cropped off afterwards (:func:`with_margin`).
EDGE_MARGIN = 16


def with_margin(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, margin: int = EDGE_MARGIN) -> torch.Tensor:
    """``fn`` on ``x`` (B,C,H,W) with a reflected margin of ``margin`` px, cropped off again: the
    networks see where the picture ends, and some learned to paint a painting's printed border
    there (the wave network's bright stripes along the top edge; the arbitrary decoder trained on
    crops of paintings, a dark band); in the margin it falls outside the result (16 px: 5x less
    edge change than none at 512 px; +5% time at 1080p for the fast networks)."""
    h, w = x.shape[-2:]
    m = min(margin, h - 1, w - 1)
    if m <= 0:
        return fn(x)
    return fn(F.pad(x, (m, m, m, m), mode="reflect"))[..., m:m + h, m:m + w]


def run_fast(net: TransformerNet, x: torch.Tensor, tile_pixels: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Run a :func:`for_inference` network on ``x`` (B,3,H,W) in [0,1] (see :func:`run_native`)
    with an :data:`EDGE_MARGIN` (:func:`with_margin`); float32 result. The caller provides
    ``torch.inference_mode()`` (the runner does)."""
    return with_margin(lambda z: run_native(lambda t: run_tiled(net, t, tile_pixels), z, dtype).float(), x)
