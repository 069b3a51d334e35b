"""Latent files and latent arithmetic, shared by every encode/generate model (GAN, VAE, ...).

A latent file is a safetensors file holding one tensor ``latent`` (shape ``latent_shape``, no
batch axis), optional extra tensors (``extra.<name>``: a VAE's log-variance, say) and string
metadata (format ``imgedit-latent-2``):

* ``kind`` - ``latent`` (an image's code, ``NAME.latent.safetensors``) or ``direction`` (an edit
  direction, ``NAME.direction.safetensors``, whose strength 1 is its natural unit);
* ``model`` and ``weights_sha256`` - the model that made it and the fingerprint of its weights
  (:func:`weights_fingerprint`): a latent from another model, or from the same model retrained,
  is refused with a message saying so, never decoded into garbage;
* ``source`` (the image it encodes, or how a direction was made) and the imgedit version.

Version-1 files (``imgedit-latent-1``: ``latent`` + model + source) are still read; they carry no
weights fingerprint, so that check is skipped for them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from imgedit.errors import InputError

if TYPE_CHECKING:  # torch is imported inside the functions: listing a plan needs no torch
    import torch

    from imgedit.api import ModelSpec

LATENT_SUFFIX = ".latent.safetensors"
DIRECTION_SUFFIX = ".direction.safetensors"
FORMAT_V1, FORMAT_V2 = "imgedit-latent-1", "imgedit-latent-2"
KINDS = ("latent", "direction")


def weights_fingerprint(spec: "ModelSpec") -> str:
    """What identifies a model's weights: the sha256 of its one weight file, or of the sorted
    sha256s of several; ``""`` for a model without weights."""
    shas = sorted(w.sha256 for w in spec.weights)
    if not shas:
        return ""
    return shas[0] if len(shas) == 1 else hashlib.sha256("".join(shas).encode()).hexdigest()


@dataclass
class LatentFile:
    latent: "torch.Tensor"
    kind: str
    model: str
    weights_sha256: str
    source: str
    extras: dict = field(default_factory=dict)  #: name -> tensor
    meta: dict = field(default_factory=dict)    #: every metadata string


def save_latent(path: Path, latent: "torch.Tensor", *, model: str, source: str = "", kind: str = "latent",
                weights_sha256: str = "", extras: Mapping[str, "torch.Tensor"] | None = None,
                meta: Mapping[str, str] | None = None) -> None:
    """Write one latent (or direction) atomically (temp file + rename)."""
    import torch
    from safetensors.torch import save_file

    from imgedit import __version__
    from imgedit.io.atomic import atomic_path

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    md = {**dict(meta or {}), "format": FORMAT_V2, "kind": kind, "model": model, "source": source,
          "weights_sha256": weights_sha256, "imgedit": __version__}
    tensors = {"latent": latent.detach().to("cpu", torch.float32).contiguous()}
    for k, v in (extras or {}).items():
        tensors[f"extra.{k}"] = v.detach().to("cpu", torch.float32).contiguous()
    with atomic_path(Path(path)) as tmp:
        save_file(tensors, str(tmp), metadata=md)


def read_latent(path: Path) -> LatentFile:
    """Read a latent or direction file (v1 or v2) without checking whose it is."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            if meta.get("format") not in (FORMAT_V1, FORMAT_V2) or "latent" not in fh.keys():
                raise InputError(path, "not an imgedit latent file")
            tensor = fh.get_tensor("latent")
            extras = {k[len("extra."):]: fh.get_tensor(k) for k in fh.keys() if k.startswith("extra.")}
    except (SafetensorError, OSError) as exc:
        raise InputError(path, f"unreadable latent file ({' '.join(str(exc).split())})") from None
    return LatentFile(tensor, meta.get("kind", "latent"), meta.get("model", ""), meta.get("weights_sha256", ""),
                      meta.get("source", ""), extras, meta)


def check_latent(path: Path, lf: LatentFile, *, model: str | None, weights_sha256: str | None,
                 kind: str = "latent") -> None:
    """Refuse a file of another kind, another model or other weights (a retrained model)."""
    if lf.kind != kind:
        raise InputError(path, f"this is a {lf.kind} file, not a {kind} file")
    what = "direction" if kind == "direction" else "latent"
    if model is not None and lf.model != model:
        raise InputError(path, f"{what} was made by model {lf.model!r}, not {model!r}")
    if weights_sha256 and lf.weights_sha256 and lf.weights_sha256 != weights_sha256:
        raise InputError(path, f"{what} was made by {lf.model} with other weights (sha256 "
                               f"{lf.weights_sha256[:12]}…, now {weights_sha256[:12]}…): the model was retrained "
                               f"since; {'encode the image' if kind == 'latent' else 'make the direction'} again")


def load_latent(path: Path, *, model: str | None = None, weights_sha256: str | None = None,
                kind: str = "latent") -> "tuple[torch.Tensor, dict]":
    """Read a latent file; when ``model`` (and ``weights_sha256``) is given it must match."""
    lf = read_latent(path)
    check_latent(path, lf, model=model, weights_sha256=weights_sha256, kind=kind)
    return lf.latent, lf.meta


def save_direction(path: Path, vector: "torch.Tensor", *, model: str, weights_sha256: str, source: str,
                   method: str) -> None:
    """A direction file: ``vector`` (latent shape) whose strength 1 is its natural unit."""
    save_latent(path, vector, model=model, source=source, kind="direction", weights_sha256=weights_sha256,
                meta={"method": method})


def load_direction(path: Path, *, model: str, weights_sha256: str) -> "torch.Tensor":
    return load_latent(path, model=model, weights_sha256=weights_sha256, kind="direction")[0]


def lerp(a: "torch.Tensor", b: "torch.Tensor", t: float) -> "torch.Tensor":
    return a + (b - a) * t


def slerp(a: "torch.Tensor", b: "torch.Tensor", t: float, eps: float = 1e-7) -> "torch.Tensor":
    """Spherical interpolation of (batches of) latents; falls back to lerp for parallel vectors."""
    import torch
    af, bf = a.flatten(1) if a.dim() > 1 else a[None], b.flatten(1) if b.dim() > 1 else b[None]
    an, bn = af / af.norm(dim=1, keepdim=True).clamp_min(eps), bf / bf.norm(dim=1, keepdim=True).clamp_min(eps)
    omega = torch.acos((an * bn).sum(1).clamp(-1 + eps, 1 - eps))[:, None]
    so = torch.sin(omega)
    out = torch.where(so.abs() < 1e-4, af + (bf - af) * t,
                      torch.sin((1 - t) * omega) / so * af + torch.sin(t * omega) / so * bf)
    return out.reshape(a.shape)
