"""Edit directions in a latent space, for every latent model (GAN, VAE, third-party).

* :func:`mean_difference` - the mean of the positives' latents minus the negatives' (dribnet/plat's
  attribute vectors);
* :func:`linear_classifier` - the unit normal of a logistic-regression boundary between them
  (InterFaceGAN), scaled to the same class gap;
* with ``pair_by`` columns (:func:`directions_from_labels`), a *paired* mean difference: the mean
  over groups of images that share those columns and every other attribute (the same letter of two
  fonts of one family that differ only in this attribute) of the group's difference -- what
  changes with the attribute alone, not with what its examples happen to have in common;
* :func:`pca_directions` - unsupervised, GANSpace-style: principal components of what sampled
  latents *generate* (pooled perceptual features of the images, which works for any generator,
  with or without a mapping network), carried back to the latent space by linear regression.

Every direction is scaled to its natural unit, so ``--direction NAME:1`` means the same amount
everywhere: for attributes, the gap between the two classes' mean latents along it (strength 1
takes an average negative to an average positive); for PCA, one standard deviation of the
component.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch


def mean_difference(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """(N,*shape), (M,*shape) -> (*shape): mean(pos) - mean(neg)."""
    return (pos.float().mean(0) - neg.float().mean(0))


def linear_classifier(pos: torch.Tensor, neg: torch.Tensor, l2: float = 1e-3, steps: int = 200) -> torch.Tensor:
    """The normal of a logistic-regression boundary (balanced classes, L2-regularised, LBFGS),
    scaled so that strength 1 spans the class gap along it."""
    shape = pos.shape[1:]
    x = torch.cat([pos.flatten(1), neg.flatten(1)]).float()
    y = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])
    w_cls = torch.where(y > 0, 0.5 / len(pos), 0.5 / len(neg))  # balanced
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-6)
    xs = (x - mu) / sd
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(xs @ w + b, y, reduction="none") * w_cls).sum() \
            + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    normal = (w.detach() / sd)  # the boundary's normal in the original (unstandardised) space
    u = normal / normal.norm().clamp_min(1e-12)
    gap = (pos.flatten(1).float().mean(0) - neg.flatten(1).float().mean(0)) @ u
    return (u * gap).reshape(shape)


METHODS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mean": mean_difference, "classifier": linear_classifier}


def paired_difference(latents: torch.Tensor, rows: Sequence[Mapping[str, str]], attribute: str,
                      attributes: Sequence[str], pair_by: Sequence[str]) -> tuple[torch.Tensor | None, int]:
    """(direction, groups): the mean over groups -- rows equal in every ``pair_by`` column and in
    every attribute but ``attribute`` -- holding both classes of (mean positive latent - mean
    negative latent); None when no group holds both. Scaled like :func:`mean_difference` (strength
    1 = the class gap, here within a group)."""
    groups: dict[tuple, tuple[list[int], list[int]]] = {}
    for i, r in enumerate(rows):
        if r.get(attribute) not in ("0", "1"):
            continue
        key = tuple(r.get(c, "") for c in pair_by) + tuple(r.get(b, "") for b in attributes if b != attribute)
        groups.setdefault(key, ([], []))[r[attribute] == "0"].append(i)
    diffs = [mean_difference(latents[pos], latents[neg]) for pos, neg in groups.values() if pos and neg]
    return (torch.stack(diffs).mean(0) if diffs else None), len(diffs)


def directions_from_labels(latents: torch.Tensor, rows: Sequence[Mapping[str, str]], attributes: Sequence[str],
                           method: str = "mean", pair_by: Sequence[str] = ()) -> dict[str, torch.Tensor]:
    """One direction per 0/1 attribute column of ``rows`` (aligned with ``latents``); with
    ``pair_by`` (method ``mean``), each attribute's :func:`paired_difference`, or its plain mean
    difference where no pair exists."""
    out = {}
    for a in attributes:
        if pair_by and method == "mean":
            d, _ = paired_difference(latents, rows, a, attributes, pair_by)
            if d is not None:
                out[a] = d
                continue
        pos = [i for i, r in enumerate(rows) if r.get(a) == "1"]
        neg = [i for i, r in enumerate(rows) if r.get(a) == "0"]
        if pos and neg:
            out[a] = METHODS[method](latents[pos], latents[neg])
    return out


@torch.no_grad()
def attribute_axes(names: Sequence[str], start: int, size: int, coordinates: torch.Tensor) -> dict[str, torch.Tensor]:
    """A conditional model's shipped tensors (``train gan/vae --conditional``): each attribute's
    direction is the axis of its latent coordinate (``start + j`` of ``size``), 2 long (strength
    1 = the class gap, -1 -> +1), and the prior of the coordinates: the data's combinations
    (rows of ``coordinates``, (N, k) of -1/+1) and how often each occurs."""
    out = {}
    for j, name in enumerate(names):
        d = torch.zeros(size)
        d[start + j] = 2.0
        out[f"direction.{name}"] = d
    combos, counts = torch.unique(coordinates, dim=0, return_counts=True)
    out["prior.attributes"] = combos
    out["prior.attribute_counts"] = counts.float()
    return out


class AttributePrior:
    """The attribute coordinates a conditional model's export holds (:func:`attribute_axes`):
    ``sample`` draws ``n`` rows of the data's combinations as often as they occurred. ``k`` is 0
    (and ``sample`` is not to be called) for a model without them."""

    def __init__(self, state: dict):
        combos = state.get("prior.attributes")
        self.combos = None if combos is None else combos.float()
        self.counts = None if combos is None else state["prior.attribute_counts"].float()
        self.k = 0 if combos is None else self.combos.shape[1]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.combos[torch.multinomial(self.counts, n, replacement=True, generator=generator)]


def pca_directions(generate: Callable[[torch.Tensor], torch.Tensor], latents: torch.Tensor, k: int,
                   batch: int = 100) -> list[torch.Tensor]:
    """``k`` unsupervised directions from ``latents`` (N, *shape) sampled from the prior:
    PCA of the pooled perceptual features of ``generate(latents)``, each component's standardised
    score regressed on the latents (least squares) -> the latent shift that moves one standard
    deviation along it."""
    from imgedit.perceptual.fid import pooled_features

    shape = latents.shape[1:]
    feats = torch.cat([pooled_features(generate(latents[i:i + batch])) for i in range(0, len(latents), batch)])
    f = feats - feats.mean(0)
    _, s, vh = torch.linalg.svd(f, full_matrices=False)
    scores = f @ vh[:k].T                       # (N, k)
    scores = scores / scores.std(0).clamp_min(1e-12)
    z = latents.flatten(1).double()
    z = z - z.mean(0)
    # regression z ~ scores @ W: row j of W is the latent step per standard deviation of component j
    w = torch.linalg.lstsq(scores.double(), z).solution  # (k, D)
    return [w[j].float().reshape(shape) for j in range(min(k, len(w)))]
