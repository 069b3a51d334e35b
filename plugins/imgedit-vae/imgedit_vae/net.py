"""The convolutional VAE at 64x64 and its loss terms.

* :class:`Encoder` - strided 4x4 convolutions 64 -> 32 -> 16 -> 8 -> 4 (LeakyReLU 0.2, BatchNorm
  after the first), then two linear heads: the mean and the log-variance of the posterior
  q(z|x) = N(mu, diag(exp(logvar))) over a latent of size ``nz``; with ``classes`` a third head
  scores the image's class (a class-conditional VAE: ``train vae --class-column``), with
  ``attributes`` a fourth scores each 0/1 attribute (``train vae --conditional``).
* :class:`Decoder` - the DCGAN generator's layout: z -> 4x4 (transposed conv) -> 8 -> 16 -> 32
  -> 64, BatchNorm + ReLU, a sigmoid output in [0,1]; it reads z, then (``attributes``) one
  coordinate per attribute (-1 / +1), then (``classes``) a one-hot of the class, so neither need
  be in z (which is left with the style). Both take ``channels=1`` for grayscale
  data; :func:`to_rgb` shows one channel as RGB.
* :func:`kl_divergence`, :func:`reconstruction_terms`, :func:`vae_loss` - the loss, written out
  so the tests can check it by hand (see :func:`vae_loss` for how the terms are scaled).
"""
from __future__ import annotations

import torch
import torch.nn as nn

SIZE = 64
LOGVAR_RANGE = (-30.0, 20.0)  #: numerical safety only: exp() of it stays finite in fp32


class Encoder(nn.Module):
    def __init__(self, nz: int = 64, nef: int = 32, channels: int = 3, classes: int = 0, attributes: int = 0):
        super().__init__()
        self.nz, self.channels, self.classes, self.attributes = nz, channels, classes, attributes
        layers: list[nn.Module] = [nn.Conv2d(channels, nef, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = nef
        for _ in range(3):  # 32 -> 16 -> 8 -> 4
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.mu = nn.Linear(c * 16, nz)
        self.logvar = nn.Linear(c * 16, nz)
        self.cls = nn.Linear(c * 16, classes) if classes else None
        self.attr = nn.Linear(c * 16, attributes) if attributes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels == 1:
            x = x.mean(1, keepdim=True)
        return self.net(x * 2 - 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, 64, 64) in [0,1] -> mean, log-variance, each (B, nz)."""
        h = self.features(x)
        return self.mu(h), self.logvar(h).clamp(*LOGVAR_RANGE)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Mean, log-variance, the class scores (None without classes) and the attribute logits
        (B, attributes) (None without attributes)."""
        h = self.features(x)
        return (self.mu(h), self.logvar(h).clamp(*LOGVAR_RANGE), self.cls(h) if self.cls is not None else None,
                self.attr(h) if self.attr is not None else None)


class Decoder(nn.Module):
    def __init__(self, nz: int = 64, ngf: int = 32, channels: int = 3, classes: int = 0, attributes: int = 0):
        super().__init__()
        self.nz, self.ngf, self.channels, self.classes = nz + attributes + classes, ngf, channels, classes

        def up(cin, cout):
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

        self.net = nn.Sequential(
            nn.ConvTranspose2d(self.nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """(B, nz [+ attributes] [+ classes]) -> (B, channels, 64, 64) in [0,1] (the data's own channels: see :func:`to_rgb`)."""
        return self.net(z.reshape(z.shape[0], self.nz, 1, 1))


def attribute_coordinates(logits: torch.Tensor) -> torch.Tensor:
    """An encoder's attribute logits -> the latent's attribute coordinates in [-1, 1]
    (2 p - 1 for the probability p: -1 / +1 for a sure no / yes, as the decoder was trained)."""
    return torch.tanh(logits.float() * 0.5)


def posterior_latent(enc: "Encoder", x: torch.Tensor, attributes: bool, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The latent ``imgedit encode`` gives for images ``x`` (already the encoder's size) and the
    posterior's log-variance: the posterior mean, then (``attributes``) the attribute coordinates,
    then (``classes`` > 0) a one-hot of the class the encoder reads."""
    from imgedit.latentedit import snap_classes

    mu, logvar, scores, attr_logits = enc.heads(x)
    parts = [mu.float()]
    if attributes:
        parts.append(attribute_coordinates(attr_logits))
    if classes:
        parts.append(scores.float())
    return snap_classes(torch.cat(parts, 1), classes), logvar.float()


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """(B, 1 or 3, H, W) -> (B, 3, H, W): one channel is shown as gray RGB."""
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def native(x: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, 3, H, W) images -> the model's own channels (gray: the mean of R, G, B, as the encoder reads it)."""
    return x.mean(1, keepdim=True) if channels == 1 else x


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I) drawn from ``generator`` (reproducible runs)."""
    eps = torch.randn(mu.shape, generator=generator).to(mu.device, mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) in nats: summed over the latent's dimensions, averaged
    over the batch: mean_b sum_j (mu^2 + exp(logvar) - 1 - logvar) / 2."""
    mu, logvar = mu.float(), logvar.float()
    return (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).sum(1).mean()


def reconstruction_terms(rec: torch.Tensor, target: torch.Tensor, perceptual: float = 0.0) -> dict[str, torch.Tensor]:
    """Per-pixel mean squared error and (when ``perceptual`` > 0) the mean perceptual distance
    (:func:`imgedit.perceptual.perceptual_distance`, on RGB) of reconstructions ``rec`` against
    ``target``, both (B, C, H, W) in the model's own channels. Batch means, unscaled."""
    out = {"mse": (rec.float() - target.float()).pow(2).mean()}
    if perceptual > 0:
        from imgedit.perceptual import perceptual_distance

        out["perceptual"] = perceptual_distance(to_rgb(rec.float()), to_rgb(target.float())).mean()
    return out


def reconstruction_loss(rec: torch.Tensor, target: torch.Tensor, perceptual: float = 0.0) -> tuple[torch.Tensor, dict]:
    """``P * (mse + perceptual * d)`` (see :func:`vae_loss`: the image's summed squared error plus
    the weighted perceptual distance on that scale) and the terms of :func:`reconstruction_terms`."""
    terms = reconstruction_terms(rec, target, perceptual)
    return target[0].numel() * (terms["mse"] + perceptual * terms.get("perceptual", 0.0)), terms


def vae_loss(rec: torch.Tensor, target: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, *,
             beta: float = 1.0, perceptual: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss and its terms (for the log).

    ``loss = P * (mse + perceptual * d) + beta * KL``, where ``mse`` is the per-pixel mean squared
    error, ``d`` the mean perceptual distance (in [0, 4]; only computed when ``perceptual`` > 0),
    ``KL`` :func:`kl_divergence` (nats per image) and ``P`` the number of pixel values of one
    image (64 x 64 x channels). ``P * mse`` is the image's summed squared error, the negative
    log-likelihood of a Gaussian decoder with variance 1/2 (up to a constant), so with
    ``perceptual=0`` and ``beta=1`` the loss is the negative ELBO per image, and ``beta`` keeps its
    beta-VAE meaning whatever the image size; ``perceptual`` weighs the perceptual distance against
    the per-pixel error on that same scale.
    """
    rec_term, terms = reconstruction_loss(rec, target, perceptual)
    kl = kl_divergence(mu, logvar)
    loss = rec_term + beta * kl
    stats = {"loss": loss, **terms, "kl": kl}
    return loss, {k: float(v.detach()) for k, v in stats.items()}
