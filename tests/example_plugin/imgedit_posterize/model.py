"""The model: tensors in, tensors out; no file IO (imgedit's runner does all of that)."""
import torch

from imgedit.api import ImageModel

_BAYER = torch.tensor([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]],
                      dtype=torch.float32) / 16.0 - 0.5 + 1 / 32


class Posterize(ImageModel):
    def edit(self, images, levels=4, dither=True):
        steps = levels - 1
        x = images * steps
        if dither:
            h, w = images.shape[-2:]
            tile = _BAYER.to(images.device).repeat((h + 3) // 4, (w + 3) // 4)[:h, :w]
            x = x + tile
        return (torch.round(x).clamp(0, steps) / steps).to(images.dtype)
