"""``imgedit plugin new NAME``: write a complete, working plugin distribution to start from.

``new_plugin("sharpen", kind="edit")`` writes ``imgedit-sharpen/``::

    pyproject.toml               the ``imgedit.plugins`` entry point (the whole plugin mechanism)
    .gitignore                   build outputs
    README.md                    install, run, test
    imgedit_sharpen/__init__.py
    imgedit_sharpen/plugin.py    registration: ModelSpec(s), imports no torch
    imgedit_sharpen/model.py     the model: tensors in, tensors out
    tests/test_sharpen_contract.py   imgedit.testing.PluginContract, plus one test of the model

Kinds: ``edit`` (per-image edit, ``NAME.invert``), ``encode-generate`` (a latent model without
weights, ``NAME.thumbnail``: encode, generate, and edit along directions) and ``sequence`` (a
model with memory across video frames, ``NAME.trail``). Every skeleton runs as written and passes
its own tests. The templates are strings in this module (no package data to install); it is
imported only when the command runs, so ``imgedit --help`` stays light.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from imgedit.errors import UsageError

KINDS = ("edit", "encode-generate", "sequence")
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
MAX_NAME = 40


@dataclass
class Scaffold:
    """What :func:`new_plugin` wrote."""

    folder: Path
    name: str                    #: entry point (plugin) name, the prefix of its model names
    package: str                 #: the Python package, ``imgedit_NAME``
    kind: str
    models: list[str]
    files: list[Path] = field(default_factory=list)   #: relative to ``folder``
    commands: list[str] = field(default_factory=list)  #: example commands (run, then test)


def check_name(name: str) -> str:
    """The plugin name, or a :class:`UsageError` saying what a name may be."""
    if not NAME_RE.fullmatch(name or "") or len(name) > MAX_NAME:
        raise UsageError(f"plugin name {name!r}: use lowercase letters and digits, starting with a letter, "
                         f"with single - or _ between words (at most {MAX_NAME} characters), e.g. sharpen or my-fx")
    if name == "imgedit" or re.match(r"imgedit[-_]", name):
        bare = re.sub(r"^imgedit[-_]?", "", name) or "sharpen"
        raise UsageError(f"plugin name {name!r}: give it without the imgedit- prefix ({bare}: the folder "
                         f"and distribution become imgedit-{bare})")
    owner = _installed_plugins().get(name)
    if owner is not None and _norm(owner) != _norm(f"imgedit-{name}"):
        raise UsageError(f"plugin name {name!r} is taken: the installed package {owner} has a plugin of that name",
                         hint="choose another NAME")
    return name


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _installed_plugins() -> dict[str, str]:
    """Entry point name -> distribution name, read from package metadata (no plugin imported)."""
    from importlib import metadata

    from imgedit.api import ENTRY_POINT_GROUP

    out: dict[str, str] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        out.setdefault(ep.name.lower(), dist.metadata["Name"] if dist is not None else "?")
    return out


def new_plugin(name: str, kind: str = "edit", parent: os.PathLike | str = ".") -> Scaffold:
    """Write ``PARENT/imgedit-NAME/`` for a plugin of ``kind``; refuses an existing folder."""
    if kind not in KINDS:
        raise UsageError(f"--kind {kind!r}: choose one of {', '.join(KINDS)}")
    check_name(name)
    parent = Path(parent).expanduser()
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"--dir {parent}: not a folder")
    folder = parent / f"imgedit-{name}"
    if folder.exists() or folder.is_symlink():
        raise UsageError(f"{folder} already exists: not overwriting it",
                         hint="choose another NAME or --dir, or remove that folder first")
    package = "imgedit_" + name.replace("-", "_")
    t = _KIND[kind]
    subs = {"__PKGTAIL__": name.replace("-", "_"), "__NAME__": name, "__PKG__": package, "__KIND__": kind, "__SUMMARY__": t["summary"]}
    texts = {
        "pyproject.toml": _PYPROJECT,
        ".gitignore": "__pycache__/\n*.egg-info/\nbuild/\ndist/\n",
        "README.md": _README.replace("__RUN__", t["run"]).replace("__MODEL_NOTES__", t["notes"]),
        f"{package}/__init__.py": _INIT,
        f"{package}/plugin.py": t["plugin"],
        f"{package}/model.py": t["model"],
        # named after the plugin: pytest refuses two test files of one name in a tree without
        # __init__.py files (several plugins side by side in one repository)
        f"tests/test_{name.replace('-', '_')}_contract.py": t["test"],
    }
    parent.mkdir(parents=True, exist_ok=True)
    # write into a hidden temporary folder beside the target, then rename it into place: an
    # interrupted run leaves no half-written plugin behind
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    try:
        for rel, text in texts.items():
            for key, value in subs.items():
                text = text.replace(key, value)
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text.lstrip("\n"), encoding="utf-8")
        tmp.chmod(0o777 & ~_umask())
        if folder.exists():
            raise UsageError(f"{folder} already exists: not overwriting it")
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    run = [line.strip() for line in t["run"].replace("__NAME__", name).splitlines()
           if line.strip().startswith("imgedit ")]
    return Scaffold(folder=folder, name=name, package=package, kind=kind,
                    models=[m.replace("__NAME__", name) for m in t["models"]],
                    files=[Path(rel) for rel in texts],
                    commands=[f"cd {folder}", "pip install -e .", "imgedit models", *run,
                              'pip install -e ".[test]"', "pytest"])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- templates (tokens: __NAME__ plugin name, __PKG__ package, __KIND__, __SUMMARY__) ----------

_PYPROJECT = '''
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "imgedit-__NAME__"
version = "0.1.0"
description = "imgedit plugin: __SUMMARY__"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["imgedit"]

[project.optional-dependencies]
test = ["imgedit[test]"]   # pytest, through imgedit's own test extra

# This table is the whole plugin mechanism: imgedit finds the registration module through the
# "imgedit.plugins" entry-point group. The name on the left is the plugin's name.
[project.entry-points."imgedit.plugins"]
__NAME__ = "__PKG__.plugin"

[tool.setuptools]
packages = ["__PKG__"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

_INIT = '''
"""imgedit-__NAME__: an imgedit plugin (__KIND__). Registration is in plugin.py, the model in model.py."""
'''

_README = '''
# imgedit-__NAME__

An imgedit plugin: __SUMMARY__
(Made by `imgedit plugin new __NAME__ --kind __KIND__`.)

## Install

In the Python environment where imgedit is installed, from this folder:

```sh
pip install -e .
```

## Run

```sh
imgedit models                 # lists the plugin's models (imgedit plugins: its status)
__RUN__
```

## Test

```sh
pip install -e ".[test]"       # pytest, via imgedit[test]; or: pip install "imgedit[test]"
                               # (from an imgedit source checkout: pip install -e "PATH/TO/imgedit[test]")
pytest
```

`tests/test___PKGTAIL___contract.py` runs imgedit's plugin contract suite (`imgedit.testing.PluginContract`):
registration is valid and imports no torch, each capability runs on tiny tensors with the right
shape, dtype and range, options validate, weights match their sha256, models do no file IO.
Keep it, and add tests of your own beside it.

## Where your code goes

- `__PKG__/plugin.py`: one `register(ModelSpec(...))` per model: its name (`__NAME__.MODEL`),
  summary, capabilities, options (`-o key=value`), weights. It runs every time imgedit lists
  models, so it must not import torch or your model code.
- `__PKG__/model.py`: the model class named by `factory=`. Tensors in, tensors out,
  (B,3,H,W) float32 in [0,1]; no file IO (imgedit reads and writes every image, video and latent).
  __MODEL_NOTES__
- Weights: safetensors files declared with `WeightFile(name, filename, sha256)` in the spec and
  read with `self.ctx.load_weights(name)` (sha256-checked; see `imgedit.api.WeightFile`).
'''

_EDIT = dict(
    summary="invert the colours of images and videos (a per-image edit).",
    models=["__NAME__.invert"],
    run='''imgedit models __NAME__.invert   # its options
imgedit edit -m __NAME__.invert photos/ out/ -o amount=0.5
imgedit edit -m __NAME__.invert clip.mp4 out/   # videos: frame by frame''',
    notes="Replace the body of `Invert.edit` with your edit; build networks and load weights in\n"
          "  `__init__(self, ctx)` (call `super().__init__(ctx)` first).",
    plugin='''
"""Registration module: imported every time imgedit lists models, so it must stay light (no
torch, no model code). One register(ModelSpec(...)) call per model."""
from imgedit.api import Capability, ModelSpec, Option, hookimpl


@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(
        # PLUGIN.MODEL, unique across all plugins
        name="__NAME__.invert",
        summary="Invert the colours (amount < 1 blends with the original).",
        # "module:Class", imported only when the model runs
        factory="__PKG__.model:Invert",
        capabilities=(Capability.EDIT,),           # edit(): images in, images out
        licence="MIT",                             # the model's (and its weights') licence
        options=(                                  # -o amount=0.5; validated before the model runs
            Option("amount", "float", 1.0, "0 = unchanged, 1 = fully inverted", min=0, max=1),
        ),
        # trained weights (imgedit.api.WeightFile), read by the model with ctx.load_weights("main"):
        # weights=(WeightFile("main", "__NAME__-invert.safetensors", "<sha256>"),),
    ))
''',
    model='''
"""The model: tensors in, tensors out. No file IO: imgedit's runner reads and writes every image
and video (batches, alpha, 16-bit, skip/resume), and weights come from self.ctx.load_weights()."""
import torch

from imgedit.api import ImageModel


class Invert(ImageModel):
    # To build a network or load weights, define __init__(self, ctx): call super().__init__(ctx),
    # then e.g. self.net.load_state_dict(ctx.load_weights("main")) and .to(self.device).

    def edit(self, images: torch.Tensor, amount: float = 1.0) -> torch.Tensor:
        # images: (B,3,H,W) float32 in [0,1] on self.device. The spec's options arrive as keywords,
        # validated and with their defaults filled in. Return a new (B,3,H',W') tensor in [0,1]
        # (never modify `images` in place). Your edit goes here:
        return (1 - amount) * images + amount * (1 - images)
''',
    test='''
"""imgedit's plugin contract suite run against this plugin, then a test of the model itself."""
import torch

