"""Registration module of imgedit-interp (imported whenever imgedit lists models: no torch here).

``WEIGHTS_FILE`` and ``WEIGHTS_SHA256`` name the shipped weights in the repository's
``pretrained/`` folder; ``imgedit train interp --export NAME`` rewrites these two lines.
"""
from __future__ import annotations

from imgedit.api import Capability, ModelSpec, Option, TrainerSpec, WeightFile, hookimpl

WEIGHTS_FILE = "interp-gru-v1.safetensors"
WEIGHTS_SHA256 = "b140c3fddf168365316c4eacfb0bd0c0e730f39b48d10315e8d01d9db5a82f92"
TRAIN_COMMAND = "imgedit train interp && imgedit train interp --export gru-v1"


@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(
        name="interp.gru",
        summary="Recurrent (ConvGRU) flow-refinement frame interpolation; warm-starts along a video.",
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
            Option("iters", "int", 4, "flow refinement iterations per frame pair (the first pair "
                   "of each scene runs twice as many)", min=1, max=32),
            Option("init", "choice", "dis", "cold-start flow of each scene: OpenCV DIS (refined by "
                   "the recurrence) or zero", choices=("dis", "zero")),
            Option("warm", "bool", True, "start each frame pair from the previous pair's refined "
                   "motion (faster); off: every pair starts from its own DIS flow"),
        ),
    ))


@hookimpl
def imgedit_register_trainers(register):
    register(TrainerSpec("interp", "Train the interp.gru interpolator (video triplets + synthetic "
                         "motion); --export writes pretrained/interp-NAME.safetensors.",
                         "imgedit_interp.train:main"))
