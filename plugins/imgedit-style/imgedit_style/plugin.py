"""Registration module of imgedit-style (imported whenever imgedit lists models: no torch here).

Registers one model, ``style``, serving ``imgedit stylize`` (priority 100), and two trainers,
``imgedit train style`` (fast feed-forward net for one painting) and
``imgedit train style-decoder`` (the decoder of the arbitrary-style method).

Weight files are declared only once they exist: the block between the ``BEGIN/END TRAINED
WEIGHTS`` markers is rewritten by the trainers' ``--export`` step with the new sha256.
"""
from __future__ import annotations

from imgedit.api import Capability, ModelSpec, Option, TrainerSpec, WeightFile, hookimpl

#: Shipped paintings (public domain): name -> (title, painter, year).
SHIPPED_STYLES: dict[str, tuple[str, str, int]] = {
    "starry_night": ("The Starry Night", "Vincent van Gogh", 1889),
    "wave": ("The Great Wave off Kanagawa", "Katsushika Hokusai", 1831),
    "the_scream": ("The Scream", "Edvard Munch", 1893),
    "composition_vii": ("Composition VII", "Wassily Kandinsky", 1913),
    "udnie": ("Udnie", "Francis Picabia", 1913),
}
DEFAULT_STYLE = "starry_night"
#: optimize: weight of the extra chroma total variation (issue 18: colour speckle 3.2x the
#: painting's own -> 1.4x at +5% style loss on average; BENCHMARKS.md, "Style quality")
CHROMA_TV = 4.0

REFERENCES_FILE = "style-references.safetensors"
REFERENCES_SHA256 = "454ad2d8d26cfc1814c176d85278091cc3259c3ca556578ed0774a289544a540"

# BEGIN TRAINED WEIGHTS (rewritten by `imgedit train style ... --export`; do not edit the markers)
#: Fast feed-forward styles with exported weights: style name -> sha256 of style-<name>.safetensors.
FAST_WEIGHTS: dict[str, str] = {
    "composition_vii": "1e5f05f528c991597c7292191e4d18cba1e85aaa63f645a52824efa2bc6142eb",
    "starry_night": "a173566a3e06264e4fac9ecf7b567e59087692343448d9630189f4e9dbd984aa",
    "the_scream": "1bc66a0dc8f09431e237264edb0623866239ddd4ae629bceed8732e7c76f7402",
    "udnie": "fe950d897edbd5aeb7067b7cc13e99929593e910d523bd70a68252b3220ee772",
    "wave": "5c5bc04c32a7849ded616f11fa271b0c2b591f2ab7db19dbb6043b08dc4d260b",
}
#: sha256 of style-decoder.safetensors (arbitrary styles), or None until it is trained.
DECODER_SHA256: str | None = "b552715b1636e016e038c8b1402aae2e74c22283c718fc9aa1c77089416b2873"
# END TRAINED WEIGHTS

_CARD_LICENCE = "MIT (weights trained here; style paintings public domain)"


def fast_weight_name(style: str) -> str:
    return f"fast-{style}"


#: Per-painting training options that differ from the trainer's defaults (chosen from previews;
#: the exact command of each shipped network is in its model card).
FAST_TRAIN_ARGS: dict[str, str] = {"wave": "--content-weight 2", "the_scream": "--content-weight 2",
                                   "udnie": "--content-weight 3"}


def fast_train_command(style: str) -> str:
    extra = FAST_TRAIN_ARGS.get(style, "")
    return (f"imgedit train style --style {style} --data ~/.cache/imgedit/media/photos "
            f"--steps 2000 {extra + ' ' if extra else ''}--export")


DECODER_TRAIN_COMMAND = "imgedit train style-decoder --data ~/.cache/imgedit/media/photos --steps 3000 --export"


