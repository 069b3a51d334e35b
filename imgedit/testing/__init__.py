"""The plugin contract suite: every plugin — first-party or third-party — runs it in its tests.

Usage, in your plugin's ``tests/test_contract.py``::

    from imgedit.testing import PluginContract

    class TestMyPlugin(PluginContract):
        plugin = "sharpen"               # your entry point name (or distribution name)
        example_options = {"sharpen.unsharp": {"amount": "2"}}   # optional, per model
        image_size = 48                  # optional: H = W of the tiny test images
        trained_models = ("sharpen.mine",)  # optional: user models on your base_only specs,
                                            # trained by a fixture of the class

pytest then checks, for each model the plugin registers (and each of ``trained_models``):

- registration is valid: the plugin loads without error, registers at least one model, the
  factory imports and is an :class:`~imgedit.api.ImageModel` subclass overriding the methods
  its capabilities declare, and registration alone imports neither torch nor the factory module;
- each declared capability runs on tiny random images (``image_size`` x ``image_size``, default
  32, or the spec's ``min_size`` when larger) and returns the right shape, the input's dtype
  (float32) and range: what the model itself returns, before the runner's clamp, must be finite
  and within [0,1] give or take ``RANGE_TOLERANCE`` (a model returning 0-255 fails here);
  sequence models keep one output per frame (or the rate they claim); a spec's ``min_size`` is
  enforced (a smaller image is refused before the model runs);
- options validate: defaults parse, wrong types and out-of-range values raise ``OptionError``;
  ``example_options`` names only models of the plugin;
- weights load and match their sha256;
- no file IO: while models are built and run, ``open``, ``os.open``, ``Path.open``,
  ``torch.load`` and ``PIL.Image.open`` raise, so a model that reads files fails here.
"""
from __future__ import annotations

import builtins
import contextlib
import io
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import pytest

from imgedit.api import Capability, Frame, ImageModel, ModelSpec
from imgedit.errors import OptionError

__all__ = ["PluginContract", "no_file_io", "FileIOForbidden", "RANGE_TOLERANCE"]

#: how far outside [0,1] a model's own output may stray (resampling overshoot) before the contract
#: fails it; the runner clamps whatever is left
RANGE_TOLERANCE = 0.02


class FileIOForbidden(AssertionError):
    """Raised when a model touches files during the contract's no-file-IO checks."""


@contextlib.contextmanager
def no_file_io():
    """Make ``open`` and friends raise :class:`FileIOForbidden` inside the block."""
    import pathlib

    def forbid(name):
        def f(*args, **kwargs):
            raise FileIOForbidden(f"models must not do file IO, but {name}{args[:1]!r} was called")
        return f

    patches = [(builtins, "open"), (io, "open"), (os, "open"), (pathlib.Path, "open")]
    try:
        import torch
        import torch._dynamo  # noqa: F401  (torch.optim imports it lazily and reads package metadata)
        patches.append((torch, "load"))
        patches.append((torch, "save"))
    except ImportError:  # pragma: no cover
        pass
    try:
        import PIL.Image
        patches.append((PIL.Image, "open"))
    except ImportError:  # pragma: no cover
        pass
    try:  # OpenCV reads its config files on first import: that is not the model's file IO
        import cv2  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    saved = [(obj, name, getattr(obj, name)) for obj, name in patches]
    try:
        for obj, name, _ in saved:
            setattr(obj, name, forbid(f"{getattr(obj, '__name__', obj)}.{name}"))
        yield
    finally:
        for obj, name, orig in saved:
            setattr(obj, name, orig)


_METHOD_FOR = {Capability.ENCODE: "encode", Capability.GENERATE: "generate", Capability.EDIT: "edit",
               Capability.EDIT_SEQUENCE: "edit_sequence", Capability.FLOW: "flow"}


