"""The ``gan`` models: generate from latents, invert real images, edit along directions.

One weight file (entry ``generator``) holds the EMA generator (``G.*``), the inversion encoder
(``E.*``) and named directions (``direction.<name>``); the network sizes are read from the
tensors' shapes, so any model ``imgedit train gan`` exported loads with this class.

Inversion (``encode``): the encoder's guess, then ``steps`` Adam steps on the latent minimising
pixel L1 + perceptual distance (:mod:`imgedit.perceptual`) to the image at 64x64, plus a prior
that keeps ``|z|`` near the typical radius ``sqrt(nz)`` of N(0, I) latents; the learning rate
ramps down over the last part of the run (as in the stylegan2 projectors).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from imgedit.api import LatentModel, OptionError
from imgedit.directions import AttributePrior
from imgedit.latentedit import snap_classes

from imgedit_gan.net import Encoder, Generator

SIZE = 64


def _sizes(state: dict) -> tuple[int, int, int, int]:
    """(nz, ngf, channels, ndf) from a state dict's shapes."""
    w0 = state["G.net.0.weight"]                     # (nz, 8 ngf, 4, 4)
    last = max(int(k.split(".")[2]) for k in state if k.startswith("G.net.") and k.endswith(".weight")
               and state[k].dim() == 4)
    wl = state[f"G.net.{last}.weight"]               # (ngf, channels, 4, 4)
    ndf = state["E.net.0.weight"].shape[0]
    return w0.shape[0], w0.shape[1] // 8, wl.shape[1], ndf


class GanModel(LatentModel):
    def __init__(self, ctx):
        super().__init__(ctx)
        state = ctx.load_weights("generator")
        nz, ngf, ch, ndf = _sizes(state)
        self.nz = nz
        self.G = Generator(nz, ngf, ch)
        self.E = Encoder(nz, ndf, ch)
        self.G.load_state_dict({k[2:]: v.float() for k, v in state.items() if k.startswith("G.")})
        self.E.load_state_dict({k[2:]: v.float() for k, v in state.items() if k.startswith("E.")})
        self.G.eval().to(ctx.device)
        self.E.eval().to(ctx.device)
        for p in (*self.G.parameters(), *self.E.parameters()):
            p.requires_grad_(False)
        self._directions = {k[len("direction."):]: v.float() for k, v in state.items() if k.startswith("direction.")}
        # conditional models (``train gan --conditional``): the latent ends with attribute coordinates,
        # sampled from the training data's combinations
        # class-conditional models (``train gan --class-column``): the latent ends with a one-hot of
        # the class (the letter), sampled as often as in the data, read by the encoder, kept by edits
        self._classes = state.get("prior.classes")
        self.n_classes = 0 if self._classes is None else len(self._classes)
        self._attributes = AttributePrior(state)

    def directions(self) -> dict[str, torch.Tensor]:
        return dict(self._directions)

    def _check(self, latents: torch.Tensor) -> torch.Tensor:
        if latents.dim() != 2 or latents.shape[1] != self.nz:
            raise OptionError(f"model {self.spec.name} takes latents of shape ({self.nz},), got "
                              f"{tuple(latents.shape[1:])}")
        return latents.float()

    def sample_latents(self, n: int, generator: torch.Generator, truncation: float = 1.0, **_) -> torch.Tensor:
        """N(0, I) latents, scaled by ``truncation`` towards the mean (0 = the mean image); a
        conditional model's attribute coordinates are drawn from its data's combinations, a
        class-conditional model's class from its data's class frequencies."""
        k = self._attributes.k
        parts = [torch.randn((n, self.nz - k - self.n_classes), generator=generator) * truncation]
        if k:
            parts.append(self._attributes.sample(n, generator))
        if self.n_classes:
            pick = torch.multinomial(self._classes.float(), n, replacement=True, generator=generator)
            parts.append(F.one_hot(pick, self.n_classes).float())
        return torch.cat(parts, 1)

    def generate(self, latents: torch.Tensor, **_) -> torch.Tensor:
        return self.G(self._check(latents).to(self.device)).float()

    def encode(self, images: torch.Tensor, steps: int = 100, **_) -> torch.Tensor:
        x = F.interpolate(images.float(), size=(SIZE, SIZE), mode="bilinear", align_corners=False,
                          antialias=images.shape[-1] > SIZE or images.shape[-2] > SIZE)
        z = self.guess(x)
        if steps > 0:
            z = self.refine(z, x, steps)
        return z

    def guess(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's latents of 64x64 images (a class-conditional model's class: its most
        likely one, as a one-hot)."""
        return snap_classes(self.E(x).float(), self.n_classes)

    def refine(self, z: torch.Tensor, target: torch.Tensor, steps: int) -> torch.Tensor:
        """Optimise latents ``z`` (B, nz) so that G(z) matches ``target`` (B,3,64,64) (a
        class-conditional model's class part stays as it is)."""
        return refine_latents(self.G, z, target, steps, fixed=self.n_classes)


def refine_latents(G, z: torch.Tensor, target: torch.Tensor, steps: int, lr: float = 0.05,
                   prior: float = 1e-3, fixed: int = 0) -> torch.Tensor:
    """The inversion's optimisation (also the trainer's export metrics): Adam on z, loss L1 +
    perceptual distance + a prior keeping |z| near sqrt(nz), cosine ramp-down of the rate. Each
    image's loss is its own (summed), so the result does not depend on the batch. The last
    ``fixed`` coordinates (a class one-hot) are not optimised and not in the prior."""
    from imgedit.perceptual import perceptual_distance

    with torch.inference_mode(False), torch.enable_grad(), torch.autocast(target.device.type, enabled=False):
        target = target.clone().float()
        z = z.clone().float()
        tail = z[:, z.shape[1] - fixed:]
        z = z[:, :z.shape[1] - fixed].clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        radius = math.sqrt(z.shape[1])
        for i in range(steps):
            for g in opt.param_groups:  # cosine ramp-down over the last 3/4 of the run
                t = i / max(1, steps)
                g["lr"] = lr * (1.0 if t < 0.25 else 0.5 * (1 + math.cos(math.pi * (t - 0.25) / 0.75)))
            img = G(torch.cat([z, tail], 1))
            loss = (F.l1_loss(img, target, reduction="none").mean((1, 2, 3))
                    + perceptual_distance(img, target)
                    + prior * (z.norm(dim=1) - radius).pow(2))
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
        return torch.cat([z.detach(), tail], 1)
