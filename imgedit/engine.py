"""Build a registered model and call it safely from Python: ``imgedit.load_model(name)``.

:class:`LoadedModel` wraps a plugin's :class:`~imgedit.api.ImageModel`: it validates options
against the spec, resolves ``image`` options, moves tensors to the device, runs the call inside
``torch.inference_mode()`` and the chosen autocast, and returns float32 in [0,1]. It accepts
tensors (B,3,H,W) / (3,H,W) or PIL images, and returns the same kind it was given. PIL images
are read and written back by the CLI's image rules (:func:`imgedit.io.images.image_from_pil`,
:func:`~imgedit.io.images.image_to_pil`): 16-bit gray at full scale, alpha kept (the model sees
RGB), gray stays gray, EXIF orientation applied.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import torch

from imgedit import weights as weights_mod
from imgedit.api import (Capability, DirectionArg, Frame, ImageArg, ImageModel, ModelContext, ModelSpec, parse_direction,
                         parse_weighted)
from imgedit.devices import resolve_device, resolve_precision
from imgedit.errors import CapabilityError, InputError, ModelNotFoundError, PluginError, UsageError
from imgedit.plugins import import_object
from imgedit.registry import get_registry

DEFAULT_TILE_PIXELS = 2048 * 2048


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """H x W x 3 float32 [0,1] array -> (1,3,H,W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).permute(2, 0, 1)[None]


def from_tensor(t: torch.Tensor) -> np.ndarray:
    """(1,3,H,W) or (3,H,W) tensor -> H x W x 3 float32 array in [0,1]."""
    if t.dim() == 4:
        t = t[0]
    return t.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0).numpy()


def _read_pil(img):
    """A PIL image -> the CLI reader's :class:`~imgedit.io.images.Image` (16-bit scale, alpha,
    gray, EXIF orientation): see :func:`imgedit.io.images.image_from_pil`."""
    from imgedit.io.images import image_from_pil

    return image_from_pil(img)


def _to_pil(t: torch.Tensor, source=None):
    """A model output (1,3,H,W) -> PIL by the CLI writer's rules; ``source`` (the input's
    :class:`~imgedit.io.images.Image`) supplies alpha (resized if the size changed), gray and
    bit depth, ICC profile and EXIF."""
    from imgedit.io.images import Image, image_to_pil

    if source is None:
        source = Image(pixels=None, alpha=None, gray=False, bit_depth=8, format="PNG")
    return image_to_pil(source.with_pixels(from_tensor(t)))


