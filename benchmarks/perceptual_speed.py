"""Forward+backward speed of PerceptualLoss on this machine's CPU (not a test).

Measures one optimisation step's loss evaluation, ``PerceptualLoss(x, content_targets)`` with
default taps (content block7, style stem/block0/2/4/7/10, TV) followed by ``total.backward()``
w.r.t. ``x``, for a batch of 4 images at 256x256, in four variants:

* fp32, contiguous (NCHW) input and weights;
* bf16 ``torch.autocast('cpu')``;
* channels_last input and encoder weights (fp32);
* channels_last + bf16 autocast.

Content targets are precomputed once (as in Gatys optimisation), so only the pass over ``x`` is
timed. Prints a markdown table. Usage::

    python benchmarks/perceptual_speed.py [--size 256] [--batch 4] [--iters 10] [--warmup 3]
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import torch

from imgedit.perceptual import PerceptualEncoder, PerceptualLoss, get_encoder


def _time_variant(
    encoder: PerceptualEncoder,
    x0: torch.Tensor,
    style: torch.Tensor,
    content: torch.Tensor,
    *,
    bf16: bool,
    iters: int,
    warmup: int,
) -> list[float]:
    loss_fn = PerceptualLoss(style, tv_weight=0.1, encoder=encoder)
    targets = loss_fn.content_targets(content)
    x = x0.clone().requires_grad_(True)
    times: list[float] = []
    for i in range(warmup + iters):
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        start = time.perf_counter()
        with ctx:
            losses = loss_fn(x, targets)
        losses["total"].backward()
        elapsed = time.perf_counter() - start
        x.grad = None
        if i >= warmup:
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    torch.manual_seed(0)
    shape = (args.batch, 3, args.size, args.size)
    x = torch.rand(shape)
    style = torch.rand(1, 3, args.size, args.size)
    content = torch.rand(shape)

    nchw = get_encoder("cpu")
    nhwc = PerceptualEncoder().to(memory_format=torch.channels_last)
    cl = torch.channels_last
    variants = [
        ("fp32 (NCHW)", nchw, x, style, content, False),
        ("bf16 autocast (NCHW)", nchw, x, style, content, True),
        ("fp32 channels_last", nhwc, x.contiguous(memory_format=cl), style.contiguous(memory_format=cl),
         content.contiguous(memory_format=cl), False),
        ("bf16 autocast + channels_last", nhwc, x.contiguous(memory_format=cl), style.contiguous(memory_format=cl),
         content.contiguous(memory_format=cl), True),
    ]

    print(f"PerceptualLoss forward+backward, batch {args.batch}, {args.size}x{args.size}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.iters} timed iters after {args.warmup} warm-up\n")
    print("| variant | median ms/iter | min ms/iter | speed-up vs fp32 |")
    print("|---|---:|---:|---:|")
    base: float | None = None
    for name, enc, xi, st, co, bf16 in variants:
        times = _time_variant(enc, xi, st, co, bf16=bf16, iters=args.iters, warmup=args.warmup)
        med = statistics.median(times) * 1e3
        base = med if base is None else base
        print(f"| {name} | {med:.0f} | {min(times) * 1e3:.0f} | {base / med:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
