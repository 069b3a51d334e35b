"""Registration module of imgedit-gan (imported whenever imgedit lists models: no torch here).

Registers ``gan`` (the base every GAN trained with ``imgedit train gan`` runs on: user models
``gan.NAME`` are this spec with their own weight file) and the shipped models of ``SHIPPED``
(``gan.glyphs``, ``gan.faces``), whose weights and model cards are in ``pretrained/``.
"""
from __future__ import annotations

from dataclasses import replace

from imgedit.api import Capability, ModelSpec, Option, TrainerSpec, WeightFile, hookimpl, latent_options

# BEGIN TRAINED WEIGHTS (rewritten by `imgedit train gan ... --ship`; do not edit the markers)
#: Shipped models: name -> sha256 of pretrained/gan-<name>.safetensors.
SHIPPED: dict[str, str] = {
    "faces": "82819be2d07b9e60c8ed55c056300523d008aeeaa915948815fb67dbf31cfd4a",
    "glyphs": "a533f78ae444720731a5ce7bb87f4bb0d290f79296e928ea6403493b4165ccd3",
}
#: Their latent sizes (a conditional model's latent ends with its attribute coordinates).
SHIPPED_LATENT: dict[str, str] = {
    "faces": "64",
    "glyphs": "131",
}
# END TRAINED WEIGHTS

#: How each shipped model was made (the model cards hold the exact commands and numbers).
SHIPPED_INFO: dict[str, tuple[str, str, str]] = {
    "glyphs": ("64x64 glyphs (A-Z, a-z, 0-9) of the fonts of five Debian font sources (fonts-dejavu core+extra, liberation2, freefont, urw-base35, noto-core); "
               "conditional on the letter and the attributes (G started as a conditional VAE's decoder); directions: "
               "bold, italic, monospace, serif, narrow (each attribute's coordinate)",
               "fonts: SIL OFL 1.1 / GPL-3+ with font exception / AGPL-3 with font exception / Bitstream Vera; weights MIT",
               "python -m imgedit_gan.glyphs --install && bash tools/train_vae_glyphs.sh --conditional --class-column char "
               "--swap-weight 1 --name glyphs-cond --steps 2001 --export && STEPS=5600 ENCODER_STEPS=1000 "
               "bash tools/train_gan_glyphs_vae.sh --ship"),
    "faces": ("64x64 synthetic faces (data: samples of gan-face-generate's DigiFace-1M DCGAN); PCA directions pc0..",
              "NON-COMMERCIAL RESEARCH USE ONLY (inherited from DigiFace-1M via gan-face-generate)",
              "python -m imgedit_gan.faces && imgedit train gan --data ~/.cache/imgedit/data/faces --name faces "
              "--d-norm bn --loss ns --augment translation --pca 8 --steps 5000 --encoder-steps 1000 --ship"),
}

OPTIONS = (
    Option("truncation", "float", 1.0, "sampling: scale random latents towards the mean (0.7 = safer, "
           "less varied)", min=0.0, max=2.0),
    Option("steps", "int", 100, "encode/edit: optimisation steps after the encoder's guess (0 = encoder only)",
           min=0, max=10000),
    *latent_options(),
)


def base_spec() -> ModelSpec:
    return ModelSpec(
        name="gan", summary="DCGAN 64x64: train your own with `imgedit train gan` (models gan.NAME).",
        factory="imgedit_gan.model:GanModel",
        capabilities=(Capability.ENCODE, Capability.GENERATE, Capability.EDIT),
        latent_shape=(64,), options=OPTIONS, licence="MIT", base_only=True,
        weights=(WeightFile("generator", "gan.safetensors", "0" * 64,  # never read: each model names its own
                            train_command="imgedit train gan --data DIR --name NAME --export"),),
    )


def shipped_specs() -> list[ModelSpec]:
    base = base_spec()
    out = []
    for name, sha in sorted(SHIPPED.items()):
        what, licence, command = SHIPPED_INFO.get(name, (f"shipped GAN {name}", "", ""))
        out.append(replace(base, name=f"gan.{name}", summary=f"DCGAN: {what}", licence=licence, base_only=False,
                           latent_shape=(int(SHIPPED_LATENT.get(name, 64)),),
                           weights=(WeightFile("generator", f"gan-{name}.safetensors", sha, train_command=command,
                                               licence=licence, card=f"gan-{name}.md"),)))
    return out


@hookimpl
def imgedit_register_models(register) -> None:
    register(base_spec())
    for spec in shipped_specs():
        register(spec)


@hookimpl
def imgedit_register_trainers(register) -> None:
    register(TrainerSpec("gan", "Train a DCGAN (and its inversion encoder) on a folder of images.",
                         "imgedit_gan.train:main"))
