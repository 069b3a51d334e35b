"""The edit every latent model shares: encode -> move along directions -> decode -> residual.

``imgedit edit -m MODEL photos/ out/ --direction bold:1.5 --mask m.png`` ends here through
:meth:`imgedit.api.LatentModel.edit`. A latent model works at its own small size (64x64 for the
GANs), so decoding the edited latent alone would throw away the photo's resolution and detail;
instead the *change* the edit makes, ``decoded(edited) - decoded(original)``, is resized onto the
original image (``residual=True``, the default). ``--mask`` (white = edit, black = keep) limits
where: pixels under black are returned exactly as they came in.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from imgedit.api import DirectionArg, ImageArg, OptionError


def snap_classes(z: torch.Tensor, classes: int) -> torch.Tensor:
    """A class-conditional model's latents end with ``classes`` class coordinates: scores (an
    encoder's) -> a one-hot of the highest (no change when ``classes`` is 0)."""
    if not classes:
        return z
    return torch.cat([z[:, :-classes], F.one_hot(z[:, -classes:].argmax(1), classes).to(z.dtype)], 1)


def keep_classes(direction: torch.Tensor, classes: int) -> torch.Tensor:
    """A direction of a class-conditional model moves only the part before its ``classes`` class
    coordinates (zeroed), so an edit keeps the class (the letter)."""
    if classes:
        direction = direction.clone()
        direction[-classes:] = 0
    return direction


def direction_vectors(model, directions: Sequence[DirectionArg], like: torch.Tensor) -> torch.Tensor | None:
    """The sum of strength x direction over ``directions`` (None when there are none)."""
    if not directions:
        return None
    shipped = model.directions()
    total = torch.zeros_like(like[0])
    for d in directions:
        vec = d.vector if d.vector is not None else shipped.get(d.name)
        if vec is None:
            raise OptionError(f"model {model.spec.name} has no direction {d.name!r}")
        vec = vec.to(total.device, total.dtype)
        if vec.shape != total.shape:
            raise OptionError(f"direction {d.name!r} has shape {tuple(vec.shape)}, the model's latents "
                              f"{tuple(total.shape)}")
        total = total + d.strength * vec
    return total


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    down = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=down)


def mask_tensor(mask: ImageArg | torch.Tensor | None, size: tuple[int, int], device) -> torch.Tensor | None:
    """(1,1,H,W) weights in [0,1] from a mask image (the mean of its R, G, B), resized to ``size``."""
    if mask is None:
        return None
    img = mask.image if isinstance(mask, ImageArg) else mask
    if img is None:
        raise OptionError(f"mask {getattr(mask, 'value', mask)!r}: no such image file")
    img = img if img.dim() == 4 else img[None]
    m = img.float().mean(1, keepdim=True).to(device)
    return resize(m, size).clamp(0, 1)


def apply_change(images: torch.Tensor, original_decoded: torch.Tensor, edited_decoded: torch.Tensor, *,
                 residual: bool = True, mask=None) -> torch.Tensor:
    """Put an edit made at the model's size onto ``images`` (any size): the residual
    ``edited - original`` resized onto them (or the decoded edit itself, resized, when
    ``residual`` is False), blended by ``mask``."""
    size = tuple(images.shape[-2:])
    if residual:
        out = images + resize((edited_decoded - original_decoded).float(), size)
    else:
        out = resize(edited_decoded.float(), size)
    m = mask_tensor(mask, size, images.device)
    if m is not None:
        out = images + m * (out - images)
    return out.clamp(0, 1)


def edit_images(model, images: torch.Tensor, *, direction: Sequence[DirectionArg] = (), mask=None,
                residual: bool = True, **options: Any) -> torch.Tensor:
    """``LatentModel.edit``: (B,3,H,W) -> (B,3,H,W) at the input's size."""
    z = model.encode(images, **options)
    shift = direction_vectors(model, direction, z)
    original = model.generate(z, **options)
    warn_far_from_training(model, images, original)
    edited = original if shift is None else model.generate(z + shift, **options)
    return apply_change(images, original, edited, residual=residual, mask=mask)


#: below this reconstruction PSNR (dB, at the smaller of the image's and the model's size) an image is far from what the model
#: was trained on: a glyph model reconstructs photos at 6-7 dB, held-out glyphs at 15-25 dB
FAR_PSNR = 10.0


def warn_far_from_training(model, images: torch.Tensor, decoded: torch.Tensor) -> None:
    """Note (``ctx.warn``) each image the model reconstructs below :data:`FAR_PSNR`: its edit
    moves the model's idea of the image, not the image."""
    ctx = getattr(model, "ctx", None)
    if ctx is None or not hasattr(ctx, "warn"):
        return
    # at the smaller of the two sizes: a photo's fine detail is not held against a 64 px model,
    # nor a small image's detail hidden by upsampling it to a larger model's size
    size = tuple(min(a, b) for a, b in zip(images.shape[-2:], decoded.shape[-2:]))
    mse = (resize(decoded.float(), size) - resize(images.float(), size)).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    for i, p in enumerate((10 * torch.log10(1 / mse)).tolist()):
        if p < FAR_PSNR:
            ctx.warn(f"far from what {model.spec.name} was trained on (it reconstructs this image at "
                     f"{p:.1f} dB PSNR): the edit may not fit it", i)
