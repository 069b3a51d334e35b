"""Registration module of imgedit-vae (imported whenever imgedit lists models: no torch here).

Registers ``vae`` (the base every VAE trained with ``imgedit train vae`` runs on: user models
``vae.NAME`` are this spec with their own weight file) and the shipped models of ``SHIPPED``,
whose weights and model cards are in ``pretrained/`` (none yet: the code is ready, the models are
not trained).
"""
from __future__ import annotations

from dataclasses import replace

from imgedit.api import Capability, ModelSpec, Option, TrainerSpec, WeightFile, hookimpl, latent_options

# BEGIN TRAINED WEIGHTS (rewritten by `imgedit train vae ... --ship`; do not edit the markers)
#: Shipped models: name -> sha256 of pretrained/vae-<name>.safetensors.
SHIPPED: dict[str, str] = {
    "faces": "ed95394b37e4c3641d6203975bcdf96c680b00cf79a0b449e2eda6258d2e52a3",
    "glyphs": "f0332654b63b447881a1d53168d19864eec1249b72f136e6ac8dbdd6ae7681b1",
}
#: Their latent sizes.
SHIPPED_LATENT: dict[str, str] = {
    "faces": "64",
    "glyphs": "64",
}
# END TRAINED WEIGHTS

#: How each shipped model was made (the model cards hold the exact commands and numbers).
SHIPPED_INFO: dict[str, tuple[str, str, str]] = {
    "glyphs": ("64x64 glyphs (A-Z, a-z, 0-9) of the fonts of five Debian font sources (the data of gan.glyphs); "
               "directions: bold, italic, monospace, serif, narrow",
               "fonts: SIL OFL 1.1 / GPL-3+ with font exception / AGPL-3 with font exception / Bitstream Vera; weights MIT",
               "python -m imgedit_gan.glyphs --install && imgedit train vae --data ~/.cache/imgedit/data/glyphs "
               "--labels ~/.cache/imgedit/data/glyphs/labels.csv --gray --name glyphs --ship"),
}

OPTIONS = (
    Option("truncation", "float", 1.0, "sampling: scale random latents towards the mean (0.7 = safer, "
           "less varied)", min=0.0, max=2.0),
    *latent_options(),
)


def base_spec() -> ModelSpec:
    return ModelSpec(
        name="vae", summary="Convolutional VAE 64x64: train your own with `imgedit train vae` (models vae.NAME).",
        factory="imgedit_vae.model:VaeModel",
        capabilities=(Capability.ENCODE, Capability.GENERATE, Capability.EDIT),
        latent_shape=(64,), options=OPTIONS, licence="MIT", base_only=True,
        weights=(WeightFile("vae", "vae.safetensors", "0" * 64,  # never read: each model names its own
                            train_command="imgedit train vae --data DIR --name NAME --export"),),
    )


def shipped_specs() -> list[ModelSpec]:
    base = base_spec()
    out = []
    for name, sha in sorted(SHIPPED.items()):
        what, licence, command = SHIPPED_INFO.get(name, (f"shipped VAE {name}", "", ""))
        out.append(replace(base, name=f"vae.{name}", summary=f"VAE: {what}", licence=licence, base_only=False,
                           latent_shape=(int(SHIPPED_LATENT.get(name, 64)),),
                           weights=(WeightFile("vae", f"vae-{name}.safetensors", sha, train_command=command,
                                               licence=licence, card=f"vae-{name}.md"),)))
    return out


@hookimpl
def imgedit_register_models(register) -> None:
    register(base_spec())
    for spec in shipped_specs():
        register(spec)


@hookimpl
def imgedit_register_trainers(register) -> None:
    register(TrainerSpec("vae", "Train a convolutional (beta-)VAE on a folder of images.",
                         "imgedit_vae.train:main"))