import imgedit
from imgedit.testing import PluginContract


class TestPlugin(PluginContract):
    # the entry point name
    plugin = "__NAME__"
    # options for the capability runs
    example_options = {"__NAME__.invert": {"amount": "0.5"}}


def test_invert():
    model = imgedit.load_model("__NAME__.invert", device="cpu", precision="fp32")
    x = torch.rand(1, 3, 8, 8)
    assert torch.allclose(model.edit(x, amount=1.0), 1 - x)
    assert torch.allclose(model.edit(x, amount=0.0), x)
''',
)

_LATENT = dict(
    summary="an 8x8-thumbnail latent model (encode, generate, edit along directions).",
    models=["__NAME__.thumbnail"],
    run='''imgedit models __NAME__.thumbnail   # its options and latent shape
imgedit encode -m __NAME__.thumbnail photos/ latents/   # NAME.latent.safetensors files
imgedit generate -m __NAME__.thumbnail --latents latents/ out/ -o size=128
imgedit generate -m __NAME__.thumbnail random/ --count 4 --seed 1   # from random latents
imgedit morph -m __NAME__.thumbnail a.png b.png morph.mp4''',
    notes="Replace `Thumbnail.encode` and `.generate` with your encoder and decoder (and set\n"
          "  `latent_shape` in plugin.py to match); `edit --direction`, `morph` and `directions` then\n"
          "  work on your model with no more code (`imgedit.api.LatentModel`).",
    plugin='''
