"""The classic models (torch). See :mod:`imgedit.builtin` for what each one does."""
from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Iterator

import torch
import torch.nn.functional as F

from imgedit.api import Frame, ImageModel, LatentModel
from imgedit.sequence import interpolate_frames, target_rate

_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def luma(x: torch.Tensor) -> torch.Tensor:
    return (x * _LUMA.to(x.device, x.dtype)).sum(1, keepdim=True)


class Adjust(ImageModel):
    def edit(self, images, brightness=0.0, contrast=1.0, saturation=1.0, gamma=1.0):
        x = images + brightness
        x = (x - 0.5) * contrast + 0.5
        y = luma(x)
        x = y + (x - y) * saturation
        x = x.clamp(0, 1)
        return x ** (1.0 / gamma) if gamma != 1.0 else x


class Resize(ImageModel):
    def edit(self, images, scale=None, width=None, height=None, fit="contain"):
        h, w = images.shape[-2:]
        if width or height:
            if width and height and fit == "stretch":
                size = (height, width)
            else:
                s = min(width / w if width else float("inf"), height / h if height else float("inf"))
                size = (max(1, round(h * s)), max(1, round(w * s)))
        elif scale:
            size = (max(1, round(h * scale)), max(1, round(w * scale)))
        else:
            return images
        return F.interpolate(images, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t ** 2) / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    pad = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    if pad < radius:  # tiny image: reflect padding cannot exceed the size, use replicate
        xp = F.pad(x, (radius,) * 4, mode="replicate")
    else:
        xp = F.pad(x, (radius,) * 4, mode="reflect")
    xp = F.conv2d(xp, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(xp, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


class Sharpen(ImageModel):
    def edit(self, images, amount=0.8, radius=1.5):
        from imgedit.tiling import auto_tiled

        def run(x):
            return (x + amount * (x - gaussian_blur(x, radius))).clamp(0, 1)

        return auto_tiled(run, images, self.ctx.tile_pixels, overlap=max(8, int(6 * radius)))


class Deflicker(ImageModel):
    """Match each frame's per-channel mean to a running average of the recent frames' means.

    Flicker is a fast change of global brightness/colour; real content changes (a cut) reset the
    memory, so a new shot is never pulled towards the previous shot's colours.
    """

    def edit(self, images, window=8):
        return images  # a single image has no temporal context

    def edit_sequence(self, frames: Iterable[Frame], window=8) -> Iterator[Frame]:
        alpha = 1.0 / window
        avg = None
        for fr in frames:
            mean = fr.image.mean(dim=(2, 3), keepdim=True)
            if fr.scene_start or avg is None:
                avg = mean
            else:
                avg = (1 - alpha) * avg + alpha * mean
            out = (fr.image * (avg / mean.clamp_min(1e-4))).clamp(0, 1)
            yield Frame(out, fr.time, fr.index, fr.scene_start, fr.rate)


class Blend(ImageModel):
    """Linear cross-fade between neighbour frames (what a naive frame-rate converter does)."""

    def output_rate(self, input_rate: Fraction, factor=2, fps=None) -> Fraction:
        return target_rate(input_rate, factor, fps)

    def edit_sequence(self, frames: Iterable[Frame], factor=2, fps=None) -> Iterator[Frame]:
        yield from interpolate_frames(frames, lambda a, b, t: a.image * (1 - t) + b.image * t, factor, fps)


class ColorGrid(LatentModel):
    """Encode: the 8x8 grid of mean colours (area average). Generate: bicubic upsampling of it.
    A latent model like the GANs: directions, residual edits and morphs work on it too."""

    def encode(self, images, size=256, **_):
        return F.adaptive_avg_pool2d(images, (8, 8))

    def sample_latents(self, n, generator, size=256, **_):
        base = torch.rand((n, 3, 1, 1), generator=generator)
        detail = torch.rand((n, 3, 8, 8), generator=generator)
        return (0.6 * base + 0.4 * detail).clamp(0, 1)

    def generate(self, latents, size=256, **_):
        return F.interpolate(latents.clamp(0, 1), size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def gray_u8(images: torch.Tensor) -> list:
    """(B,3,H,W) float [0,1] -> B (H,W) uint8 luma arrays (Rec. 601), as OpenCV's flow wants."""
    y = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]).float().clamp(0, 1)
    return list((y * 255 + 0.5).to(torch.uint8).cpu().numpy())


class DisFlow(ImageModel):
    """OpenCV's DIS optical flow (Kroeger et al. 2016) on the luma, one image pair at a time."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self._dis: dict[str, object] = {}

    def flow(self, a, b, preset="medium"):
        import cv2

        if preset not in self._dis:
            self._dis[preset] = cv2.DISOpticalFlow_create({
                "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[preset])
        dis = self._dis[preset]
        flows = [torch.from_numpy(dis.calc(ga, gb, None)).permute(2, 0, 1)
                 for ga, gb in zip(gray_u8(a), gray_u8(b))]
        return torch.stack(flows).to(a.device)
