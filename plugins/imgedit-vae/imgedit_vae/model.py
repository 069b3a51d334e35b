"""The ``vae`` models: encode images to latents, decode latents, edit along directions.

One weight file (entry ``vae``) holds the encoder (``enc.*``), the decoder (``dec.*``) and named
directions (``direction.<name>``); the network sizes are read from the tensors' shapes, so any
model ``imgedit train vae`` exported loads with this class.

``encode`` is the posterior mean (no optimisation: a VAE's encoder is trained to invert its
decoder); ``imgedit encode`` also keeps the posterior's log-variance in each latent file
(``extra.logvar``, through :meth:`VaeModel.encode_with_extras`). ``generate`` decodes;
sampling draws N(0, I), the prior. Edits, morphs and directions come from the core
(:class:`imgedit.api.LatentModel`). A class-conditional model (``train vae --class-column``,
``prior.classes`` in its file) has latents z followed by a one-hot of the class: ``encode`` puts
the encoder's most likely class there, sampling draws it as often as in the data, and its
directions leave it alone, so an edit keeps the class (the letter). A conditional model
(``train vae --conditional``, ``prior.attributes`` in its file) has one coordinate per attribute
between z and the class part: the decoder reads it (-1 no, +1 yes; clamped to that range, the one
it was trained on), the encoder reads it off the image, and the attribute's shipped direction is
its axis, so ``--direction bold:1`` sets "bold" whatever z holds.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from imgedit.api import LatentModel, OptionError
from imgedit.directions import AttributePrior

from imgedit_vae.net import SIZE, Decoder, Encoder, posterior_latent, to_rgb


def sizes(state: dict) -> tuple[int, int, int, int, int, int]:
    """(nz, nef, ngf, channels, classes, attributes) from a state dict's shapes (nz: the
    encoder's z, without a conditional model's attribute coordinates and class one-hot)."""
    w0 = state["dec.net.0.weight"]                   # (nz + attributes + classes, 8 ngf, 4, 4)
    e0 = state["enc.net.0.weight"]                   # (nef, channels, 4, 4)
    nz = state["enc.mu.weight"].shape[0]
    na = state["enc.attr.weight"].shape[0] if "enc.attr.weight" in state else 0
    return nz, e0.shape[0], w0.shape[1] // 8, e0.shape[1], w0.shape[0] - nz - na, na


class VaeModel(LatentModel):
    def __init__(self, ctx):
        super().__init__(ctx)
        state = ctx.load_weights("vae")
        nz, nef, ngf, ch, nc, na = sizes(state)
        # latent: z, then the attribute coordinates, then the class one-hot
        self.nz, self.n_classes, self.n_attributes = nz + na + nc, nc, na
        self._classes = state.get("prior.classes")
        self._attributes = AttributePrior(state)   # the data's attribute combinations, as often as they occur
        self.enc = Encoder(nz, nef, ch, nc, na)
        self.dec = Decoder(nz, ngf, ch, nc, na)
        self.enc.load_state_dict({k[4:]: v.float() for k, v in state.items() if k.startswith("enc.")})
        self.dec.load_state_dict({k[4:]: v.float() for k, v in state.items() if k.startswith("dec.")})
        for net in (self.enc, self.dec):
            net.eval().to(ctx.device)
            for p in net.parameters():
                p.requires_grad_(False)
        self._directions = {k[len("direction."):]: v.float() for k, v in state.items() if k.startswith("direction.")}

    def directions(self) -> dict[str, torch.Tensor]:
        return dict(self._directions)

    def sample_latents(self, n: int, generator: torch.Generator, truncation: float = 1.0, **_) -> torch.Tensor:
        """N(0, I) latents (the prior), scaled by ``truncation`` towards the mean (0 = the mean
        image); a conditional model's attributes drawn from its data's combinations, a
        class-conditional model's class as often as in its data."""
        z = torch.randn((n, self.nz - self.n_classes - self.n_attributes), generator=generator) * truncation
        if self.n_attributes:  # every conditional export holds prior.attributes and their counts
            z = torch.cat([z, self._attributes.sample(n, generator)], 1)
        if not self.n_classes:
            return z
        prior = self._classes.float() if self._classes is not None else torch.ones(self.n_classes)
        pick = torch.multinomial(prior, n, replacement=True, generator=generator)
        return torch.cat([z, F.one_hot(pick, self.n_classes).float()], 1)

    def generate(self, latents: torch.Tensor, **_) -> torch.Tensor:
        if latents.dim() != 2 or latents.shape[1] != self.nz:
            raise OptionError(f"model {self.spec.name} takes latents of shape ({self.nz},), got "
                              f"{tuple(latents.shape[1:])}")
        z = latents.float().to(self.device)
        if self.n_attributes:  # the range the decoder was trained on: -1 (no) .. +1 (yes)
            a = self.nz - self.n_classes - self.n_attributes
            z = z.clone()
            z[:, a:a + self.n_attributes].clamp_(-1, 1)
        return to_rgb(self.dec(z)).float()

    def encode_with_extras(self, images: torch.Tensor, **_) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The posterior's mean (the latent) and log-variance (``extra.logvar`` in latent files)."""
        x = F.interpolate(images.float(), size=(SIZE, SIZE), mode="bilinear", align_corners=False,
                          antialias=images.shape[-1] > SIZE or images.shape[-2] > SIZE)
        latent, logvar = posterior_latent(self.enc, x, self.n_attributes > 0, self.n_classes)
        return latent, {"logvar": logvar}

    def encode(self, images: torch.Tensor, **options) -> torch.Tensor:
        return self.encode_with_extras(images, **options)[0]
