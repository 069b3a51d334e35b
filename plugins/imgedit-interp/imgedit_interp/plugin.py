"""Registration module of imgedit-interp (imported whenever imgedit lists models: no torch here).

``WEIGHTS_FILE`` and ``WEIGHTS_SHA256`` name the shipped weights in the repository's
``pretrained/`` folder; ``imgedit train interp --export NAME`` rewrites these two lines.
"""
from __future__ import annotations

from imgedit.api import Capability, ModelSpec, Option, TrainerSpec, WeightFile, hookimpl

WEIGHTS_FILE = "interp-gru-v4.safetensors"
WEIGHTS_SHA256 = "4b66ffaa720872faad046211b685dbbb4fc92b215ccd27f2292354262052b918"
TRAIN_COMMAND = ("bash tools/train_interp_distil.sh && imgedit train interp-distil --export gru-v4 --ship")


@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(
        name="interp.gru",
        summary="Frame interpolation: intermediate flows distilled from RIFE (coarse-to-fine blocks, a ConvGRU "
                "refiner), an equal blend; quadratic motion along a video.",
        factory="imgedit_interp.model:GRUInterp",
        capabilities=(Capability.EDIT_SEQUENCE, Capability.FLOW),
        licence="MIT",
        # flow priority below classic.flow (10): at 1/8 resolution its flow is not yet better than
        # DIS (benchmarks/style_temporal.py), so `flow=auto` keeps DIS; ask for it by name
        tasks={"interpolate": 100, "flow": 5},
        sequence_output="rate",
        precisions=("fp32", "bf16"),
        weights=(WeightFile("interp", WEIGHTS_FILE, WEIGHTS_SHA256, train_command=TRAIN_COMMAND,
                            licence="MIT", card=WEIGHTS_FILE.replace(".safetensors", ".md")),),
        options=(
            Option("factor", "int", 2, "multiply the frame rate by this", min=1, max=16),
            Option("fps", "float", None, "target frame rate (overrides factor)", min=1, max=1000),
            Option("scale", "float", 1.0, "estimate motion at this fraction of the resolution "
                   "(0.5 for 4K)", min=0.125, max=1.0),
            Option("iters", "int", 1, "ConvGRU refinement iterations per frame pair (DIS-start weights "
                   "v1-v3: twice as many from a zero start)", min=1, max=32),
            Option("init", "choice", "dis", "DIS-start weights (v1-v3) only: cold-start flow of each "
                   "pair, OpenCV DIS (refined by the recurrence) or zero", choices=("dis", "zero")),
            Option("warm", "bool", False, "DIS-start weights (v1-v3) only: start each frame pair from the "
                   "previous pair's refined motion instead of its own DIS flow (v3 was not trained for "
                   "it: 30.5 dB instead of 33.7 on sample_video)"),
            Option("motion", "choice", "quadratic", "in-between positions on a video: quadratic "
                   "(constant acceleration, estimated from the neighbouring frames) or linear",
                   choices=("quadratic", "linear")),
        ),
    ))


@hookimpl
def imgedit_register_trainers(register):
    register(TrainerSpec("interp", "Train the interp.gru interpolator (video triplets + synthetic "
                         "motion); --export writes pretrained/interp-NAME.safetensors.",
                         "imgedit_interp.train:main"))
    register(TrainerSpec("interp-distil", "Train the distilled interpolator on a cache of teacher "
                         "flows (python -m imgedit_interp.teacher install / label first; issue 17).",
                         "imgedit_interp.distil:main"))