def _weights() -> tuple[WeightFile, ...]:
    out = [WeightFile("references", REFERENCES_FILE, REFERENCES_SHA256,
                      train_command="python -m imgedit_style.references ../shared/data/styles "
                                    "pretrained/" + REFERENCES_FILE,
                      licence="public domain paintings")]
    for style, sha in sorted(FAST_WEIGHTS.items()):
        out.append(WeightFile(fast_weight_name(style), f"style-{style}.safetensors", sha,
                              train_command=fast_train_command(style), licence=_CARD_LICENCE,
                              card=f"style-{style}.md"))
    if DECODER_SHA256:
        out.append(WeightFile("decoder", "style-decoder.safetensors", DECODER_SHA256,
                              train_command=DECODER_TRAIN_COMMAND, licence=_CARD_LICENCE,
                              card="style-decoder.md"))
    return tuple(out)


def spec() -> ModelSpec:
    """The ``style`` model's spec (also used by the trainers and tests)."""
    names = ", ".join(SHIPPED_STYLES)
    return ModelSpec(
        name="style",
        summary="Style transfer: shipped paintings or any image; fast, arbitrary or optimisation methods.",
        factory="imgedit_style.model:StyleModel",
        capabilities=(Capability.EDIT, Capability.EDIT_SEQUENCE),
        tasks={"stylize": 100},
        color_output=True,  # a painting's colours on a gray photo (unless preserve_color)
        licence="MIT",
        weights=_weights(),
        options=(
            Option("style", "image", (DEFAULT_STYLE,), f"shipped style ({names}) or any image; "
                   "repeat with NAME|IMAGE:WEIGHT to blend", multiple=True),
            Option("method", "choice", "auto", "auto: fast for a shipped style with trained weights, "
                   "else arbitrary (decoder trained) or optimize", choices=("auto", "fast", "arbitrary", "optimize")),
            Option("strength", "float", 1.0, "0 = photo unchanged .. 1 = full style", min=0.0, max=1.0),
            Option("preserve_color", "bool", False, "keep the photo's colours (transfer luminance only)"),
            Option("max_size", "int", None, "longest side the method works at (default: optimize 512, "
                   "others full size); the result is resized back to the input size", min=16, max=16384),
            Option("steps", "int", 200, "optimize: iterations at the finest scale", min=1, max=100000),
            Option("scales", "int", 3, "optimize: pyramid levels (1 = single scale)", min=1, max=6),
            Option("optimizer", "choice", "lbfgs", "optimize: lbfgs (reaches a given loss in ~60% of Adam's "
                   "time, BENCHMARKS.md) or adam (pixels clamped to [0,1] at every step)", choices=("lbfgs", "adam")),
            Option("style_weight", "float", 3.0, "optimize: weight of the style loss (content weight 1)",
                   min=0.0, max=1e6),
            Option("tv_weight", "float", 0.5, "optimize: total-variation weight (smoothness)", min=0.0, max=1e3),
            Option("chroma_tv", "float", CHROMA_TV, "optimize: extra smoothness of the colours alone (removes "
                   "the colour speckle pixel optimisation leaves; 0 = off)", min=0.0, max=1e3),
            Option("degrid", "bool", True, "remove the faint 4 px grid the networks leave on flat areas "
                   "(a repeating pattern estimated locally; 0 = the raw output)"),
            Option("style_scale", "float", 1.0, "size of the style image relative to the working size",
                   min=0.1, max=4.0),
            Option("flow", "str", "auto", "video: the optical-flow model (auto: the best installed model "
                   "of the `flow` task; classic.flow = OpenCV DIS)"),
            Option("temporal", "float", 0.7, "video: weight of the flow-warped previous frame where the "
                   "motion is consistent (0 = independent frames)", min=0.0, max=1.0),
        ),
    )


@hookimpl
def imgedit_register_models(register) -> None:
    register(spec())


@hookimpl
def imgedit_register_trainers(register) -> None:
    register(TrainerSpec("style", "Train a fast feed-forward style network for one painting.",
                         "imgedit_style.train:main_style"))
    register(TrainerSpec("style-decoder", "Train the feature decoder of the arbitrary-style method.",
                         "imgedit_style.train:main_decoder"))
