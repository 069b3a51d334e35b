"""``interp.gru``: the :class:`~imgedit.api.ImageModel` behind ``imgedit interpolate``.

Frame-rate conversion (which output times exist, what happens at cuts) is
:func:`imgedit.sequence.retime`'s job; this model only supplies ``interpolate(a, b, t)``. Per pair
of input frames it computes encoder features and the bidirectional flow once (a ×4 or ×8
conversion asks for several ``t`` of the same pair: they reuse the cache), and the features of
``b`` are reused as the features of ``a`` of the next pair.

The shipped weights (interp-gru-v4) are the distilled student (:mod:`imgedit_interp.student`):
coarse-to-fine flow blocks and a ConvGRU refiner estimate each pair's midpoint flows; along a
video the paths bend by the acceleration from the neighbouring pairs (:meth:`GRUInterp._student_frame`).
The rest of this docstring describes the DIS-start layout (v1-v3 files, still loadable).

With DIS-start weights every pair starts from its
own OpenCV DIS flow (``init=dis``), which the recurrence (``iters`` iterations) and the synthesis
(at full resolution) refine; ``init=zero`` starts from zero motion with ``2 * iters`` iterations.
With ``warm=True`` a pair instead starts from the previous pair's refined flow (no DIS per pair);
interp-gru-v3 was trained from DIS starts only, so warm starts cost 3 dB there (BENCHMARKS.md) and
are off by default.

What the sequence form carries by default (``motion=quadratic``) is the motion around the pair:
the previous pair's DIS flow back to the frame before ``a``, and (one frame of look-ahead in
:meth:`GRUInterp.edit_sequence`) the DIS flow from ``b`` to the frame after it, which is the next
pair's F01, so no flow is computed twice. From them the in-between positions follow a
constant-acceleration path (:func:`~imgedit_interp.net.acceleration`): +0.44 dB on sample_video.
State, look-ahead included, is dropped at every scene start (``Frame.scene_start``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Iterator

import torch

from imgedit.api import Frame, ImageModel, ModelContext
from imgedit.sequence import interpolate_frames, target_rate

from .net import InterpNet, acceleration, arch_of, flow_to_grid8, refined_flow, resize_flow, to_flow_grid


def dis(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """OpenCV DIS flow ``a -> b`` (1,2,H,W) in pixels between two (1,3,H,W) frames."""
    from .data import dis_flow

    def rgb8(x):
        return (x[0].float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype("uint8")

    return dis_flow(rgb8(a), rgb8(b))[None].to(a.device)


def dis_start(a: torch.Tensor, b: torch.Tensor, f01: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """OpenCV DIS flows ``cat(F01, F10)`` between two (1,3,H,W) frames already on the flow grid:
    ``(full, start8)`` = the flows at the grid's resolution (pixels) and at 1/8 of it, in pixels
    of the 1/8 grid (the recurrence's units). ``f01``: F01 when it is already known."""
    full = torch.cat((dis(a, b) if f01 is None else f01, dis(b, a)), 1)
    return full, flow_to_grid8(full, tuple(a.shape[-2:]))


def is_student(tensors) -> bool:
    """Whether a weight file is the distilled interpolator (:mod:`imgedit_interp.student`)."""
    return any(k.startswith("refiner.") for k in tensors)


def load_net(tensors: dict):
    """The network of ``tensors`` (fp16 or fp32) in eval mode, loaded as float32: an
    :class:`InterpNet` (interp-gru-v1..v3), or a :class:`~imgedit_interp.student.DistilNet`."""
    if is_student(tensors):
        from .student import DistilNet

        n = len({k.split(".")[1] for k in tensors if k.startswith("blocks.")})
        net = DistilNet(widths=tuple(int(tensors[f"blocks.{i}.down.2.weight"].shape[0]) for i in range(n)),
                        hidden=int(tensors["refiner.start.weight"].shape[0]))
    else:
        net = InterpNet(**arch_of(tensors))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.eval()


@dataclass
class _PairCache:
    """What the model keeps between calls (dropped at scene starts)."""

    feat_index: int | None = None      #: index of the frame whose features are in ``feats``
    feats: tuple | None = None          #: (f4, f8) of that frame
    pair: tuple[int, int] | None = None  #: (a.index, b.index) the flow below belongs to
    flow: torch.Tensor | None = None    #: cat(F01, F10) at 1/8 of the flow grid
    base: tuple | None = None           #: (full-resolution flow, its 1/8 version) the flow refines
    acc: torch.Tensor | None = None     #: the pair's acceleration cat(A0, A1) (quadratic motion)
    ahead: tuple | None = None          #: (index, next index, DIS flow between them): the next pair's F01
    #: (the student's: (index, next index, that pair's estimate, the next frame's features))
    feats_a: tuple | None = None
    stats: dict = field(default_factory=lambda: {"pairs": 0, "cold": 0, "warm": 0, "resets": 0})


class GRUInterp(ImageModel):
    """Recurrent flow-refinement interpolator (see :mod:`imgedit_interp.net`)."""

    def __init__(self, ctx: ModelContext):
        super().__init__(ctx)
        self.net = load_net(ctx.load_weights("interp")).to(ctx.device)
        self.cache = _PairCache()
        self._next: dict[int, Frame] = {}  #: edit_sequence's look-ahead: frame index -> the next frame of its scene

    @property
    def student(self) -> bool:
        """Distilled weights (:class:`~imgedit_interp.student.DistilNet`): no DIS, midpoint flows."""
        return not isinstance(self.net, InterpNet)

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything carried from earlier frames (called at every scene start)."""
        stats = self.cache.stats
        stats["resets"] += 1
        self.cache = _PairCache(stats=stats)

    @property
    def stats(self) -> dict:
        """Counters: pairs whose flow was estimated, how many cold/warm-started, state resets."""
        return self.cache.stats

    # -- one pair -----------------------------------------------------------------------------
    def _features(self, frame: Frame, scale: float):
        c = self.cache
        if c.feat_index == frame.index and c.feats is not None:
            return c.feats
        return self.net.features(to_flow_grid(frame.image, scale))

    def interpolate(self, a: Frame, b: Frame, t: float, iters: int = 4, scale: float = 1.0,
                    init: str = "dis", warm: bool = False, motion: str = "quadratic") -> torch.Tensor:
        """The frame at time ``t`` in (0,1) between frames ``a`` and ``b`` (same scene).

        ``init`` chooses the cold-start flow: ``zero`` or ``dis`` (OpenCV DIS flow at the flow
        grid's resolution, refined by the recurrence and, at full resolution, by the synthesis).
        With ``warm`` a pair that follows the previous one starts from that pair's refined flow;
        otherwise every pair cold-starts. Starts from a flow run ``iters`` iterations, zero starts
        ``2 * iters``.

        ``motion="quadratic"`` (DIS starts): where the pair's neighbouring frames are known (the
        previous pair of the same scene, and the next frame from :meth:`edit_sequence`'s look-ahead)
        the in-between positions follow a constant-acceleration path estimated from the DIS flows
        to those neighbours (:func:`~imgedit_interp.net.acceleration`); ``linear``: straight paths.
        Costs no extra flow per pair: the flow to the next frame is the next pair's F01.

        Distilled weights (:class:`~imgedit_interp.student.DistilNet`) estimate the pair's
        midpoint flows coarse to fine, then refine them in ``iters`` ConvGRU iterations (``init``
        and ``warm`` do not apply); ``motion`` as above, from the neighbouring pairs' estimates."""
        c = self.cache
        if self.student:
            return self._student_frame(a, b, t, iters, scale, motion)
        if c.pair != (a.index, b.index):
            ga, gb = to_flow_grid(a.image, scale), to_flow_grid(b.image, scale)
            fa = self._features(a, scale)
            fb = self.net.features(gb)
            follows = c.pair is not None and c.pair[1] == a.index
            is_warm = warm and follows and c.flow is not None
            acc = None
            if is_warm:
                base = (refined_flow(c.flow, ga.shape[-2:], c.base), c.flow) if c.base else None
                start = c.flow
            elif init == "dis":
                known = c.ahead[2] if c.ahead is not None and c.ahead[:2] == (a.index, b.index) else None
                prev_base = c.base if follows and not warm else None
                base = dis_start(ga, gb, known)
                start = base[1]
                nxt = self._next.get(b.index)
                c.ahead = None
                if motion == "quadratic":
                    f1n = None
                    if nxt is not None:
                        f1n = dis(gb, to_flow_grid(nxt.image, scale))
                        c.ahead = (b.index, nxt.index, f1n)
                    f0p = prev_base[0][:, 2:] if prev_base is not None else None
                    acc = acceleration(base[0][:, :2], base[0][:, 2:], f0p, f1n)
            else:
                base, start = None, None
            flow = self.net.flows(fa[1], fb[1], iters if start is not None else 2 * iters, init=start)[-1]
            c.stats["pairs"] += 1
            c.stats["warm" if is_warm else "cold"] += 1
            c.pair, c.flow, c.base, c.acc, c.feats_a = (a.index, b.index), flow, base, acc, fa
            c.feat_index, c.feats = b.index, fb
        fa, fb = c.feats_a, c.feats
        out = self.net.synthesize(a.image, b.image, fa[0], fb[0], c.flow, t, base=c.base, acc=c.acc)
        return out.float().clamp(0, 1)

    def _student_pair(self, a: torch.Tensor, b: torch.Tensor, iters: int, scale: float,
                      fa: tuple | None = None) -> tuple[dict, tuple]:
        """The student's midpoint estimate for frames (1,3,H,W) estimated at ``scale`` of their
        size (flows and fusion logit brought back to full resolution), and ``b``'s
        :meth:`~imgedit_interp.student.DistilNet.features` (the next pair's ``fa``)."""
        h, w = a.shape[-2:]
        a, b = a.float(), b.float()
        ga, gb = (a, b) if scale >= 1.0 else (to_flow_grid(a, scale), to_flow_grid(b, scale))
        # fp32 even under bf16 autocast: bf16 measured slower for this network on CPU (480p x2:
        # 6.49 vs 6.96 output fps, BENCHMARKS.md), and its flows add up over five stages
        with torch.autocast(a.device.type, enabled=False):
            fb = self.net.features(gb)
            est = self.net.pair(ga, gb, iters, feats=(fa if fa is not None else self.net.features(ga), fb))
        if ga.shape[-2:] != (h, w):
            est = {"flows": resize_flow(est["flows"], (h, w)),
                   "logit": torch.nn.functional.interpolate(est["logit"], size=(h, w), mode="bilinear",
                                                            align_corners=False)}
        return est, fb

    def _student_frame(self, a: Frame, b: Frame, t: float, iters: int, scale: float, motion: str) -> torch.Tensor:
        """The student's frame at ``t``. With ``motion="quadratic"`` the pair's paths bend by the
        acceleration from the pairs before and after it (:func:`~imgedit_interp.student.acceleration`):
        the next pair (one frame of :meth:`edit_sequence`'s look-ahead) is estimated now and
        its estimate kept for when it comes, so no pair is estimated twice."""
        from .student import acceleration

        c = self.cache
        if c.pair != (a.index, b.index):
            prev = c.flow["flows"] if c.pair is not None and c.pair[1] == a.index and c.flow is not None else None
            if c.ahead is not None and c.ahead[:2] == (a.index, b.index):
                est, fb = c.ahead[2], c.ahead[3]
            else:
                known = c.feats if c.feat_index == a.index else None  # a was the previous pair's b: encoded once
                est, fb = self._student_pair(a.image, b.image, iters, scale, fa=known)
                c.stats["pairs"] += 1
                c.stats["cold"] += 1
            c.ahead, nxt_flows = None, None
            nxt = self._next.get(b.index) if motion == "quadratic" else None
            if nxt is not None:
                nest, fn = self._student_pair(b.image, nxt.image, iters, scale, fa=fb)
                c.stats["pairs"] += 1
                c.stats["cold"] += 1
                c.ahead, nxt_flows = (b.index, nxt.index, nest, fn), nest["flows"]
            c.acc = acceleration(est["flows"], prev, nxt_flows) if motion == "quadratic" else None
            c.flow, c.feats, c.feat_index, c.pair = est, fb, b.index, (a.index, b.index)
        return self.net.synthesize(a.image.float(), b.image.float(), c.flow, t, acc=c.acc).clamp(0, 1)

    # -- the ImageModel API -----------------------------------------------------------------
    def flow(self, a: torch.Tensor, b: torch.Tensor, iters: int = 4, scale: float = 1.0, init: str = "dis",
             **_) -> torch.Tensor:
        """Optical flow ``a -> b`` (the ``flow`` service): the recurrence's F01 for the pair (cold
        start, ``2 * iters`` iterations) as (B,2,H,W) pixels. With ``init=dis`` it is the
        full-resolution DIS flow plus the recurrence's correction (estimated at 1/8, upsampled);
        with ``init=zero`` the 1/8 estimate upsampled."""
        h, w = a.shape[-2:]
        outs = []
        if self.student:  # the motion through each midpoint pixel, Ft1 - Ft0 (shifted by half of it)
            for i in range(a.shape[0]):
                fl = self._student_pair(a[i:i + 1], b[i:i + 1], 2 * iters, scale)[0]["flows"]
                outs.append(fl[:, 2:] - fl[:, :2])
            return torch.cat(outs)
        for i in range(a.shape[0]):
            ga, gb = to_flow_grid(a[i:i + 1], scale), to_flow_grid(b[i:i + 1], scale)
            base = dis_start(ga, gb) if init == "dis" else None
            f8 = self.net.flows(self.net.features(ga)[1], self.net.features(gb)[1], 2 * iters,
                                init=None if base is None else base[1])[-1]
            outs.append(resize_flow(refined_flow(f8, ga.shape[-2:], base)[:, :2], (h, w)))
        return torch.cat(outs)

    def output_rate(self, input_rate: Fraction, factor=2, fps=None, **_) -> Fraction:
        return target_rate(input_rate, factor, fps)

    def edit_sequence(self, frames: Iterable[Frame], factor=2, fps=None, scale=1.0, iters=4,
                      init="dis", warm=False, motion="quadratic", **_) -> Iterator[Frame]:
        self.cache = _PairCache()  # a new sequence: nothing carries over, counters restart
        self._next = {}
        # state is dropped at every scene start (the first frame of a sequence is one too)
        yield from interpolate_frames(
            self._look_ahead(frames),
            lambda a, b, t: self.interpolate(a, b, t, iters=iters, scale=scale, init=init, warm=warm, motion=motion),
            factor, fps, on_scene_start=lambda fr: self.reset())

    def _look_ahead(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        """Pass ``frames`` on one frame late, recording in ``self._next`` which frame follows each
        one inside its scene (the quadratic motion model's right-hand neighbour)."""
        prev = None
        for fr in frames:
            if prev is not None:
                if not fr.scene_start:
                    self._next[prev.index] = fr
                self._next.pop(prev.index - 2, None)
                yield prev
            prev = fr
        if prev is not None:
            yield prev
