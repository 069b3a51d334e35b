"""Gatys et al. style transfer by optimisation, multi-scale (coarse to fine), on the shared
EfficientNet-Lite0 perceptual losses (:mod:`imgedit.perceptual`).

The image is optimised directly in pixel space, starting from the photo (content init):

* the pyramid has ``scales`` levels, each half the size of the next (coarsest side >= ``min_side``);
  the finest level runs ``steps`` iterations, each coarser one ``coarse_steps`` (default
  ``steps // 2``), and each level's result, upsampled, initialises the next. Coarse
  levels are cheap (1/4, 1/16 of the pixels) and settle the large structures, so the finest level
  starts close to a good optimum (``benchmarks/style_optimize.py`` measures the time to reach a
  fixed loss against plain single-scale Adam);
* the style targets are recomputed per level from the style image(s) resized to that level's size
  times ``style_scale``, so brush strokes keep their size relative to the picture at every level;
  several styles are blended by averaging their Gram matrices with the given weights;
* the loss is :class:`imgedit.perceptual.PerceptualLoss`: normalised content MSE at the content tap,
  normalised Gram loss at the style taps, L1 total variation;
* ``optimizer="lbfgs"`` (default: strong-Wolfe line search, one evaluation counts as one step,
  clamped at the end of a level; reaches the loss of 300 plain Adam steps in 40-44% of their
  time, BENCHMARKS.md) or ``"adam"`` (lr 0.02 on [0,1] pixels, clamped after every step);
* ``bf16=True`` runs the encoder under bfloat16 autocast (losses and Grams stay float32);
  ``channels_last=True`` (default) keeps the image channels-last, oneDNN's fast layout on CPU.

Works under the runner's ``torch.inference_mode()``: gradients are re-enabled locally.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from imgedit.perceptual import PerceptualLoss, StyleLoss, style_grams, total_variation
from imgedit.perceptual.losses import DEFAULT_CONTENT_TAPS, DEFAULT_STYLE_TAPS
from imgedit_style.color import resize, resize_long, rgb_to_ycbcr

#: ``callback(level, n_levels, step, losses)`` after every step; return True to stop the level.
Callback = Callable[[int, int, int, dict], "bool | None"]


@dataclass
class OptimizeConfig:
    steps: int = 200
    #: iterations of each coarser level (None: ``steps // 2``)
    coarse_steps: int | None = None
    scales: int = 3
    optimizer: str = "lbfgs"
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 0.5
    #: weight of an extra L1 total variation on the chroma (Cb, Cr) alone: pixel-space
    #: optimisation otherwise leaves magenta/green speckle the painting does not have
    chroma_tv: float = 0.0
    lr: float = 0.02
    bf16: bool = False
    channels_last: bool = True
    style_scale: float = 1.0
    min_side: int = 64
    #: reflect-pad the image by this many pixels before the encoder, so border pixels see
    #: image-like surroundings instead of the network's zero padding (without it the Gram loss
    #: paints a bright, noisy strip along the edges)
    pad: int = 16
    style_taps: tuple[str, ...] = DEFAULT_STYLE_TAPS
    content_taps: tuple[str, ...] = DEFAULT_CONTENT_TAPS


def pyramid(h: int, w: int, scales: int, min_side: int = 64) -> list[tuple[int, int]]:
    """Level sizes, coarsest first, ending at (h, w); each level halves the next one."""
    sizes = [(h, w)]
    for _ in range(scales - 1):
        ph, pw = sizes[0]
        nh, nw = round(ph / 2), round(pw / 2)
        if min(nh, nw) < min_side:
            break
        sizes.insert(0, (nh, nw))
    return sizes


def level_grams(styles: Sequence[torch.Tensor], weights: Sequence[float], size: tuple[int, int],
                cfg: OptimizeConfig, encoder) -> dict[str, torch.Tensor]:
    """Blended target Grams for a working size ``size`` (style resized to its long side * style_scale)."""
    long_side = max(16, round(max(size) * cfg.style_scale))
    imgs = [resize_long(s.to(encoder_device(encoder)), long_side) for s in styles]
    with torch.autocast(imgs[0].device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
        return style_grams(imgs, cfg.style_taps, blend_weights=list(weights), encoder=encoder)


def encoder_device(encoder) -> torch.device:
    return next(encoder.parameters()).device


def stylize(content: torch.Tensor, styles: Sequence[torch.Tensor], weights: Sequence[float],
            cfg: OptimizeConfig, encoder, *, init: torch.Tensor | None = None,
            callback: Callback | None = None) -> torch.Tensor:
    """Optimise ``content`` (B,3,H,W in [0,1]) towards the blended style; returns (B,3,H,W).

    ``init`` (same shape as ``content``) replaces the content init at the first level (video uses
    the warped previous result); ``callback`` sees every step's losses.
    """
    if cfg.optimizer not in ("adam", "lbfgs"):
        raise ValueError(f"optimizer must be 'adam' or 'lbfgs', not {cfg.optimizer!r}")
    with torch.inference_mode(False), torch.enable_grad():
        content = content.detach().clone().float()
        init = None if init is None else init.detach().clone().float()
        h, w = content.shape[-2:]
        sizes = pyramid(h, w, cfg.scales, cfg.min_side)
        x: torch.Tensor | None = None
        for level, size in enumerate(sizes):
            c = resize(content, size)
            if x is None:
                x0 = resize(init, size) if init is not None else c
            else:
                x0 = resize(x, size)
            grams = level_grams(styles, weights, size, cfg, encoder)
            loss_fn = PerceptualLoss(StyleLoss.from_grams(grams), content_weight=cfg.content_weight,
                                     style_weight=cfg.style_weight, tv_weight=cfg.tv_weight,
                                     content_taps=cfg.content_taps, encoder=encoder)
            with torch.autocast(c.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                targets = loss_fn.content_targets(_pad(c, cfg.pad))
            n = cfg.steps if level == len(sizes) - 1 else (cfg.coarse_steps if cfg.coarse_steps is not None
                                                               else max(1, cfg.steps // 2))
            x = _run_level(x0, loss_fn, targets, cfg, n, level, len(sizes), callback)
        assert x is not None
        return x.detach().clamp(0, 1)


def _run_level(x0: torch.Tensor, loss_fn: PerceptualLoss, targets: dict, cfg: OptimizeConfig, steps: int,
               level: int, n_levels: int, callback: Callback | None) -> torch.Tensor:
    x = x0.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)  # L-BFGS needs flat views
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    lr = cfg.lr
    dev = x.device.type

    def evaluate() -> dict:
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=cfg.bf16):
            losses = loss_fn(_pad(x, cfg.pad).contiguous(memory_format=fmt), targets)
        if cfg.chroma_tv:
            losses["chroma_tv"] = total_variation(rgb_to_ycbcr(x)[:, 1:])
            losses["total"] = losses["total"] + cfg.chroma_tv * losses["chroma_tv"]
        return losses

    if cfg.optimizer == "adam":
        # Adam written out for one pixel tensor: same update as torch.optim.Adam, without its
        # first-use import of torch._dynamo (~1.2 s, and it reads package metadata files)
        m, v = torch.zeros_like(x), torch.zeros_like(x)
        b1, b2, eps = 0.9, 0.999, 1e-8
        for step in range(steps):
            x.grad = None
            losses = evaluate()
            losses["total"].backward()
            with torch.no_grad():
                g = x.grad
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                t = step + 1
                denom = (v / (1 - b2 ** t)).sqrt_().add_(eps)
                x.addcdiv_(m, denom, value=-lr / (1 - b1 ** t))
                x.clamp_(0, 1)
            if callback is not None and callback(level, n_levels, step, _detach(losses)):
                break
        return x.detach()

    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=steps, max_eval=steps,
                            history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-9, tolerance_change=1e-12)
    counter = {"step": 0, "stop": False}

    def closure():
        opt.zero_grad(set_to_none=True)
        losses = evaluate()
        losses["total"].backward()
        if callback is not None and not counter["stop"]:
            counter["stop"] = bool(callback(level, n_levels, counter["step"], _detach(losses)))
        counter["step"] += 1
        if counter["stop"]:  # a zero gradient makes L-BFGS return at once
            x.grad.zero_()
        return losses["total"]

    opt.step(closure)
    return x.detach().clamp(0, 1)


def _pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    p = min(pad, x.shape[-1] - 1, x.shape[-2] - 1)
    return torch.nn.functional.pad(x, (p, p, p, p), mode="reflect") if p > 0 else x


def _detach(losses: dict) -> dict:
    return {k: float(v.detach()) for k, v in losses.items()}


class StepTimer:
    """Callback recording ``(seconds since start, level, step, total loss)`` for benchmarks."""

    def __init__(self, stop_below: float | None = None):
        self.t0 = time.perf_counter()
        self.rows: list[tuple[float, int, int, float]] = []
        self.stop_below = stop_below

    def __call__(self, level: int, n_levels: int, step: int, losses: dict) -> bool:
        self.rows.append((time.perf_counter() - self.t0, level, step, losses["total"]))
        return (self.stop_below is not None and level == n_levels - 1 and losses["total"] <= self.stop_below)
