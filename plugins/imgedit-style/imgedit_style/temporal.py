"""Temporal consistency for stylised video: optical flow, warping, occlusion masks.

The flow comes from a model of the ``flow`` task, found through the public API
(``imgedit.load_model(task="flow")``): the best installed one, or the one the ``flow`` option
names. imgedit's built-in ``classic.flow`` (OpenCV DIS) is always there; a plugin that registers
a better flow model with a higher priority is used without any change here.

For frame ``t`` the previous *output* is warped into frame ``t`` along the backward flow of the
*input* frames and blended with the freshly stylised frame where the motion is reliable::

    out_t = (1 - a * m) * stylised_t + a * m * warp(out_{t-1}, flow_{t->t-1})

``m`` is 1 where the forward and backward flows agree (Ruder et al. 2016's check:
``|f_b + f_f(x + f_b)|^2 <= 0.01 (|f_b|^2 + |f_f(x + f_b)|^2) + 0.5``) and the warped position is
inside the frame, 0 at disocclusions and motion boundaries (softened by a small blur). ``a`` is
the ``temporal`` option. Because the blend is recursive, it acts as an exponential moving average
along motion trajectories: stable where things move coherently, fresh where they appear.

:func:`warping_error` is the metric of the benchmark: the masked mean squared difference between
each output frame and the previous output frame warped into it (lower = less flicker).
"""
from __future__ import annotations

import numpy as np
import torch


class FlowEstimator:
    """A ``flow`` model behind a numpy interface: ``flow(a, b)`` for frames (1,3,H,W) in [0,1]
    returns (H,W,2) float32 with ``a(p) ~ b(p + flow(p))``. ``model``: a model name, or "auto"
    for the best installed model of the ``flow`` task."""

    def __init__(self, model: str = "auto", device: str = "cpu"):
        import imgedit

        self.model = imgedit.load_model(None if model == "auto" else model, device=device, task="flow")

    @property
    def name(self) -> str:
        return self.model.name

    def flow(self, a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
        return self.model.flow(a, b)[0].permute(1, 2, 0).cpu().numpy()


def _grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out(p) = img(p + flow(p))`` (bilinear, border replicated); img (H,W) or (H,W,C) float32."""
    import cv2

    mx, my = _grid(flow)
    return cv2.remap(img, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistency_mask(flow_back: np.ndarray, flow_fwd: np.ndarray, soften: int = 3) -> np.ndarray:
    """(H,W) float32 in [0,1]: 1 where ``flow_back`` (t->t-1) and ``flow_fwd`` (t-1->t) agree."""
    import cv2

    h, w = flow_back.shape[:2]
    fwd_at = warp(flow_fwd, flow_back)  # f_f evaluated at p + f_b(p)
    s = flow_back + fwd_at
    err = (s ** 2).sum(-1)
    bound = 0.01 * ((flow_back ** 2).sum(-1) + (fwd_at ** 2).sum(-1)) + 0.5
    mx, my = _grid(flow_back)
    inside = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    m = ((err <= bound) & inside).astype(np.float32)
    if soften > 0:
        m = cv2.erode(m, np.ones((soften, soften), np.uint8))
        m = cv2.GaussianBlur(m, (0, 0), soften / 2)
    return m


class TemporalBlender:
    """Stateful blender for one sequence; call :meth:`reset` at scene starts."""

    def __init__(self, alpha: float = 0.7, flow: FlowEstimator | None = None):
        self.alpha = float(alpha)
        self.flow = flow or FlowEstimator()
        self.reset()

    def reset(self) -> None:
        self._prev_in: torch.Tensor | None = None
        self._prev_out: np.ndarray | None = None
        self._pending: tuple[np.ndarray, np.ndarray] | None = None

    def prepare(self, frame: torch.Tensor) -> np.ndarray | None:
        """Compute the flows for input ``frame`` (1,3,H,W); returns the previous output warped into
        it (H,W,3 float32) or None at a scene start. Call :meth:`blend` next."""
        frame = frame.detach().float()
        self._in = frame
        if self._prev_in is None or self._prev_in.shape != frame.shape or self._prev_out is None:
            self._pending = None
            return None
        fb = self.flow.flow(frame, self._prev_in)
        ff = self.flow.flow(self._prev_in, frame)
        mask = consistency_mask(fb, ff)
        warped = warp(self._prev_out, fb)
        self._pending = (warped, mask)
        return warped

    def blend(self, stylised: torch.Tensor) -> torch.Tensor:
        """Blend the stylised frame (1,3,H,W) with the warped previous output; remember the result."""
        out = stylised
        if self._pending is not None and self.alpha > 0:
            warped, mask = self._pending
            wt = torch.from_numpy(warped).permute(2, 0, 1)[None].to(stylised.device, torch.float32)
            mt = torch.from_numpy(mask)[None, None].to(stylised.device, torch.float32) * self.alpha
            out = (1 - mt) * stylised.float() + mt * wt
        self._prev_out = out[0].detach().float().permute(1, 2, 0).cpu().numpy().copy()
        self._prev_in = self._in
        self._pending = None
        return out


def warping_error(inputs: list[torch.Tensor], outputs: list[torch.Tensor],
                  scene_starts: list[bool] | None = None) -> float:
    """Mean over consecutive frame pairs (within a scene) of the masked MSE between ``out_t`` and
    ``out_{t-1}`` warped into frame t with the flow of the *input* frames. Images (1,3,H,W).
    The flow is always OpenCV DIS (``classic.flow``), so numbers are comparable whatever flow
    model the stylisation used."""
    est = FlowEstimator("classic.flow")
    errs = []
    for t in range(1, len(inputs)):
        if scene_starts is not None and scene_starts[t]:
            continue
        a, b = inputs[t].float(), inputs[t - 1].float()
        fb, ff = est.flow(a, b), est.flow(b, a)
        mask = consistency_mask(fb, ff, soften=0)
        prev = outputs[t - 1][0].float().permute(1, 2, 0).cpu().numpy()
        cur = outputs[t][0].float().permute(1, 2, 0).cpu().numpy()
        diff = ((cur - warp(prev, fb)) ** 2).sum(-1)
        if mask.sum() > 0:
            errs.append(float((diff * mask).sum() / mask.sum()))
    return float(np.mean(errs)) if errs else 0.0
