"""Gatys optimisation: time to reach a fixed loss, multi-scale vs plain single-scale Adam (not a test).

The baseline is what a user would write: Adam on the pixels at full size from the photo,
``--steps`` iterations, with the EfficientNet-Lite0 package's network as it comes (BatchNorm
layers, NCHW, fp32: :class:`imgedit.perceptual.PackageEncoder`). The variants use imgedit's
shared encoder (BatchNorms folded, channels-last images unless noted). Its final total loss (at full size) is the target; each variant is then run
until its *finest-level* loss (same loss function, same Gram targets) is at or below the target,
and the wall time to get there is reported (coarse levels included).

Variants: single-scale Adam bf16, multi-scale Adam (2 and 3 levels, fixed iterations per coarse
level) fp32 and bf16, single-scale and multi-scale L-BFGS; the finest level of each runs until it
reaches the target (at most twice the baseline's steps). Usage::

    python benchmarks/style_optimize.py [--size 384] [--steps 300] [--threads 1] [--style starry_night]
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

from imgedit import weights as weights_mod
from imgedit.engine import to_tensor
from imgedit.io.images import read_image
from imgedit.perceptual import PackageEncoder, get_encoder
from imgedit_style.color import resize_long
from imgedit_style.optimize import OptimizeConfig, StepTimer, stylize
from imgedit_style.plugin import spec
from imgedit_style.references import decode_reference


def run(content, style, enc, *, stop_below=None, **kw):
    kw.setdefault("optimizer", "adam")  # variants name L-BFGS explicitly
    cfg = OptimizeConfig(**kw)
    timer = StepTimer(stop_below)
    stylize(content, [style], [1.0], cfg, enc, callback=timer)
    finest = [r for r in timer.rows if r[1] == max(r[1] for r in timer.rows)]
    hit = next((r for r in finest if stop_below is not None and r[3] <= stop_below), None)
    return timer, finest, hit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", default="samples/photos/chelsea.jpg")
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--steps", type=int, default=300, help="baseline Adam steps (its final loss is the target)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    enc = get_encoder("cpu")
    content = resize_long(to_tensor(read_image(args.image).pixels), args.size)
    style = decode_reference(weights_mod.load(spec(), "references")[args.style])
    print(f"# style_optimize: {args.image} at {tuple(content.shape[-2:])}, style {args.style}, "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)\n")

    base, finest, _ = run(content, style, PackageEncoder(), steps=args.steps, scales=1, channels_last=False)
    target = finest[-1][3]
    t_base = finest[-1][0]
    print(f"baseline: single-scale Adam fp32 on the package network, {args.steps} steps: loss {target:.4f} "
          f"in {t_base:.1f} s ({t_base / args.steps * 1000:.0f} ms/step)\n")
    print("| variant | reached target | time to target | vs baseline |")
    print("|---|---|---|---|")
    print(f"| single-scale Adam fp32, package network, NCHW (baseline) | yes | {t_base:.1f} s | 100% |")
    cap = args.steps * 2
    c = args.steps // 3
    variants = [
        ("single-scale Adam fp32, NCHW", dict(scales=1, channels_last=False)),
        ("single-scale Adam fp32", dict(scales=1)),
        ("single-scale Adam bf16", dict(scales=1, bf16=True)),
        (f"multi-scale x2 Adam fp32, {c} coarse steps", dict(scales=2, coarse_steps=c)),
        (f"multi-scale x3 Adam fp32, {c} coarse steps/level", dict(scales=3, coarse_steps=c)),
        (f"multi-scale x3 Adam fp32, {2 * c} coarse steps/level", dict(scales=3, coarse_steps=2 * c)),
        (f"multi-scale x3 Adam bf16, {c} coarse steps/level", dict(scales=3, coarse_steps=c, bf16=True)),
        ("single-scale L-BFGS fp32", dict(scales=1, optimizer="lbfgs")),
        (f"multi-scale x3 L-BFGS fp32, {c} coarse evaluations/level", dict(scales=3, optimizer="lbfgs", coarse_steps=c)),
        (f"multi-scale x3 L-BFGS bf16, {c} coarse evaluations/level",
         dict(scales=3, optimizer="lbfgs", coarse_steps=c, bf16=True)),
    ]
    for name, kw in variants:
        timer, finest, hit = run(content, style, enc, stop_below=target, steps=cap, **kw)
        if hit:
            print(f"| {name} | yes (step {hit[2] + 1} of the finest level) | {hit[0]:.1f} s | {hit[0] / t_base:.0%} |")
        else:
            print(f"| {name} | no: {finest[-1][3]:.4f} after {cap} finest steps | > {timer.rows[-1][0]:.1f} s | - |")


if __name__ == "__main__":
    main()
