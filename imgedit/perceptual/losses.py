"""Perceptual losses on EfficientNet-Lite0 features: functional forms and ``nn.Module`` twins.

Conventions (all functions and modules):

* images are ``(B, 3, H, W)`` floating tensors in [0, 1];
* feature maps are ``(B, C, H, W)`` tensors (any float dtype, e.g. bfloat16 under autocast);
* every loss is computed in float32 with autocast disabled locally, and returns a float32
  tensor (a 0-d scalar unless stated otherwise);
* a target with batch size 1 broadcasts against a batch of ``B``;
* "tap weights" are ``{tap: float}`` mappings: taps not listed weigh 1.0, listing a tap that is
  not used raises ``ValueError``.

Where the encoder is needed and none is passed explicitly, the process-wide shared encoder for
the input's device is used (:func:`imgedit.perceptual.backbone.get_encoder`). Modules keep the
encoder as a plain attribute, *not* as a registered submodule: it never appears in
``parameters()`` or ``state_dict()`` of a model that owns a loss, and ``.train()``/``.to()`` on
that model do not touch the shared instance. Precomputed targets (style Grams) are registered
buffers and do move with ``.to()``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from imgedit.perceptual.backbone import TAPS, PerceptualEncoder, get_encoder

__all__ = [
    "DEFAULT_CONTENT_TAPS",
    "DEFAULT_DISTANCE_TAPS",
    "DEFAULT_STYLE_TAPS",
    "ContentLoss",
    "PerceptualDistance",
    "PerceptualLoss",
    "StyleLoss",
    "TotalVariation",
    "content_loss",
    "gram_matrix",
    "jitter_crop",
    "perceptual_distance",
    "style_grams",
    "style_loss",
    "total_variation",
]

#: Style taps: stem output and blocks 0, 2, 4, 7, 10 (strides 2, 2, 4, 8, 16, 16).
DEFAULT_STYLE_TAPS: tuple[str, ...] = ("stem", "block0", "block2", "block4", "block7", "block10")
#: Content tap: block 7 (80 channels, stride 16).
DEFAULT_CONTENT_TAPS: tuple[str, ...] = ("block7",)
#: Taps of :func:`perceptual_distance` (same spread of depths as the style taps).
DEFAULT_DISTANCE_TAPS: tuple[str, ...] = DEFAULT_STYLE_TAPS

#: Added to normalisers (mean squared magnitudes, feature norms) to avoid division by zero.
EPS = 1e-8

Reduction = Literal["mean", "sum", "none"]
StyleImages = Tensor | Sequence[Tensor]
Encoder = PerceptualEncoder | None


def _no_autocast(t: Tensor) -> torch.autocast:
    return torch.autocast(device_type=t.device.type, enabled=False)


def _resolve_encoder(encoder: Encoder, like: Tensor) -> PerceptualEncoder:
    return encoder if encoder is not None else get_encoder(like.device)


def _tap_weights(taps: Sequence[str], weights: Mapping[str, float] | None) -> dict[str, float]:
    weights = dict(weights or {})
    extra = sorted(set(weights) - set(taps))
    if extra:
        raise ValueError(f"weights given for tap(s) {extra} that are not used (taps: {list(taps)})")
    return {t: float(weights.get(t, 1.0)) for t in taps}


def _check_taps(taps: Sequence[str]) -> tuple[str, ...]:
    if isinstance(taps, str):
        raise TypeError("taps must be a sequence of tap names, not a single string")
    taps = tuple(dict.fromkeys(taps))
    unknown = [t for t in taps if t not in TAPS]
    if unknown:
        raise ValueError(f"unknown tap(s) {unknown}; valid taps: {', '.join(TAPS)}")
    return taps


# --------------------------------------------------------------------------------------------
# Gram matrix and content / style losses
# --------------------------------------------------------------------------------------------


def gram_matrix(feat: Tensor) -> Tensor:
    """Channel Gram matrix, normalised by the number of feature elements.

    ``G[b, i, j] = sum_{h,w} F[b, i, h, w] * F[b, j, h, w] / (C * H * W)``

    Dividing by ``C*H*W`` (not just ``H*W``) makes ``G`` independent of the spatial size (a
    constant map with value ``v_c`` in channel ``c`` gives ``G[i, j] = v_i * v_j / C`` at any
    ``H, W``) and keeps the magnitude comparable across taps of different widths.

    Args:
        feat: ``(B, C, H, W)`` feature map.

    Returns:
        ``(B, C, C)`` float32 Gram matrices (computed in float32, autocast disabled).
    """
    if feat.dim() != 4:
        raise ValueError(f"expected a (B, C, H, W) feature map, got shape {tuple(feat.shape)}")
    b, c, h, w = feat.shape
    with _no_autocast(feat):
        f = feat.float().reshape(b, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / float(c * h * w)


def content_loss(feat: Tensor, target: Tensor, *, normalize: bool = False) -> Tensor:
    """Mean squared error between a feature map and its target.

    ``normalize=False``: ``mean((feat - target)**2)`` over all elements (plain MSE).

    ``normalize=True``: per sample ``b``, ``mean_{c,h,w}((feat_b - target_b)**2) /
    (mean_{c,h,w}(target_b**2) + EPS)``, averaged over the batch; the normaliser is taken from the
    detached target, so only the weight changes, not the gradient direction.

    Args:
        feat: ``(B, C, H, W)`` features.
        target: ``(B, C, H, W)`` or ``(1, C, H, W)`` target features (gradients flow into it
            if it requires grad; detach it if it is a constant).
        normalize: divide by the target's mean squared magnitude (makes weights scale-free).

    Returns:
        0-d float32 tensor.
    """
    with _no_autocast(feat):
        f = feat.float()
        t = target.float()
        if f.dim() < 2 or t.dim() != f.dim() or t.shape[1:] != f.shape[1:] or t.shape[0] not in (1, f.shape[0]):
            raise ValueError(f"content target shape {tuple(t.shape)} does not match features {tuple(f.shape)}")
        if not normalize:
            return F.mse_loss(f, t.expand_as(f))
        per_sample = (f - t).pow(2).flatten(1).mean(dim=1)
        scale = t.detach().pow(2).flatten(1).mean(dim=1) + EPS
        return (per_sample / scale).mean()


def style_loss(
    feats: Mapping[str, Tensor],
    target_grams: Mapping[str, Tensor],
    weights: Mapping[str, float] | None = None,
) -> Tensor:
    """Gram-matrix style loss summed over taps, each tap balanced by its target's magnitude.

    For each tap ``t`` in ``target_grams``, with ``G = gram_matrix(feats[t])`` ``(B, C, C)`` and
    target ``T = target_grams[t]`` ``(B, C, C)`` or ``(1, C, C)``::

        L_t = mean_b [ mean_{i,j} (G[b] - T[b])**2 / (mean_{i,j} T[b]**2 + EPS) ]
        loss = sum_t weights[t] * L_t

    The normaliser (target Gram's mean squared magnitude, detached) puts all taps on the same
    scale: ``L_t = 1`` for an all-zero Gram ``G``.

    Args:
        feats: ``{tap: (B, C, H, W)}`` features of the image being optimised/generated (extra
            taps are ignored).
        target_grams: ``{tap: (B|1, C, C)}`` target Grams (e.g. from :func:`style_grams`).
        weights: per-tap weights (missing taps weigh 1.0).

    Returns:
        0-d float32 tensor.
    """
    tap_w = _tap_weights(tuple(target_grams), weights)
    total: Tensor | None = None
    for tap, w in tap_w.items():
        if tap not in feats:
            raise KeyError(f"style tap {tap!r} missing from the features (have {list(feats)})")
        g = gram_matrix(feats[tap])
        with _no_autocast(g):
            t = target_grams[tap].float()
            if t.dim() != 3 or t.shape[1:] != g.shape[1:] or t.shape[0] not in (1, g.shape[0]):
                raise ValueError(f"target Gram for {tap!r} has shape {tuple(t.shape)}, features give {tuple(g.shape)}")
            per_sample = (g - t).pow(2).mean(dim=(1, 2))
            scale = t.detach().pow(2).mean(dim=(1, 2)) + EPS
            term = w * (per_sample / scale).mean()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("target_grams is empty")
    return total


def _as_style_list(style: StyleImages) -> list[Tensor]:
    if isinstance(style, Tensor):
        if style.dim() == 3:
            return [style.unsqueeze(0)]
        if style.dim() == 4:
            return [s.unsqueeze(0) for s in style]
        raise ValueError(f"style image must be (3, H, W) or (S, 3, H, W), got {tuple(style.shape)}")
    images = []
    for s in style:
        if s.dim() == 3:
            s = s.unsqueeze(0)
        if s.dim() != 4 or s.shape[0] != 1:
            raise ValueError(f"each style image in a sequence must be (3, H, W) or (1, 3, H, W), got {tuple(s.shape)}")
        images.append(s)
    if not images:
        raise ValueError("no style image given")
    return images


@torch.no_grad()
def style_grams(
    style: StyleImages,
    taps: Sequence[str] = DEFAULT_STYLE_TAPS,
    *,
    blend_weights: Sequence[float] | None = None,
    encoder: Encoder = None,
) -> dict[str, Tensor]:
    """Target Gram matrices of one style image or a weighted blend of several.

    ``G_t = sum_i w_i * gram_matrix(features_t(style_i)) / sum_i w_i``

    Args:
        style: one image ``(3, H, W)`` / ``(1, 3, H, W)``, a same-size stack ``(S, 3, H, W)``, or a
            sequence of single images of possibly different sizes; values in [0, 1].
        taps: taps to compute.
        blend_weights: one non-negative weight per style image (default: equal weights).
        encoder: feature extractor (default: shared encoder on the style's device).

    Returns:
        ``{tap: (1, C, C)}`` float32 Grams (no grad), ready to broadcast over a batch.
    """
    taps = _check_taps(taps)
    images = _as_style_list(style)
    if blend_weights is None:
        ws = [1.0] * len(images)
    else:
        ws = [float(w) for w in blend_weights]
        if len(ws) != len(images):
            raise ValueError(f"{len(ws)} blend weights for {len(images)} style images")
        if any(w < 0 or not math.isfinite(w) for w in ws) or sum(ws) <= 0:
            raise ValueError(f"blend weights must be finite, non-negative and not all zero, got {ws}")
    enc = _resolve_encoder(encoder, images[0])
    acc: dict[str, Tensor] = {}
    for img, w in zip(images, ws):
        feats = enc(img, taps)
        for t in taps:
            g = gram_matrix(feats[t]) * w
            acc[t] = g if t not in acc else acc[t] + g
    total = sum(ws)
    return {t: g / total for t, g in acc.items()}


class ContentLoss(nn.Module):
    """Weighted sum over taps of :func:`content_loss`.

    ``forward(feats, target_feats)``: ``sum_t weights[t] * content_loss(feats[t], target_feats[t],
    normalize=normalize)``; feature dicts map tap -> ``(B, C, H, W)`` (targets may have batch 1).
    Returns a 0-d float32 tensor.
    """

    def __init__(
        self,
        taps: Sequence[str] = DEFAULT_CONTENT_TAPS,
        *,
        weights: Mapping[str, float] | None = None,
        normalize: bool = False,
    ) -> None:
        super().__init__()
        self.taps = _check_taps(taps)
        self.weights = _tap_weights(self.taps, weights)
        self.normalize = normalize

    def forward(self, feats: Mapping[str, Tensor], target_feats: Mapping[str, Tensor]) -> Tensor:
        total: Tensor | None = None
        for t in self.taps:
            term = self.weights[t] * content_loss(feats[t], target_feats[t], normalize=self.normalize)
            total = term if total is None else total + term
        assert total is not None  # taps is non-empty (checked in __init__)
        return total

    def extra_repr(self) -> str:
        return f"taps={self.taps}, normalize={self.normalize}"


class StyleLoss(nn.Module):
    """:func:`style_loss` against Grams precomputed from style image(s).

    Construction runs the encoder once on the style image(s) (see :func:`style_grams`; several
    images are blended with ``blend_weights``) and stores ``(1, C, C)`` Grams as buffers
    ``gram_<tap>``; they broadcast over any batch size.

    ``forward(feats)``: ``feats`` maps tap -> ``(B, C, H, W)`` features of the generated images
    (extra taps ignored); returns a 0-d float32 tensor.
    """

    def __init__(
        self,
        style: StyleImages,
        *,
        taps: Sequence[str] = DEFAULT_STYLE_TAPS,
        tap_weights: Mapping[str, float] | None = None,
        blend_weights: Sequence[float] | None = None,
        encoder: Encoder = None,
    ) -> None:
        super().__init__()
        self._set_targets(style_grams(style, taps, blend_weights=blend_weights, encoder=encoder), tap_weights)

    @classmethod
    def from_grams(
        cls, target_grams: Mapping[str, Tensor], *, tap_weights: Mapping[str, float] | None = None
    ) -> StyleLoss:
        """Build from precomputed ``{tap: (1|B, C, C)}`` Grams (e.g. cached by a plugin)."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._set_targets(target_grams, tap_weights)
        return self

    def _set_targets(self, grams: Mapping[str, Tensor], tap_weights: Mapping[str, float] | None) -> None:
        self.taps = _check_taps(tuple(grams))
        if not self.taps:
            raise ValueError("no style taps")
        self.tap_weights = _tap_weights(self.taps, tap_weights)
        for t in self.taps:
            self.register_buffer(f"gram_{t}", grams[t].detach().float().clone())

    @property
    def target_grams(self) -> dict[str, Tensor]:
        """``{tap: (1|B, C, C)}`` target Grams (the buffers)."""
        return {t: getattr(self, f"gram_{t}") for t in self.taps}

    def forward(self, feats: Mapping[str, Tensor]) -> Tensor:
        return style_loss(feats, self.target_grams, self.tap_weights)

    def extra_repr(self) -> str:
        return f"taps={self.taps}"


def jitter_crop(tensors: Sequence[Tensor], shift: int, generator: torch.Generator | None = None) -> list[Tensor]:
    """The same random crop of every (B, C, H, W) tensor: ``shift - 1`` rows and columns are cut,
    ``dy``/``dx`` in ``[0, shift)`` of them from the top/left (uniform), the rest from the
    bottom/right; ``shift <= 1`` returns them unchanged.

    The encoder's strided layers sample on a fixed grid (stride 4 at block2, 32 below block10),
    so a loss computed at one alignment can be lowered by patterns locked to that grid (the 4 px
    grid of optimised and fast-network outputs). Drawing a new alignment each step, for the
    generated image and its content target together, removes that reward."""
    if shift <= 1:
        return list(tensors)
    d = torch.randint(0, shift, (2,), generator=generator).tolist()
    cut = shift - 1
    return [t[..., d[0]:t.shape[-2] - (cut - d[0]), d[1]:t.shape[-1] - (cut - d[1])] for t in tensors]


# --------------------------------------------------------------------------------------------
# Total variation
# --------------------------------------------------------------------------------------------


def total_variation(x: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Anisotropic L1 total variation, averaged so it does not grow with image size.

    Per image ``b``::

        TV_b = mean_{c,h,w} |x[b,c,h+1,w] - x[b,c,h,w]| + mean_{c,h,w} |x[b,c,h,w+1] - x[b,c,h,w]|

    (each mean over its own ``C*(H-1)*W`` resp. ``C*H*(W-1)`` differences; a term is 0 when that
    side has size 1). L1 rather than squared differences: it penalises noise while keeping edges.

    Args:
        x: ``(B, C, H, W)`` images.
        reduction: ``'mean'`` (0-d, mean over the batch), ``'sum'`` (0-d, sum over the batch) or
            ``'none'`` (``(B,)``).

    Returns:
        float32 tensor as described by ``reduction``.
    """
    if x.dim() != 4:
        raise ValueError(f"expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    with _no_autocast(x):
        xf = x.float()
        tv = xf.new_zeros(x.shape[0])
        if x.shape[2] > 1:
            tv = tv + (xf[:, :, 1:, :] - xf[:, :, :-1, :]).abs().flatten(1).mean(dim=1)
        if x.shape[3] > 1:
            tv = tv + (xf[:, :, :, 1:] - xf[:, :, :, :-1]).abs().flatten(1).mean(dim=1)
    if reduction == "mean":
        return tv.mean()
    if reduction == "sum":
        return tv.sum()
    return tv


class TotalVariation(nn.Module):
    """Module twin of :func:`total_variation`: ``forward(x (B, C, H, W))``."""

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction: Reduction = reduction

    def forward(self, x: Tensor) -> Tensor:
        return total_variation(x, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


# --------------------------------------------------------------------------------------------
# Perceptual distance (LPIPS-like, no learned weights)
# --------------------------------------------------------------------------------------------


def _unit(f: Tensor) -> Tensor:
    f = f.float()
    return f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + EPS)


def perceptual_distance(
    a: Tensor,
    b: Tensor,
    taps: Sequence[str] = DEFAULT_DISTANCE_TAPS,
    *,
    encoder: Encoder = None,
) -> Tensor:
    """LPIPS-like distance between images, without learned per-channel weights.

    For each tap, features are unit-normalised along channels at every position
    (``f / (||f||_2 + EPS)``); the distance is::

        d_b = mean_t [ mean_{h,w} sum_c (fa_t[b,c,h,w] - fb_t[b,c,h,w])**2 ]

    so each tap contributes a value in [0, 4] and ``d`` is in [0, 4]. ``d(a, a) = 0`` and
    ``d(a, b) = d(b, a)`` exactly (each image goes through the encoder on its own). Differentiable
    with respect to both images.

    Args:
        a: ``(B, 3, H, W)`` images in [0, 1].
        b: ``(B, 3, H, W)`` or ``(1, 3, H, W)`` images in [0, 1] (same ``H, W`` as ``a``); a
            batch of one broadcasts, as does ``a`` of batch one against a larger ``b``.
        taps: taps to average over.
        encoder: feature extractor (default: shared encoder on ``a``'s device).

    Returns:
        ``(B,)`` float32 distances.
    """
    taps = _check_taps(taps)
    if not taps:
        raise ValueError("at least one tap is required")
    if a.shape[1:] != b.shape[1:] or (a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0])):
        raise ValueError(f"images must have the same shape (batch 1 broadcasts): {tuple(a.shape)} vs {tuple(b.shape)}")
    enc = _resolve_encoder(encoder, a)
    fa = enc(a, taps)
    fb = enc(b, taps)
    with _no_autocast(a):
        per_tap = [(_unit(fa[t]) - _unit(fb[t])).pow(2).sum(dim=1).mean(dim=(1, 2)) for t in taps]
        return torch.stack(per_tap, dim=0).mean(dim=0)


class PerceptualDistance(nn.Module):
    """Module twin of :func:`perceptual_distance`: ``forward(a, b) -> (B,)``."""

    def __init__(self, taps: Sequence[str] = DEFAULT_DISTANCE_TAPS, *, encoder: Encoder = None) -> None:
        super().__init__()
        self.taps = _check_taps(taps)
        self.__dict__["encoder"] = encoder  # not a registered submodule (see module docstring)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return perceptual_distance(a, b, self.taps, encoder=self.encoder)

    def extra_repr(self) -> str:
        return f"taps={self.taps}"


# --------------------------------------------------------------------------------------------
# Combined loss
# --------------------------------------------------------------------------------------------


class PerceptualLoss(nn.Module):
    """Content + style + total-variation loss with one encoder pass over the generated images.

    Typical uses::

        # (a) Gatys optimisation of one image
        loss_fn = PerceptualLoss(style_img, content_weight=1.0, style_weight=1.0, tv_weight=1e-2)
        target = loss_fn.content_targets(content_img)       # once, no grad
        for _ in range(steps):
            losses = loss_fn(x, target)                      # x: (1, 3, H, W) leaf, requires_grad
            opt.zero_grad(); losses["total"].backward(); opt.step()

        # (b) training a feed-forward net on batches
        out = net(batch)
        losses = loss_fn(out, batch)                         # content image -> targets, no grad

    Terms (each entry of the returned dict is the *unweighted* term, a 0-d float32 tensor):

    * ``'content'`` = ``ContentLoss(content_taps, normalize=normalize_content)`` between the
      features of ``x`` and the content targets; present when ``content`` is given and
      ``content_weight != 0``;
    * ``'style'`` = :class:`StyleLoss` (target Grams from ``style``); present when a style is
      set and ``style_weight != 0``;
    * ``'tv'`` = ``total_variation(x)`` (mean over batch); present when ``tv_weight != 0``;
    * ``'total'`` = ``content_weight*content + style_weight*style + tv_weight*tv`` (always).

    The encoder runs once on ``x`` for the union of content and style taps. A content *image* is
    encoded in a separate no-grad pass per call; precompute it with :meth:`content_targets`
    when it does not change. Content targets are therefore constants (no gradient into them).
    """

    def __init__(
        self,
        style: StyleImages | StyleLoss | None = None,
        *,
        content_weight: float = 1.0,
        style_weight: float = 1.0,
        tv_weight: float = 0.0,
        content_taps: Sequence[str] = DEFAULT_CONTENT_TAPS,
        style_taps: Sequence[str] = DEFAULT_STYLE_TAPS,
        style_tap_weights: Mapping[str, float] | None = None,
        style_blend_weights: Sequence[float] | None = None,
        normalize_content: bool = True,
        encoder: Encoder = None,
    ) -> None:
        """Args:
            style: style image(s) as accepted by :func:`style_grams`, a ready :class:`StyleLoss`
                (then ``style_taps``/``style_tap_weights``/``style_blend_weights`` are ignored),
                or ``None`` for no style term.
            content_weight, style_weight, tv_weight: term weights in ``'total'``.
            content_taps: taps for the content term.
            style_taps: taps for the style term.
            style_tap_weights: per-tap style weights (missing taps weigh 1.0).
            style_blend_weights: blend weights for several style images.
            normalize_content: divide the content MSE by the target's mean squared magnitude
                (as the style term always does), so the weights are scale-free.
            encoder: feature extractor (default: the shared encoder for each input's device).
        """
        super().__init__()
        self.__dict__["encoder"] = encoder  # not a registered submodule (see module docstring)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        self.tv_weight = float(tv_weight)
        self.content = ContentLoss(content_taps, normalize=normalize_content)
        if style is None or isinstance(style, StyleLoss):
            self.style: StyleLoss | None = style
        else:
            self.style = StyleLoss(
                style,
                taps=style_taps,
                tap_weights=style_tap_weights,
                blend_weights=style_blend_weights,
                encoder=encoder,
            )

    def _encoder_for(self, x: Tensor) -> PerceptualEncoder:
        return _resolve_encoder(self.encoder, x)

    @torch.no_grad()
    def content_targets(self, image: Tensor) -> dict[str, Tensor]:
        """Content-tap features of ``image`` ``(B|1, 3, H, W)`` in [0, 1], without grad."""
        return {t: f.detach() for t, f in self._encoder_for(image)(image, self.content.taps).items()}

    def forward(self, x: Tensor, content: Tensor | Mapping[str, Tensor] | None = None) -> dict[str, Tensor]:
        """Compute the active terms for generated images ``x`` ``(B, 3, H, W)`` in [0, 1].

        Args:
            x: generated / optimised images.
            content: content image(s) ``(B|1, 3, H, W)`` in [0, 1], or their precomputed
                features ``{tap: (B|1, C, H, W)}`` from :meth:`content_targets`, or ``None``.

        Returns:
            ``{'content'?, 'style'?, 'tv'?, 'total'}`` (see class docstring).

        Raises:
            ValueError: no term is active.
        """
        use_content = content is not None and self.content_weight != 0.0
        use_style = self.style is not None and self.style_weight != 0.0
        use_tv = self.tv_weight != 0.0
        if not (use_content or use_style or use_tv):
            raise ValueError("PerceptualLoss has no active term (give a content target, a style or a tv_weight)")
        taps: list[str] = []
        if use_content:
            taps += self.content.taps
        if use_style:
            assert self.style is not None
            taps += self.style.taps
        out: dict[str, Tensor] = {}
        total: Tensor | None = None

        def add(name: str, weight: float, value: Tensor) -> None:
            nonlocal total
            out[name] = value
            total = weight * value if total is None else total + weight * value

        if taps:
            feats = self._encoder_for(x)(x, list(dict.fromkeys(taps)))
            if use_content:
                assert content is not None
                targets = self.content_targets(content) if isinstance(content, Tensor) else content
                add("content", self.content_weight, self.content(feats, targets))
            if use_style:
                assert self.style is not None
                add("style", self.style_weight, self.style(feats))
        if use_tv:
            add("tv", self.tv_weight, total_variation(x))
        assert total is not None
        out["total"] = total
        return out

    def extra_repr(self) -> str:
        return f"content_weight={self.content_weight}, style_weight={self.style_weight}, tv_weight={self.tv_weight}"