class PluginContract:
    """Subclass in your tests and set :attr:`plugin`. See the module docstring."""

    plugin: ClassVar[str] = ""
    #: per model name: option values to use in the capability runs (raw strings are fine)
    example_options: ClassVar[dict[str, dict[str, Any]]] = {}
    #: H = W of the random test images
    image_size: ClassVar[int] = 32
    #: frames in the sequence check
    sequence_length: ClassVar[int] = 4
    #: models built on this plugin's bases (its ``base_only`` specs) to check like its own: user
    #: models that a fixture of the test class trained (``("vae.tiny",)``), so a plugin that ships
    #: no weights yet is checked beyond its registration
    trained_models: ClassVar[tuple[str, ...]] = ()

    # -- helpers ----------------------------------------------------------------------------
    @classmethod
    def _registry(cls):
        from imgedit.registry import get_registry

        return get_registry()

    @classmethod
    def _record(cls):
        if not cls.plugin:
            pytest.fail(f"{cls.__name__}: set `plugin` to your entry point name")
        for rec in cls._registry().plugins:
            if cls.plugin.lower() in (rec.name.lower(), rec.package.lower()):
                return rec
        names = ", ".join(f"{r.name} ({r.package})" for r in cls._registry().plugins) or "none"
        pytest.fail(f"plugin {cls.plugin!r} is not installed (installed: {names}); "
                    "is its entry point in the 'imgedit.plugins' group and IMGEDIT_PLUGINS unset?")

    @classmethod
    def _specs(cls) -> list[ModelSpec]:
        rec = cls._record()
        reg = cls._registry()
        own = [reg.models[n] for n in rec.models if n in reg.models and not reg.models[n].base_only]
        bases = {n: reg.models[n] for n in rec.models if n in reg.models and reg.models[n].base_only}
        for name in cls.trained_models:
            spec = reg.get(name)
            base = bases.get(name.partition(".")[0])
            assert base is not None and spec.factory == base.factory, \
                f"{name} is not built on a base model of plugin {rec.package} (bases: {', '.join(sorted(bases)) or 'none'})"
            own.append(spec)
        return own

    def _build(self, spec: ModelSpec):
        """Build on the CPU in fp32 with weights pre-loaded, so the model itself does no IO."""
        from imgedit import weights as weights_mod
        from imgedit.engine import build

        loaded = build(spec, device="cpu", precision="fp32")
        try:  # the core's shared perceptual encoder reads the core's files, not the model's: build it here
            from imgedit.perceptual.backbone import get_encoder

            get_encoder("cpu")
        except Exception:  # noqa: BLE001 - not installed: a model that needs it fails on its own
            pass
        cache = {w.name: weights_mod.load(spec, w.name) for w in spec.weights}
        ctx = loaded.ctx
        ctx._load_weights = lambda name: cache[name] if name in cache else weights_mod.load(spec, name)
        return loaded, cache

    def _images(self, n: int = 2, seed: int = 0, size: int | None = None):
        import torch

        g = torch.Generator().manual_seed(seed)
        size = size or self.image_size
        return torch.rand((n, 3, size, size), generator=g)

    def _size(self, spec: ModelSpec) -> int:
        return max(self.image_size, spec.min_size)

    @staticmethod
    def _check_raw(out, name: str, dtype) -> None:
        """What the model returned itself (the engine clamps after this)."""
        import torch

        if not isinstance(out, torch.Tensor):
            return  # reported by the engine-level checks
        assert out.dim() == 4 and out.shape[1] == 3, f"{name}: shape {tuple(out.shape)} is not (B,3,H,W)"
        assert out.dtype == dtype, f"{name}: returned dtype {out.dtype}, the input's is {dtype}"
        assert torch.isfinite(out).all(), f"{name}: output has NaN/inf"
        lo, hi = float(out.min()), float(out.max())
        assert lo >= -RANGE_TOLERANCE and hi <= 1 + RANGE_TOLERANCE, \
            f"{name}: returned values in [{lo:.3g}, {hi:.3g}]; images must be in [0,1]" + \
            (" (a 0-255 result? divide by 255)" if hi > 2 else "")

    def _watch(self, model, spec: ModelSpec) -> None:
        """Check every image the model's own methods return (internal calls included)."""
        import torch

        def wrap(method: str):
            orig = getattr(model, method)

            def checked(*args, **kwargs):
                out = orig(*args, **kwargs)
                self._check_raw(out, f"{spec.name}.{method}", torch.float32)
                return out
            setattr(model, method, checked)

        for method in ("edit", "generate"):
            wrap(method)
        orig_seq = model.edit_sequence

        def seq(*args, **kwargs):
            for fr in orig_seq(*args, **kwargs):
                self._check_raw(getattr(fr, "image", None), f"{spec.name}.edit_sequence", torch.float32)
                yield fr
        model.edit_sequence = seq

    @staticmethod
    def _check_images(out, name: str, batch: int | None = None) -> None:
        import torch

        assert isinstance(out, torch.Tensor), f"{name}: returned {type(out).__name__}, not a tensor"
        assert out.dim() == 4 and out.shape[1] == 3, f"{name}: shape {tuple(out.shape)} is not (B,3,H,W)"
        if batch is not None:
            assert out.shape[0] == batch, f"{name}: batch {out.shape[0]} != {batch}"
        assert out.dtype == torch.float32, f"{name}: dtype {out.dtype} is not float32"
        assert torch.isfinite(out).all(), f"{name}: output has NaN/inf"
        assert out.min() >= 0 and out.max() <= 1, f"{name}: output outside [0,1]"

    # -- registration ----------------------------------------------------------------------
    def test_plugin_loads(self):
        rec = self._record()
        assert rec.status == "ok", f"plugin {rec.package} is {rec.status}: {rec.error}"
        assert rec.models or rec.trainers, f"plugin {rec.package} registered nothing"

    def test_models_are_valid(self):
        from imgedit.plugins import import_object

        for spec in self._specs():
            cls = import_object(spec.factory)
            assert isinstance(cls, type) and issubclass(cls, ImageModel), \
                f"{spec.name}: {spec.factory} is not an ImageModel subclass"
            for cap in spec.capabilities:
                method = _METHOD_FOR[cap]
                if cap == Capability.EDIT_SEQUENCE and getattr(cls, "edit") is not ImageModel.edit:
                    continue  # the default edit_sequence runs edit frame by frame
                assert getattr(cls, method) is not getattr(ImageModel, method), \
                    f"{spec.name} declares {cap.value} but does not override {method}()"
            if spec.can(Capability.ENCODE) or spec.can(Capability.GENERATE):
                assert spec.latent_shape, f"{spec.name}: encode/generate models must declare latent_shape"

    def test_registration_is_light(self):
        """Registration must not import torch or any model module (``imgedit models`` stays fast)."""
        rec = self._record()
        factories = sorted({s.factory.partition(":")[0] for s in self._specs()} - {rec.module})
        code = (
            "import sys\nfrom imgedit.registry import get_registry\n"
            f"reg = get_registry()\nrec = [r for r in reg.plugins if r.name == {rec.name!r}][0]\n"
            "assert rec.status == 'ok', rec.error\n"
            "heavy = [m for m in ('torch', 'cv2') if m in sys.modules]\n"
            f"heavy += [m for m in {factories!r} if m in sys.modules]\n"
            "print(','.join(heavy))\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "IMGEDIT_PLUGINS"}
        env["IMGEDIT_PLUGINS"] = rec.name
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # same plugins as this process
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        heavy = res.stdout.strip()
        assert not heavy, f"registering plugin {rec.name} imported: {heavy}"

    # -- options ---------------------------------------------------------------------------
    def test_options_validate(self):
        for spec in self._specs():
            spec.resolve_options({})  # defaults must be valid
            with pytest.raises(OptionError):
                spec.resolve_options({"no_such_option_xyz": "1"})
            for o in spec.options:
                bad = {"int": "not-a-number", "float": "not-a-number", "bool": "maybe",
                       "choice": "__not_a_choice__"}.get(o.type)
                if bad is not None:
                    with pytest.raises(OptionError):
                        spec.resolve_options({o.name: bad})
                if o.type in ("int", "float"):
                    if o.min is not None:
                        with pytest.raises(OptionError):
                            spec.resolve_options({o.name: str(o.min - 1)})
                    if o.max is not None:
                        with pytest.raises(OptionError):
                            spec.resolve_options({o.name: str(o.max + 1)})
            spec.resolve_options(self.example_options.get(spec.name, {}))
        names = {spec.name for spec in self._specs()}
        unknown = sorted(set(self.example_options) - names)
        assert not unknown, (f"example_options names {', '.join(map(repr, unknown))}, not a model of plugin "
                             f"{self.plugin!r} (its models: {', '.join(sorted(names))})")

    # -- weights ---------------------------------------------------------------------------
    def test_weights_load_and_match(self):
        from imgedit import weights as weights_mod

        for spec in self._specs():
            for wf in spec.weights:
                path = weights_mod.locate(wf)
                weights_mod.verify(wf, path)
                tensors = weights_mod.load(spec, wf.name)
                assert tensors, f"{spec.name}: weight file {wf.filename} holds no tensors"

    # -- capabilities ----------------------------------------------------------------------
    def test_capabilities_run_without_file_io(self):
        import torch

        for spec in self._specs():
            opts_raw = self.example_options.get(spec.name, {})
            loaded, _ = self._build(spec)
            opts = loaded.prepare(opts_raw)
            with no_file_io():
                # build again inside the guard: constructors must not read files either
                cls = type(loaded.model)
                loaded.model = cls(loaded.ctx)
                if isinstance(loaded.model, torch.nn.Module):
                    loaded.model.to(loaded.ctx.device)
                self._watch(loaded.model, spec)
                size = self._size(spec)
                if spec.can(Capability.EDIT):
                    x = self._images(2, size=size)
                    before = x.clone()
                    out = loaded.edit(x, opts)
                    self._check_images(out, f"{spec.name}.edit", batch=2)
                    assert torch.equal(x, before), f"{spec.name}.edit modified its input tensor"
                if spec.can(Capability.ENCODE):
                    z = loaded.encode(self._images(2, size=size), opts)
                    assert z.dtype == torch.float32, f"{spec.name}.encode: dtype {z.dtype} is not float32"
                    assert tuple(z.shape) == (2, *spec.latent_shape), \
                        f"{spec.name}.encode: shape {tuple(z.shape)} != (2, *{spec.latent_shape})"
                    assert torch.isfinite(z).all(), f"{spec.name}.encode: NaN/inf in latents"
                if spec.can(Capability.GENERATE):
                    z = loaded.sample_latents(2, seed=0, options=opts)
                    assert tuple(z.shape) == (2, *spec.latent_shape), f"{spec.name}.sample_latents shape"
                    z2 = loaded.sample_latents(2, seed=0, options=opts)
                    assert torch.equal(z, z2), f"{spec.name}.sample_latents is not deterministic per seed"
                    img = loaded.generate(z, options=opts)
                    self._check_images(img, f"{spec.name}.generate", batch=2)
                if spec.can(Capability.EDIT_SEQUENCE):
                    self._check_sequence(loaded, spec, opts)
                if spec.can(Capability.FLOW):
                    self._check_flow(loaded, spec, opts)

    def test_min_size_is_enforced(self):
        """A spec's ``min_size`` is checked before the model runs: a smaller image is an
        InputError "image too small (WxH, needs N)" and the model is never called."""
        from imgedit.errors import InputError

        for spec in self._specs():
            if not spec.min_size or not (spec.can(Capability.EDIT) or spec.can(Capability.ENCODE)):
                continue
            loaded, _ = self._build(spec)
            opts = loaded.prepare(self.example_options.get(spec.name, {}))
            called = []
            for method in ("edit", "encode", "encode_with_extras"):
                orig = getattr(loaded.model, method)
                setattr(loaded.model, method, lambda *a, _o=orig, **k: called.append(1) or _o(*a, **k))
            small = self._images(1, size=spec.min_size - 1)
            run = loaded.edit if spec.can(Capability.EDIT) else loaded.encode
            with pytest.raises(InputError, match=f"image too small .* needs {spec.min_size}"):
                run(small, opts)
            assert not called, f"{spec.name}: the model was called with an image below its min_size"

    def _check_flow(self, loaded, spec: ModelSpec, opts: dict) -> None:
        import torch

        a = self._images(2, seed=2, size=self._size(spec))
        f = loaded.flow(a, a.clone(), opts)
        assert tuple(f.shape) == (2, 2, *a.shape[-2:]), \
            f"{spec.name}.flow: shape {tuple(f.shape)} != (2, 2, {a.shape[-2]}, {a.shape[-1]})"
        assert torch.isfinite(f).all(), f"{spec.name}.flow: NaN/inf in the flow"
        still = float(f.abs().mean())
        assert still < 0.5, f"{spec.name}.flow of an image with itself moves {still:.2f} px on average (expected ~0)"

    def _check_sequence(self, loaded, spec: ModelSpec, opts: dict) -> None:
        n, rate = self.sequence_length, Fraction(24)
        imgs = self._images(n, seed=1, size=self._size(spec))
        frames = [Frame(imgs[i:i + 1], Fraction(i) / rate, i, i in (0, n // 2), rate) for i in range(n)]
        outs = list(loaded.edit_sequence(iter(frames), opts))
        for fr in outs:
            assert isinstance(fr, Frame), f"{spec.name}.edit_sequence must yield Frame objects"
            self._check_images(fr.image, f"{spec.name}.edit_sequence", batch=1)
        if spec.sequence_output == "same":
            assert len(outs) == n, f"{spec.name}.edit_sequence yielded {len(outs)} frames for {n}"
        else:
            out_rate = loaded.output_rate(rate, opts)
            expected = round(n * out_rate / rate)
            assert len(outs) == expected, \
                f"{spec.name}.edit_sequence yielded {len(outs)} frames; {n} at {rate} fps -> {out_rate} fps " \
                f"should give {expected}"
        assert [f.index for f in outs] == sorted(f.index for f in outs), "frames out of order"