"""Registration module: imported every time imgedit lists models, so it must stay light (no
torch, no model code). One register(ModelSpec(...)) call per model."""
from imgedit.api import Capability, ModelSpec, Option, hookimpl, latent_options


@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(
        # PLUGIN.MODEL, unique across all plugins
        name="__NAME__.thumbnail",
        summary="Latents are 8x8 thumbnails; generate upsamples them smoothly.",
        # "module:Class", imported only when the model runs
        factory="__PKG__.model:Thumbnail",
        # encode: images -> latents, generate: latents -> images; edit comes with LatentModel
        # (encode -> move along --direction -> generate, applied onto the original image)
        capabilities=(Capability.ENCODE, Capability.GENERATE, Capability.EDIT),
        latent_shape=(192,),                       # one latent, without the batch: 3 x 8 x 8
        licence="MIT",                             # the model's (and its weights') licence
        options=(
            Option("size", "int", 64, "generated image size (square)", min=8, max=1024),
            *latent_options(),                     # direction, mask, residual: for edit
        ),
        # trained weights (imgedit.api.WeightFile), read by the model with ctx.load_weights("main"):
        # weights=(WeightFile("main", "__NAME__-thumbnail.safetensors", "<sha256>"),),
    ))
''',
    model='''
"""The model: tensors in, tensors out. No file IO: imgedit's runner reads and writes every image
and latent file, and weights come from self.ctx.load_weights()."""
import torch
import torch.nn.functional as F

