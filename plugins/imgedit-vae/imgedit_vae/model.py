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
directions leave it alone, so an edit keeps the class (the letter).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from imgedit.api import LatentModel, OptionError
from imgedit.latentedit import snap_classes

from imgedit_vae.net import SIZE, Decoder, Encoder, to_rgb


def sizes(state: dict) -> tuple[int, int, int, int, int]:
    """(nz, nef, ngf, channels, classes) from a state dict's shapes (nz: the encoder's z, without
    a class-conditional model's one-hot)."""
    w0 = state["dec.net.0.weight"]                   # (nz + classes, 8 ngf, 4, 4)
    e0 = state["enc.net.0.weight"]                   # (nef, channels, 4, 4)
    nz = state["enc.mu.weight"].shape[0]
    return nz, e0.shape[0], w0.shape[1] // 8, e0.shape[1], w0.shape[0] - nz


class VaeModel(LatentModel):
    def __init__(self, ctx):
        super().__init__(ctx)
        state = ctx.load_weights("vae")
        nz, nef, ngf, ch, nc = sizes(state)
        self.nz, self.n_classes = nz + nc, nc    # latent size: z, then the class one-hot
        self._classes = state.get("prior.classes")
        self.enc = Encoder(nz, nef, ch, nc)
        self.dec = Decoder(nz, ngf, ch, nc)
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
        image); a class-conditional model's class drawn as often as in its data."""
        z = torch.randn((n, self.nz - self.n_classes), generator=generator) * truncation
        if not self.n_classes:
            return z
        prior = self._classes.float() if self._classes is not None else torch.ones(self.n_classes)
        pick = torch.multinomial(prior, n, replacement=True, generator=generator)
        return torch.cat([z, F.one_hot(pick, self.n_classes).float()], 1)

    def generate(self, latents: torch.Tensor, **_) -> torch.Tensor:
        if latents.dim() != 2 or latents.shape[1] != self.nz:
            raise OptionError(f"model {self.spec.name} takes latents of shape ({self.nz},), got "
                              f"{tuple(latents.shape[1:])}")
        return to_rgb(self.dec(latents.float().to(self.device))).float()

    def encode_with_extras(self, images: torch.Tensor, **_) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The posterior's mean (the latent) and log-variance (``extra.logvar`` in latent files)."""
        x = F.interpolate(images.float(), size=(SIZE, SIZE), mode="bilinear", align_corners=False,
                          antialias=images.shape[-1] > SIZE or images.shape[-2] > SIZE)
        if self.n_classes:
            mu, logvar, scores = self.enc.with_class(x)
            return snap_classes(torch.cat([mu.float(), scores.float()], 1), self.n_classes), {"logvar": logvar.float()}
        mu, logvar = self.enc(x)
        return mu.float(), {"logvar": logvar.float()}

    def encode(self, images: torch.Tensor, **options) -> torch.Tensor:
        return self.encode_with_extras(images, **options)[0]