def resolve_image_arg(raw: Any, max_pixels: int | None = None) -> ImageArg:
    """Turn an ``image`` option value into an :class:`ImageArg` (reading the file if it is one)."""
    if isinstance(raw, ImageArg):
        return raw
    if isinstance(raw, torch.Tensor):
        return ImageArg("<tensor>", raw if raw.dim() == 4 else raw[None], 1.0)
    if hasattr(raw, "convert"):  # PIL image
        return ImageArg("<image>", to_tensor(_read_pil(raw).pixels), 1.0)
    value, weight = parse_weighted(str(raw))
    path = Path(value).expanduser()
    if path.is_file():
        from imgedit.errors import InputError
        from imgedit.io.images import DEFAULT_MAX_PIXELS, read_image

        try:
            img = read_image(path, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
        except InputError as exc:
            raise UsageError(str(exc)) from None
        return ImageArg(str(path), to_tensor(img.pixels), weight)
    return ImageArg(value, None, weight)


class LoadedModel:
    """A ready-to-call model. Create it with :func:`load_model`."""

    def __init__(self, spec: ModelSpec, model: ImageModel, ctx: ModelContext):
        self.spec, self.model, self.ctx = spec, model, ctx

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"<LoadedModel {self.spec.name} on {self.ctx.device} ({self.ctx.precision})>"

    # -- option handling -------------------------------------------------------------------
    def options(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate options (raw strings or values), fill defaults, resolve image options."""
        opts = self.spec.resolve_options(dict(given or {}))
        for o in self.spec.options:
            if o.type not in ("image", "direction") or opts.get(o.name) is None:
                continue
            resolve = resolve_image_arg if o.type == "image" else self.resolve_direction
            v = opts[o.name]
            opts[o.name] = tuple(resolve(x) for x in v) if o.multiple else resolve(v)
        return opts

    def resolve_direction(self, raw: Any) -> DirectionArg:
        """``NAME[:S]`` -> :class:`DirectionArg`: a direction file (made for this model and these
        weights) is read here, a shipped name is left for the model."""
        if isinstance(raw, DirectionArg):
            return raw
        from imgedit.errors import InputError
        from imgedit.latent import DIRECTION_SUFFIX, load_direction, weights_fingerprint

        name, strength = parse_direction(str(raw))
        path = Path(name).expanduser()
        if path.is_file():
            try:
                vec = load_direction(path, model=self.spec.name, weights_sha256=weights_fingerprint(self.spec))
            except InputError as exc:
                raise UsageError(str(exc)) from None
            stem = path.name[:-len(DIRECTION_SUFFIX)] if path.name.endswith(DIRECTION_SUFFIX) else path.stem
            return DirectionArg(stem, strength, vec)
        if name.endswith(".safetensors") or "/" in name:
            raise UsageError(f"direction file {name} not found")
        return DirectionArg(name, strength, None)

    def _need(self, cap: Capability) -> None:
        if not self.spec.can(cap) and not (cap == Capability.EDIT_SEQUENCE and self.spec.can(Capability.EDIT)):
            caps = ", ".join(c.value for c in self.spec.capabilities)
            raise CapabilityError(f"model {self.spec.name} cannot {cap.value} (it can: {caps})")

    def _contexts(self):
        import contextlib

        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        stack.enter_context(self.ctx.autocast())
        return stack

    def _check_size(self, t: torch.Tensor) -> None:
        check_min_size(self.spec, t.shape[-2], t.shape[-1], "image")

    def _prepare(self, images) -> tuple[torch.Tensor, str, list]:
        """-> (batch on the device, kind of input, the decoded PIL inputs (empty for tensors)).
        PIL images are read by the CLI's rules (:func:`imgedit.io.images.image_from_pil`)."""
        if isinstance(images, torch.Tensor):
            kind = "tensor3" if images.dim() == 3 else "tensor"
            t = images[None] if images.dim() == 3 else images
            if t.dim() != 4 or t.shape[1] != 3:
                raise UsageError(f"expected images of shape (B,3,H,W), got {tuple(images.shape)}")
            self._check_size(t)
            return t.to(self.ctx.device, torch.float32), kind, []
        if isinstance(images, (list, tuple)) and images and hasattr(images[0], "convert"):
            kind, read = "pil_list", [_read_pil(i) for i in images]
        elif hasattr(images, "convert"):
            kind, read = "pil", [_read_pil(images)]
        else:
            raise UsageError(f"expected a tensor or PIL image, got {type(images).__name__}")
        sizes = {r.pixels.shape[:2] for r in read}
        if len(sizes) > 1:
            raise UsageError(f"images in one call must have one size, got {len(sizes)} sizes "
                             "(H x W: " + ", ".join(f"{h}x{w}" for h, w in sorted(sizes)) + ")")
        t = torch.cat([to_tensor(r.pixels) for r in read])
        self._check_size(t)
        return t.to(self.ctx.device), kind, read

    @staticmethod
    def _finish(out: torch.Tensor, kind: str, sources: list | None = None):
        """Model output -> what the caller gave: tensors, or PIL images written back by the CLI's
        rules (alpha re-attached, gray stays gray, 16-bit gray stays I;16)."""
        out = out.float().clamp(0, 1)
        if kind in ("pil", "pil_list"):
            sources = list(sources or [])
            outs = [_to_pil(o, sources[i] if i < len(sources) else None) for i, o in enumerate(out)]
            return outs[0] if kind == "pil" else outs
        return out[0] if kind == "tensor3" else out

    # -- capabilities ------------------------------------------------------------------------
    def prepare(self, options: Mapping[str, Any] | None = None, **kw) -> dict[str, Any]:
        """Validate options with the model itself (see :meth:`ImageModel.prepare`) once, before
        a batch; returns the resolved options to pass to the calls."""
        opts = self.options({**(options or {}), **kw})
        with self._contexts():
            self.model.prepare(**opts)
        return opts

    def edit(self, images, options: Mapping[str, Any] | None = None, **kw):
        """Edit images: tensor (B,3,H,W)/(3,H,W), a PIL image or a list of them."""
        self._need(Capability.EDIT)
        opts = self.options({**(options or {}), **kw})
        x, kind, sources = self._prepare(images)
        self.ctx.notes.clear()
        with self._contexts():
            out = self.model.edit(x, **opts)
        if colour_result(self.spec, opts):
            import dataclasses

            sources = [dataclasses.replace(r, gray=False) for r in sources]
        return self._finish(out, kind, sources)

    def encode(self, images, options: Mapping[str, Any] | None = None, **kw) -> torch.Tensor:
        return self.encode_with_extras(images, options, **kw)[0]

    def encode_with_extras(self, images, options: Mapping[str, Any] | None = None,
                           **kw) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """:meth:`encode` plus the model's extra tensors per image (``{name: (B, ...)}``, e.g. a
        VAE's log-variance), which latent files keep as ``extra.<name>``."""
        self._need(Capability.ENCODE)
        opts = self.options({**(options or {}), **kw})
        x, _, _ = self._prepare(images)
        self.ctx.notes.clear()
        with self._contexts():
            z, extras = self.model.encode_with_extras(x, **opts)
            return z.float().cpu(), {k: v.float().cpu() for k, v in extras.items()}

    def take_notes(self, n: int) -> list[list[str]]:
        """The notes the model made (:meth:`ModelContext.warn`) during the last edit/encode call,
        per image of its batch of ``n``; cleared."""
        out: list[list[str]] = [[] for _ in range(n)]
        for index, message in self.ctx.notes:
            for i in (range(n) if index is None else [index] if 0 <= index < n else []):
                if message not in out[i]:
                    out[i].append(message)
        self.ctx.notes.clear()
        return out

    def sample_latents(self, n: int, seed: int = 0, options: Mapping[str, Any] | None = None) -> torch.Tensor:
        """``n`` latents; latent i depends only on ``seed + i`` (stable across batch sizes)."""
        opts = self.options(options)
        outs = []
        for i in range(n):
            g = torch.Generator().manual_seed(seed + i)
            outs.append(self.model.sample_latents(1, g, **opts))
        return torch.cat(outs)

    def generate(self, latents: torch.Tensor | None = None, n: int = 1, seed: int = 0,
                 options: Mapping[str, Any] | None = None, pil: bool = False, **kw):
        self._need(Capability.GENERATE)
        opts = self.options({**(options or {}), **kw})
        if latents is None:
            latents = self.sample_latents(n, seed, options={**(options or {}), **kw})
        with self._contexts():
            out = self.model.generate(latents.to(self.ctx.device), **opts)
        return self._finish(out, "pil_list" if pil else "tensor")

    def edit_sequence(self, frames: Iterable[Frame | torch.Tensor], options: Mapping[str, Any] | None = None,
                      rate: Fraction | float = Fraction(25), **kw) -> Iterator[Frame]:
        """Run the model over frames in order. Plain tensors are wrapped as one scene at ``rate``
        frames per second; :class:`~imgedit.api.Frame` objects keep their own fields."""
        self._need(Capability.EDIT_SEQUENCE)
        opts = self.options({**(options or {}), **kw})
        fps = Fraction(rate).limit_denominator(100000)

        def wrap() -> Iterator[Frame]:
            for i, f in enumerate(frames):
                if not isinstance(f, Frame):
                    t, _, _ = self._prepare(f)
                    f = Frame(t, Fraction(i) / fps, i, i == 0, fps)
                else:
                    self._check_size(f.image)
                    f.image = f.image.to(self.ctx.device, torch.float32)
                    if f.rate is None:
                        f.rate = fps
                yield f

        gen = self.model.edit_sequence(wrap(), **opts)
        while True:
            with self._contexts():
                try:
                    out = next(gen)
                except StopIteration:
                    return
            out.image = out.image.float().clamp(0, 1)
            yield out

    def output_rate(self, input_rate: Fraction, options: Mapping[str, Any] | None = None) -> Fraction:
        return Fraction(self.model.output_rate(Fraction(input_rate), **self.options(options)))

    def flow(self, a, b, options: Mapping[str, Any] | None = None, **kw) -> torch.Tensor:
        """Optical flow from ``a`` to ``b`` (tensors or PIL images of one size): (B,2,H,W)
        float32 in pixels, ``b(p + flow[p]) ~ a(p)`` (see :meth:`ImageModel.flow`)."""
        self._need(Capability.FLOW)
        opts = self.options({**(options or {}), **kw})
        x, _, _ = self._prepare(a)
        y, _, _ = self._prepare(b)
        if x.shape != y.shape:
            raise UsageError(f"flow needs two images of one size, got {tuple(x.shape)} and {tuple(y.shape)}")
        with self._contexts():
            out = self.model.flow(x, y, **opts)
        return out.float()


def colour_result(spec: ModelSpec, options: Mapping[str, Any]) -> bool:
    """Whether a gray input's result is written in colour: the model declares ``color_output``
    and its ``preserve_color`` option is off (the CLI's writer and the PIL API both ask this)."""
    return spec.color_output and not options.get("preserve_color")


def check_min_size(spec: ModelSpec, height: int, width: int, source: os.PathLike | str) -> None:
    """:class:`InputError` "image too small (20x20, needs 32)" when the model declares a larger
    ``min_size`` (checked before the model is called)."""
    need = spec.min_size
    if need and (height < need or width < need):
        raise InputError(source, f"image too small ({width}x{height}, needs {need})")


def load_model(name: str | None = None, device: str = "auto", precision: str = "auto",
               tile_pixels: int = DEFAULT_TILE_PIXELS, *, task: str | None = None) -> LoadedModel:
    """Build model ``name`` from the installed plugins, ready to call on tensors or PIL images;
    or, with ``task=`` and no name, the best installed model for that task (highest priority).
    Raises :class:`~imgedit.errors.ModelNotFoundError` when there is none."""
    reg = get_registry()
    if name is None:
        if task is None:
            raise UsageError("load_model: give a model name or task=")
        specs = reg.for_task(task)
        if not specs:
            raise ModelNotFoundError(f"no installed plugin provides `{task}`",
                                     hint="see `imgedit models` for what is installed")
        spec = specs[0]
    else:
        spec = reg.get(name)
    return build(spec, device=device, precision=precision, tile_pixels=tile_pixels)


def build(spec: ModelSpec, device: str = "auto", precision: str = "auto",
          tile_pixels: int = DEFAULT_TILE_PIXELS) -> LoadedModel:
    threads = os.environ.get("IMGEDIT_THREADS", "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise UsageError(f"IMGEDIT_THREADS={threads!r}: expected a positive integer")
        torch.set_num_threads(int(threads))
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev, spec.precisions)
    ctx = ModelContext(spec, device=dev, precision=prec.name, dtype=prec.dtype, tile_pixels=tile_pixels,
                       load_weights=lambda wname: weights_mod.load(spec, wname, device="cpu"),
                       load_weight_bytes=lambda wname: weights_mod.load_bytes(spec, wname),
                       threads=torch.get_num_threads())
    try:
        cls = import_object(spec.factory)
    except Exception as exc:  # noqa: BLE001
        raise PluginError(f"model {spec.name} (plugin {spec.plugin}): cannot import {spec.factory}: "
                          f"{type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, ImageModel)):
        raise PluginError(f"model {spec.name}: {spec.factory} is not an ImageModel subclass")
    model = cls(ctx)
    to = getattr(model, "to", None)
    if callable(to) and isinstance(model, torch.nn.Module):
        model.to(dev)
    return LoadedModel(spec, model, ctx)