from imgedit.api import LatentModel


class Thumbnail(LatentModel):
    """A latent model without weights: the latent of an image is its 8x8 thumbnail (area
    average), scaled to [-1,1] and flattened; generating upsamples a thumbnail smoothly."""

    # To build a network or load weights, define __init__(self, ctx): call super().__init__(ctx),
    # then e.g. self.net.load_state_dict(ctx.load_weights("main")) and .to(self.device).
    # Every method receives all of the spec's options as keywords: end signatures with **_.

    def encode(self, images: torch.Tensor, size: int = 64, **_) -> torch.Tensor:
        # (B,3,H,W) float32 in [0,1] -> (B, *latent_shape). Your encoder goes here.
        thumb = F.adaptive_avg_pool2d(images, (8, 8))
        return (thumb * 2 - 1).flatten(1)

    def generate(self, latents: torch.Tensor, size: int = 64, **_) -> torch.Tensor:
        # (B, *latent_shape) -> (B,3,H,W) in [0,1]. Latents come from encode, from latent files
        # (generate --latents) or from sample_latents (random N(0,1) latents by default: override
        # sample_latents(self, n, generator, **_) for another prior). Your decoder goes here.
        thumb = ((latents.reshape(-1, 3, 8, 8) + 1) / 2).clamp(0, 1)
        return F.interpolate(thumb, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
''',
    test='''
"""imgedit's plugin contract suite run against this plugin, then a test of the model itself."""
import torch

import imgedit
from imgedit.testing import PluginContract


class TestPlugin(PluginContract):
    # the entry point name
    plugin = "__NAME__"
    # options for the capability runs
    example_options = {"__NAME__.thumbnail": {"size": "32"}}


def test_flat_image_round_trip():
    model = imgedit.load_model("__NAME__.thumbnail", device="cpu", precision="fp32")
    x = torch.full((1, 3, 40, 40), 0.25)
    z = model.encode(x)
    assert z.shape == (1, 192)
    out = model.generate(z, size=16)
    assert out.shape == (1, 3, 16, 16)
    assert torch.allclose(out, torch.full_like(out, 0.25), atol=1e-5)
''',
)

_SEQUENCE = dict(
    summary="motion trails on videos (a model with memory across frames).",
    models=["__NAME__.trail"],
    run='''imgedit models __NAME__.trail   # its options
imgedit edit -m __NAME__.trail clip.mp4 out/ -o memory=0.8
imgedit edit -m __NAME__.trail --frames frames/ out/   # a folder of frames is one sequence''',
    notes="Replace the loop body of `Trail.edit_sequence` with your model; keep the reset at\n"
          "  `frame.scene_start` (the first frame and every detected cut) and yield one frame per input.",
    plugin='''
"""Registration module: imported every time imgedit lists models, so it must stay light (no
torch, no model code). One register(ModelSpec(...)) call per model."""
from imgedit.api import Capability, ModelSpec, Option, hookimpl


@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(
        # PLUGIN.MODEL, unique across all plugins
        name="__NAME__.trail",
        summary="Motion trails: each frame blends with the frames before it (videos).",
        # "module:Class", imported only when the model runs
        factory="__PKG__.model:Trail",
        # edit_sequence(): frames in order, state carried between them. Videos and frame folders
        # (--frames) only; add Capability.EDIT and an edit() method to take single images too.
        capabilities=(Capability.EDIT_SEQUENCE,),
        sequence_output="same",                    # one output frame per input frame ("rate": more)
        licence="MIT",                             # the model's (and its weights') licence
        options=(
            Option("memory", "float", 0.6, "0 = no trail .. 0.99 = very long trails", min=0, max=0.99),
        ),
    ))
''',
    model='''
"""The model: frames in, frames out. No file IO: imgedit's runner decodes and encodes every video
and frame folder (and finds the scene cuts), and weights come from self.ctx.load_weights()."""
from typing import Iterable, Iterator

from imgedit.api import Frame, ImageModel


class Trail(ImageModel):
    """Each output frame is the input frame blended with the previous output, so moving things
    leave fading trails. The memory is dropped at every scene start, so a new shot never shows
    the previous one."""

    # To build a network or load weights, define __init__(self, ctx): call super().__init__(ctx),
    # then e.g. self.net.load_state_dict(ctx.load_weights("main")) and .to(self.device).

    def edit_sequence(self, frames: Iterable[Frame], memory: float = 0.6) -> Iterator[Frame]:
        # frames arrive one at a time, in order: frame.image is (1,3,H,W) float32 in [0,1];
        # frame.time (seconds), frame.index, frame.rate (fps). The spec's options arrive as keywords.
        previous = None                            # the state carried from frame to frame
        for frame in frames:
            if frame.scene_start or previous is None:
                previous = frame.image             # first frame or a cut: forget the past
            out = (1 - memory) * frame.image + memory * previous   # your model goes here
            previous = out
            yield Frame(out, frame.time, frame.index, frame.scene_start, frame.rate)
''',
    test='''
"""imgedit's plugin contract suite run against this plugin, then a test of the model itself."""
from fractions import Fraction

import torch

import imgedit
from imgedit.api import Frame
from imgedit.testing import PluginContract


class TestPlugin(PluginContract):
    # the entry point name
    plugin = "__NAME__"
    # options for the capability runs
    example_options = {"__NAME__.trail": {"memory": "0.5"}}


def test_memory_resets_at_a_scene_start():
    model = imgedit.load_model("__NAME__.trail", device="cpu", precision="fp32")
    black, white = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    frames = [Frame(black, Fraction(0), 0, True), Frame(white, Fraction(1, 25), 1),
              Frame(white, Fraction(2, 25), 2, True)]
    out = [f.image for f in model.edit_sequence(frames, memory=0.5)]
    assert torch.allclose(out[1], torch.full_like(white, 0.5))   # half of the black frame remembered
    assert torch.equal(out[2], white)                            # a new scene starts without memory
''',
)

_KIND = {"edit": _EDIT, "encode-generate": _LATENT, "sequence": _SEQUENCE}
