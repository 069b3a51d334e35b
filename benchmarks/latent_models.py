"""GAN vs VAE on the same images (issues 12 and 14; not a test): reconstruction quality and speed.

    python benchmarks/latent_models.py [--n 64] [--threads 2] [--glyph-models A,B] [--face-models A,B]

For each pair (gan.glyphs / vae.glyphs on glyphs of fonts *outside* the training packages,
gan.faces / vae.faces on faces the teacher draws from a seed never used for training), the same
``--n`` images are encoded and decoded: PSNR and perceptual distance of the reconstruction,
images per second for encode and for decode (batch 16, fp32, ``--threads``). The GAN's encode is
its inversion (encoder, then ``-o steps`` optimisation steps: 0 and the default 100); the VAE's is
its posterior mean (one forward pass). Sharpness: the reconstruction's Laplacian variance as a
fraction of the original's (a blurry reconstruction scores well below 100%).

The VAE's perceptual-term ablation (issue 14) is the same table over ``vae.glyphs`` and
``vae.glyphs-mse`` (trained without it: ``tools/train_vae_glyphs.sh --name glyphs-mse --perceptual 0
--export``): ``--glyph-models vae.glyphs,vae.glyphs-mse --face-models ''``.

Data: ``~/.cache/imgedit/data/glyphs-heldout`` (see benchmarks/gan_glyphs.py); the faces are drawn
here with ``python -m imgedit_gan.faces --seed 7777`` into ``~/.cache/imgedit/bench/faces-heldout``.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from imgedit.metrics import laplacian_variance, psnr

HELD_GLYPHS = Path("~/.cache/imgedit/data/glyphs-heldout").expanduser()
HELD_FACES = Path("~/.cache/imgedit/bench/faces-heldout").expanduser()


def load_images(folder: Path, n: int) -> torch.Tensor:
    import numpy as np
    from PIL import Image

    files = sorted(p for p in folder.rglob("*.png"))
    step = max(1, len(files) // n)
    picked = files[::step][:n]
    arrs = [np.asarray(Image.open(f).convert("RGB"), dtype=np.float32) / 255 for f in picked]
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).contiguous()


def timed(fn, x: torch.Tensor, batch: int = 16):
    outs, t0 = [], time.perf_counter()
    for i in range(0, len(x), batch):
        outs.append(fn(x[i:i + batch]))
    return torch.cat(outs), len(x) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--glyph-models", default="gan.glyphs,vae.glyphs", help="comma-separated; '' = skip the set")
    ap.add_argument("--face-models", default="gan.faces,vae.faces")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from imgedit import load_model
    from imgedit.perceptual import perceptual_distance

    sets = [(data, folder, [m for m in models.split(",") if m]) for data, folder, models in
            (("held-out fonts", HELD_GLYPHS, args.glyph_models), ("held-aside faces", HELD_FACES, args.face_models))]
    sets = [s for s in sets if s[2]]
    if any(folder == HELD_FACES for _, folder, _ in sets) and not (HELD_FACES / "done").exists():
        subprocess.run([sys.executable, "-m", "imgedit_gan.faces", "--count", str(args.n), "--seed", "7777",
                        "--out", str(HELD_FACES)], check=True)
        (HELD_FACES / "done").write_text("")
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {args.n} images per set, batch 16, fp32\n")
    print("| images | model | encode | PSNR dB | perceptual | sharpness | encode img/s | decode img/s |")
    print("|---|---|---|---|---|---|---|---|")
    for data, folder, models in sets:
        x = load_images(folder, args.n)
        detail = laplacian_variance(x).mean().item()
        for name in models:
            try:
                m = load_model(name, precision="fp32")
            except Exception as exc:  # noqa: BLE001 - a model not trained yet
                print(f"| {data} | {name} | - | not available: {exc} | | | | |")
                continue
            variants = [("encoder only", {"steps": 0}), ("encoder + 100 steps", {"steps": 100})] \
                if name.startswith("gan.") else [("posterior mean", {})]
            for label, opts in variants:
                z, enc_rate = timed(lambda b: m.encode(b, **opts), x)
                with torch.inference_mode():
                    rec, dec_rate = timed(lambda b: m.generate(b), z)
                    rec = torch.nn.functional.interpolate(rec, size=x.shape[-2:], mode="bilinear",
                                                          align_corners=False, antialias=True)
                    p = psnr(rec, x).mean().item()
                    d = perceptual_distance(rec, x).mean().item()
                    sharp = laplacian_variance(rec).mean().item() / detail
                print(f"| {data} | {name} | {label} | {p:.2f} | {d:.4f} | {sharp:.0%} | {enc_rate:.1f} | {dec_rate:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
