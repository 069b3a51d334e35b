"""Registration module: imported whenever imgedit lists models, so it imports no torch."""
from imgedit.api import Capability, ModelSpec, Option, hookimpl


@hookimpl
def imgedit_register_models(register):
    register(ModelSpec(
        name="posterize",
        summary="Reduce each channel to a few levels, with optional ordered (Bayer) dithering.",
        factory="imgedit_posterize.model:Posterize",   # imported only when the model runs
        capabilities=(Capability.EDIT,),
        licence="MIT",
        options=(
            Option("levels", "int", 4, "levels per channel", min=2, max=64),
            Option("dither", "bool", True, "ordered 4x4 Bayer dithering"),
        ),
    ))
