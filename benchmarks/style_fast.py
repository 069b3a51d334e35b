"""Fast style network: throughput of the plugin's inference path vs a plain fp32 eager loop (not a test).

Reference ("what a user would otherwise run"): the loop of pytorch/examples fast_neural_style --
the same network in fp32, NCHW, ``torch.no_grad()``, one image per call. The plugin's path:
``torch.inference_mode()``, bf16 autocast (on CPUs with bf16 support), channels-last. Reports
seconds per image at 512x512 and 1920x1080 and the SSIM of the plugin's output against the fp32
reference output (goal: >= 2.5x faster with SSIM >= 0.98; 1080p < 1 s).

Weights: ``--style NAME`` uses the exported ``pretrained/style-NAME.safetensors`` (declared in the
plugin); ``--weights FILE`` any exported file or training checkpoint (``last.safetensors``);
``--random`` a randomly initialised width-32 network (speed only; SSIM is then not meaningful).

    python benchmarks/style_fast.py --style starry_night [--threads 2] [--iters 5]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from imgedit_style.transformer import TransformerNet


def load_net(args) -> TransformerNet:
    from safetensors.torch import load_file

    if args.random:
        torch.manual_seed(0)
        return TransformerNet(32, 5).eval().requires_grad_(False)
    if args.weights:
        state = load_file(args.weights)
        if any(k.startswith("net.") for k in state):  # a training checkpoint
            state = {k[4:]: v for k, v in state.items() if k.startswith("net.")}
        return TransformerNet.from_state_dict(state)
    from imgedit import weights as weights_mod
    from imgedit_style.plugin import fast_weight_name, spec

    return TransformerNet.from_state_dict(weights_mod.load(spec(), fast_weight_name(args.style)))


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean SSIM of the luma (Gaussian window 11, sigma 1.5; Wang et al. 2004 constants)."""
    w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    x, y = (a.float() * w).sum(1, keepdim=True), (b.float() * w).sum(1, keepdim=True)
    g = torch.exp(-((torch.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    g = (g / g.sum())
    k = (g[:, None] * g[None, :]).view(1, 1, 11, 11)
    mu_x, mu_y = F.conv2d(x, k), F.conv2d(y, k)
    sxx = F.conv2d(x * x, k) - mu_x ** 2
    syy = F.conv2d(y * y, k) - mu_y ** 2
    sxy = F.conv2d(x * y, k) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return float(s.mean())


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

    def reference(x):  # pytorch/examples fast_neural_style: fp32 eager, no_grad
        with torch.no_grad():
            return net(x)

    net_cl = TransformerNet.from_state_dict(net.state_dict()).to(memory_format=torch.channels_last)

    def plugin_path(x):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return net_cl(x.contiguous(memory_format=torch.channels_last)).float()

    print("| size | fp32 eager (reference) | plugin (bf16, channels-last, inference mode) | speed-up | SSIM vs fp32 |")
    print("|---|---|---|---|---|")
    for h, w in ((512, 512), (1080, 1920)):
        x = F.interpolate(photo, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
        t_ref, o_ref = timed(reference, x, args.iters)
        t_new, o_new = timed(plugin_path, x, args.iters)
        print(f"| {w}x{h} | {t_ref:.3f} s | {t_new:.3f} s | {t_ref / t_new:.2f}x | {ssim(o_new, o_ref):.4f} |")


if __name__ == "__main__":
    main()
