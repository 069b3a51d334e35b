"""Fast style network: throughput of the plugin's inference path vs a plain fp32 eager loop (not a test).

Reference ("what a user would otherwise run"): the loop of pytorch/examples fast_neural_style --
the same network and weights built the way that example builds it (``torch.nn.InstanceNorm2d``,
fp32, NCHW, ``torch.no_grad()``), one image per call. Also timed: that example's own width-32
network (the architecture a user of it runs; random weights, speed only). The plugin's path:
exactly :func:`imgedit_style.transformer.run_fast` on a :func:`for_inference` network, i.e.
``torch.inference_mode()``, weights in bf16 (on CPUs with bf16 support), channels-last, instance
norm through ATen's batch-norm kernel. Reports seconds per image at 512x512 and 1920x1080 and the
SSIM of the plugin's output against the fp32 reference output (goal: >= 2.5x faster with SSIM
>= 0.98; 1080p < 1 s).

Weights: ``--style NAME`` uses the exported ``pretrained/style-NAME.safetensors`` (declared in the
plugin); ``--weights FILE`` any exported file or training checkpoint (``last.safetensors``);
``--random`` a randomly initialised width-16 network (speed only; SSIM is then not meaningful).

    python benchmarks/style_fast.py --style starry_night [--threads 2] [--iters 5]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from imgedit_style.transformer import StatsNorm, TransformerNet, for_inference, run_fast


def as_pytorch_examples(net: TransformerNet) -> torch.nn.Module:
    """The same network and weights with ``torch.nn.InstanceNorm2d(affine=True)`` layers, fp32
    NCHW, as pytorch/examples' fast_neural_style builds it."""
    import copy

    ref = copy.deepcopy(net).float().to(memory_format=torch.contiguous_format)

    def swap(module: torch.nn.Module) -> None:
        for name, child in module.named_children():
            if isinstance(child, StatsNorm):
                norm = torch.nn.InstanceNorm2d(child.weight.numel(), affine=True)
                norm.weight.data.copy_(child.weight.data.float())
                norm.bias.data.copy_(child.bias.data.float())
                setattr(module, name, norm)
            else:
                swap(child)

    swap(ref)
    return ref.eval().requires_grad_(False)


def load_net(args) -> TransformerNet:
    if args.random:
        torch.manual_seed(0)
        return TransformerNet(16, 5).eval().requires_grad_(False)
    if args.weights:
        from imgedit_style.train import network_state

        return TransformerNet.from_state_dict(network_state(args.weights))
    from imgedit import weights as weights_mod
    from imgedit_style.plugin import fast_weight_name, spec

    return TransformerNet.from_state_dict(weights_mod.load(spec(), fast_weight_name(args.style)))


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM of the luma (:func:`imgedit.metrics.ssim`)."""
    from imgedit.metrics import ssim as ssim_core

    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return float(ssim_core((a.float() * w).sum(1, keepdim=True), (b.float() * w).sum(1, keepdim=True)).mean())


def timed(fn, x, iters: int, warmup: int = 1) -> tuple[float, torch.Tensor]:
    out = None
    for _ in range(warmup):
        out = fn(x)
    ts = []
    for _ in range(iters):
        t = time.perf_counter()
        out = fn(x)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--random", action="store_true")
    ap.add_argument("--image", default="samples/photos/chelsea.jpg")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--iters", type=int, default=3)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from imgedit.engine import to_tensor
    from imgedit.io.images import read_image

    net = load_net(args)
    photo = to_tensor(read_image(args.image).pixels)
    print(f"# style_fast: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), net width {net.width} blocks {net.blocks}\n")

    from imgedit.devices import cpu_has_native_bf16

    ref_net = as_pytorch_examples(net)
    torch.manual_seed(0)
    examples_w32 = as_pytorch_examples(TransformerNet(32, 5))
    dtype = torch.bfloat16 if cpu_has_native_bf16() else None
    fast = for_inference(TransformerNet.from_state_dict(net.state_dict()), "cpu", dtype)

    def reference(x, model=ref_net):  # pytorch/examples fast_neural_style: fp32 eager, no_grad
        with torch.no_grad():
            return model(x)

    def plugin_path(x):  # what `imgedit stylize --method fast` runs (the runner adds these contexts)
        with torch.inference_mode(), torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            return run_fast(fast, x, tile_pixels=1 << 30, dtype=dtype)

    print(f"| size | pytorch/examples w32 net, fp32 | same net (w{net.width}) fp32 eager = reference | "
          f"plugin ({'bf16' if dtype else 'fp32'}, channels-last) | speed-up vs reference | "
          "speed-up vs examples w32 | SSIM vs reference |")
    print("|---|---|---|---|---|---|---|")
    for h, w in ((512, 512), (1080, 1920)):
        x = F.interpolate(photo, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
        t_w32, _ = timed(lambda z: reference(z, examples_w32), x, args.iters)
        t_ref, o_ref = timed(reference, x, args.iters)
        t_new, o_new = timed(plugin_path, x, args.iters)
        print(f"| {w}x{h} | {t_w32:.3f} s | {t_ref:.3f} s | {t_new:.3f} s | {t_ref / t_new:.2f}x | "
              f"{t_w32 / t_new:.2f}x | {ssim(o_new, o_ref):.4f} |")


if __name__ == "__main__":
    main()
