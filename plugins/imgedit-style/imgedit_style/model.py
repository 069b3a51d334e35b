"""The ``style`` model: one model, three methods (see :mod:`imgedit_style.plugin` for options).

Pipeline of :meth:`StyleModel.edit` for a batch ``x`` (B,3,H,W):

1. resolve the styles: shipped names -> the painting decoded from the references weight file,
   image files -> the tensor the runner read; ``:W`` suffixes are blend weights;
2. pick the method (``auto``: ``fast`` when every style is a shipped name with trained fast
   weights, else ``arbitrary`` when the decoder is trained, else ``optimize``);
3. ``strength == 0`` returns the photo unchanged (exactly);
4. downscale to ``max_size`` (optimize defaults to 512 px: optimisation cost grows with pixels);
5. run the method (``fast``/``arbitrary`` tile above ``ctx.tile_pixels`` with shared
   normalisation statistics, so tiles agree);
6. remove the 4 px grid the networks leave (``degrid``, :mod:`imgedit_style.degrid`);
7. resize back to the input size, then apply ``strength`` and ``preserve_color`` at full
   resolution against the original photo.

Where ``strength`` acts: ``arbitrary`` blends content and transformed features before decoding;
``fast`` and ``optimize`` cross-fade the result with the photo. (For ``optimize`` a loss-space
strength, scaling the style weight, was tried and rejected: Adam normalises the gradient scale, so
``strength=0.2`` changed the picture almost as much as ``1.0``; the cross-fade is predictable.) ``preserve_color`` replaces the result's
chroma (YCbCr) with the photo's; ``optimize`` and ``arbitrary`` additionally take their style
statistics from a luminance-matched grey copy of the painting, so the texture is not tuned for
the painting's palette.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

import torch

from imgedit.api import Frame, ImageArg, ImageModel, ModelContext, OptionError, WeightsError, parse_weighted
from imgedit_style import color
from imgedit_style.plugin import (CHROMA_TV, DECODER_TRAIN_COMMAND, SHIPPED_STYLES, fast_train_command,
                                  fast_weight_name)

#: optimize works at this longest side unless ``max_size`` is given
OPTIMIZE_DEFAULT_SIZE = 512


class StyleModel(ImageModel):
    def __init__(self, ctx: ModelContext):
        super().__init__(ctx)
        from imgedit_style.references import decode_reference

        refs = ctx.load_weights("references")
        self.references = {name: decode_reference(data) for name, data in refs.items()}
        self._weight_names = {w.name for w in ctx.spec.weights}
        self._fast: dict[str, Any] = {}
        self._decoder = None
        self._flows: dict[str, Any] = {}  # flow option -> FlowEstimator (video)
        from imgedit.perceptual import get_encoder

        with torch.inference_mode(False):  # parameters usable by autograd (optimize)
            self._encoder = get_encoder(ctx.device)  # shared, loaded once per process

    # -- resources (loaded on first use) -------------------------------------------------------
    @property
    def encoder(self):
        """The shared frozen EfficientNet-Lite0 :class:`~imgedit.perceptual.PerceptualEncoder`."""
        return self._encoder

    def has_fast(self, name: str) -> bool:
        return fast_weight_name(name) in self._weight_names

    def user_styles(self) -> list[str]:
        """Fast styles a user trained (``imgedit train style --style my_painting.jpg --export``)."""
        prefix = fast_weight_name("")
        return sorted(w[len(prefix):] for w in self._weight_names
                      if w.startswith(prefix) and w[len(prefix):] not in SHIPPED_STYLES)

    @property
    def has_decoder(self) -> bool:
        return "decoder" in self._weight_names

    def fast_net(self, name: str):
        if name not in self._fast:
            from imgedit_style.transformer import TransformerNet, for_inference

            if not self.has_fast(name):
                raise WeightsError(f"no fast weights for style {name!r}", hint=f"train them: {fast_train_command(name)}")
            with torch.inference_mode(False):
                net = TransformerNet.from_state_dict(self.ctx.load_weights(fast_weight_name(name)))
                self._fast[name] = for_inference(net, self.device, self.ctx.dtype)
        return self._fast[name]

    @property
    def decoder(self):
        if self._decoder is None:
            from imgedit_style.arbitrary import Decoder

            if not self.has_decoder:
                raise WeightsError("the arbitrary-style decoder is not trained yet",
                                   hint=f"train it: {DECODER_TRAIN_COMMAND}")
            from imgedit_style.transformer import for_inference

            with torch.inference_mode(False):
                self._decoder = for_inference(Decoder.from_state_dict(self.ctx.load_weights("decoder")),
                                              self.device, self.ctx.dtype)
        return self._decoder

    # -- option resolution ---------------------------------------------------------------------
    def resolve_styles(self, style: Sequence[Any] | Any) -> list[tuple[str, torch.Tensor | None, float]]:
        """-> [(key, image or None for a shipped name, weight)]; the image is (1,3,h,w)."""
        items = style if isinstance(style, (tuple, list)) else (style,)
        out = []
        for item in items:
            if isinstance(item, str):
                value, weight = parse_weighted(item)
                item = ImageArg(value, None, weight)
            elif isinstance(item, torch.Tensor):
                item = ImageArg("<tensor>", item if item.dim() == 4 else item[None], 1.0)
            if item.image is None:
                if item.value.lower() in SHIPPED_STYLES or self.has_fast(item.value.lower()):  # --style Wave
                    item = ImageArg(item.value.lower(), None, item.weight)
                if item.value not in SHIPPED_STYLES and not self.has_fast(item.value):
                    raise OptionError(_unknown_style(item.value, self.user_styles()))
                out.append((item.value, None, float(item.weight)))
            else:
                out.append((item.value, item.image[:1, :3].float(), float(item.weight)))
        if not out:
            raise OptionError("give at least one --style")
        if sum(w for _, _, w in out) <= 0:
            raise OptionError("style weights must not all be 0")
        return [s for s in out if s[2] > 0]

    def style_image(self, key: str, image: torch.Tensor | None) -> torch.Tensor:
        return (self.references[key] if image is None else image).to(self.device, torch.float32)

    def pick_method(self, method: str, styles: list[tuple[str, torch.Tensor | None, float]]) -> str:
        all_fast = all(img is None and self.has_fast(key) for key, img, _ in styles)
        if method == "auto":
            return "fast" if all_fast else ("arbitrary" if self.has_decoder else "optimize")
        if method == "fast" and not all_fast:
            missing = [k for k, img, _ in styles if img is not None or not self.has_fast(k)]
            raise OptionError(f"method fast needs a shipped style with trained weights; not available for "
                              f"{', '.join(missing)} (use --method arbitrary or optimize, or train: "
                              f"{fast_train_command(missing[0]) if missing[0] in SHIPPED_STYLES else USER_TRAIN_COMMAND})")
        if method == "arbitrary" and not self.has_decoder:
            raise OptionError(f"method arbitrary needs the trained decoder ({DECODER_TRAIN_COMMAND}); "
                              "use --method optimize meanwhile")
        return method

    def prepare(self, style=("starry_night",), method: str = "auto", flow: str = "auto", **_: Any) -> None:
        """Check the styles, the method and the flow model once before a batch."""
        self.pick_method(method, self.resolve_styles(style))
        if flow != "auto":
            import imgedit

            specs = {s.name: s for s in imgedit.list_models()}
            if flow not in specs or "flow" not in [str(c) for c in specs[flow].capabilities]:
                have = ", ".join(n for n, s in specs.items() if "flow" in [str(c) for c in s.capabilities])
                raise OptionError(f"flow={flow!r} is not an installed optical-flow model (installed: {have})")

    # -- the edit --------------------------------------------------------------------------------
    def edit(self, images: torch.Tensor, style=("starry_night",), method: str = "auto", strength: float = 1.0,
             preserve_color: bool = False, max_size: int | None = None, steps: int = 200, scales: int = 3,
             optimizer: str = "lbfgs", style_weight: float = 3.0, tv_weight: float = 0.5,
             chroma_tv: float = CHROMA_TV, style_scale: float = 1.0, temporal: float = 0.7, flow: str = "auto",
             degrid: bool = True, *, _method: str | None = None) -> torch.Tensor:
        styles = self.resolve_styles(style)
        method = _method or self.pick_method(method, styles)
        x = images.float()
        if strength <= 0:
            return x.clone()
        h, w = x.shape[-2:]
        if max_size is None and method == "optimize":
            max_size = OPTIMIZE_DEFAULT_SIZE
        size = color.fit_size(h, w, max_size)
        xw = color.resize(x, size)
        if method == "fast":
            out = self._run_fast(xw, styles)
        elif method == "arbitrary":
            out = self._arbitrary(xw, styles, strength, preserve_color, style_scale)
        else:
            out = self._optimize(xw, styles, preserve_color, steps=steps, scales=scales,
                                 optimizer=optimizer, style_weight=style_weight, tv_weight=tv_weight,
                                 chroma_tv=chroma_tv, style_scale=style_scale)
        if degrid:  # at the working size, where the networks' 4 px grid is
            from imgedit_style.degrid import degrid as remove_grid

            out = remove_grid(out.float()).clamp(0, 1)
        out = color.resize(out.float(), (h, w))
        if method != "arbitrary" and strength < 1:
            out = strength * out + (1 - strength) * x
        if preserve_color:
            out = color.keep_chroma(out, x)
        return out.clamp(0, 1)

    def _run_fast(self, x: torch.Tensor, styles) -> torch.Tensor:
        from imgedit_style.transformer import run_fast

        total = sum(wt for _, _, wt in styles)
        out = None
        for key, _, wt in styles:  # several fast styles: weighted average of the outputs
            y = run_fast(self.fast_net(key), x, self.ctx.tile_pixels, self.ctx.dtype) * (wt / total)
            out = y if out is None else out + y
        return out

    def _style_for(self, key, img, photo, preserve_color: bool) -> torch.Tensor:
        s = self.style_image(key, img)
        return color.gray_like(s, photo) if preserve_color else s

    def _optimize(self, x, styles, preserve_color, *, steps, scales, optimizer, style_weight,
                  tv_weight, chroma_tv, style_scale) -> torch.Tensor:
        from imgedit_style.optimize import OptimizeConfig, stylize

        cfg = OptimizeConfig(steps=steps, scales=scales, optimizer=optimizer,
                             style_weight=style_weight, tv_weight=tv_weight, chroma_tv=chroma_tv,
                             style_scale=style_scale,
                             # bf16 features measured 7% slower than fp32 on CPU (style_optimize.py)
                             bf16=self.ctx.precision in ("bf16", "fp16") and self.device.type == "cuda")
        outs = []
        for i in range(x.shape[0]):  # per image: each photo has its own colour statistics
            xi = x[i:i + 1]
            imgs = [self._style_for(k, img, xi, preserve_color) for k, img, _ in styles]
            content = color.gray3(xi) if preserve_color else xi
            outs.append(stylize(content, imgs, [w for _, _, w in styles], cfg, self.encoder))
        return torch.cat(outs)

    def _arbitrary(self, x, styles, strength, preserve_color, style_scale) -> torch.Tensor:
        from imgedit.tiling import tiled
        from imgedit_style.arbitrary import blend_stats, feature_stats, wct
        from imgedit_style.transformer import run_native, with_margin

        dec = self.decoder
        taps = list(dec.taps)  # one level, or several for a multi-level decoder: WCT at each
        enc = self.encoder
        outs = []
        for i in range(x.shape[0]):
            xi = x[i:i + 1]
            long_side = max(32, round(max(xi.shape[-2:]) * style_scale))
            per_style = []
            for key, img, _ in styles:
                s = color.resize_long(self._style_for(key, img, xi, preserve_color), min(long_side, 1024))
                fs = enc(s, taps)
                per_style.append({t: feature_stats(fs[t]) for t in taps})
            weights = [w for _, _, w in styles]
            sstats = {t: blend_stats([ps[t] for ps in per_style], weights) for t in taps}
            whole = xi.shape[-2] * xi.shape[-1] <= self.ctx.tile_pixels
            small = color.resize(xi, color.fit_size(*xi.shape[-2:], 1024))
            cstats: dict | None = None  # None: wct measures the features it transforms
            if not (whole and small is xi):  # tiles (or a downscaled copy) share whole-image statistics
                fc = enc(small, taps)
                cstats = {t: feature_stats(fc[t]) for t in taps}

            def run(tile: torch.Tensor) -> torch.Tensor:
                f = enc(tile, taps)
                g = {t: wct(f[t], *sstats[t], strength, content_stats=cstats and cstats[t]) for t in taps}
                return run_native(lambda z: dec.decode(z, size=tuple(tile.shape[-2:])), g, self.ctx.dtype)

            outs.append(with_margin(lambda z: run(z) if whole else
                                    tiled(run, z, tile=max(256, int(self.ctx.tile_pixels ** 0.5)), overlap=64), xi))
        return torch.cat(outs)

    # -- video -----------------------------------------------------------------------------------
    def edit_sequence(self, frames: Iterable[Frame], **options: Any) -> Iterator[Frame]:
        """Stylise frame by frame, blending in the flow-warped previous output where the motion is
        consistent (:mod:`imgedit_style.temporal`); state is dropped at every ``scene_start``.

        Every frame is stylised from the photo itself. Starting ``optimize`` from the warped
        previous result (Ruder et al.) was tried and dropped: with the few steps per frame a video
        can afford, the style accumulated over the frames (after 100 frames the content was gone)
        and border pixels smeared inwards; blending independent results cannot drift."""
        from imgedit_style.temporal import FlowEstimator, TemporalBlender

        alpha = float(options.get("temporal", 0.7))
        method = None
        blender = None
        if alpha > 0:
            name = options.get("flow", "auto")
            if name not in self._flows:  # built once per model, reused for every video
                self._flows[name] = FlowEstimator(name, str(self.device))
            blender = TemporalBlender(alpha, self._flows[name])
        for fr in frames:
            if method is None:
                method = self.pick_method(options.get("method", "auto"), self.resolve_styles(options.get("style", ("starry_night",))))
            if blender is not None:
                if fr.scene_start:
                    blender.reset()
                blender.prepare(fr.image)
            out = self.edit(fr.image, **options, _method=method)
            if blender is not None:
                out = blender.blend(out)
            yield Frame(out.clamp(0, 1), fr.time, fr.index, fr.scene_start, fr.rate)


USER_TRAIN_COMMAND = "imgedit train style --style PAINTING.jpg --data PHOTOS/ --export"


def _unknown_style(value: str, user: Sequence[str] = ()) -> str:
    """The one line for a --style that is neither a file nor a shipped name: a path-looking value
    is a missing file; a name gets the closest shipped one; a comma list is a blend typed wrong."""
    import difflib
    from pathlib import PurePath

    shipped = ", ".join([*SHIPPED_STYLES, *user])
    if "," in value:
        return (f"style {value!r}: repeat --style for a blend (--style wave:0.5 --style udnie:0.5); "
                f"shipped styles: {shipped}")
    if PurePath(value).suffix or "/" in value or "\\" in value:
        return f"style image {value!r}: file not found (shipped styles: {shipped})"
    close = difflib.get_close_matches(value.lower(), [*SHIPPED_STYLES, *user], n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"style {value!r} is neither an image file nor a shipped style ({shipped}){hint}"
