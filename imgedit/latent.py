"""Latent files and latent arithmetic, shared by every encode/generate model (GAN, VAE, ...).

A latent file is a safetensors file holding one tensor ``latent`` (shape ``latent_shape``, no
batch axis) and string metadata: the model that made it (``model``), the image it encodes
(``source``) and the imgedit version. ``imgedit encode`` writes them, ``imgedit generate
--latents`` reads them back, so a latent made by one model is never fed to another by mistake.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from imgedit.errors import InputError

if TYPE_CHECKING:  # torch is imported inside the functions: listing a plan needs no torch
    import torch

LATENT_SUFFIX = ".latent.safetensors"


def save_latent(path: Path, latent: "torch.Tensor", *, model: str, source: str = "") -> None:
    """Write one latent atomically (temp file + rename)."""
    import torch
    from safetensors.torch import save_file

    from imgedit import __version__
    from imgedit.io.atomic import atomic_path

    meta = {"format": "imgedit-latent-1", "model": model, "source": source, "imgedit": __version__}
    with atomic_path(Path(path)) as tmp:
        save_file({"latent": latent.detach().to("cpu", torch.float32).contiguous()}, str(tmp), metadata=meta)


def load_latent(path: Path, *, model: str | None = None) -> "tuple[torch.Tensor, dict]":
    """Read a latent file; when ``model`` is given it must match the file's model."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            if meta.get("format") != "imgedit-latent-1" or "latent" not in fh.keys():
                raise InputError(path, "not an imgedit latent file")
            tensor = fh.get_tensor("latent")
    except (SafetensorError, OSError) as exc:
        raise InputError(path, f"unreadable latent file ({' '.join(str(exc).split())})") from None
    if model is not None and meta.get("model") != model:
        raise InputError(path, f"latent was made by model {meta.get('model')!r}, not {model!r}")
    return tensor, meta


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
