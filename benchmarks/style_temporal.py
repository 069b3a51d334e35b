"""Video flicker: temporal warping error of stylised frames with and without the plugin's temporal
consistency (not a test).

Reads the first ``--frames`` frames of a video, stylises each with a fast style network
(``--style NAME`` exported weights, or ``--weights FILE`` an exported file / training checkpoint),
once independently per frame and once through :class:`imgedit_style.temporal.TemporalBlender`
(flow-warped previous output blended where forward/backward flow agree; reset at scene cuts). The
metric (:func:`imgedit_style.temporal.warping_error`) is the masked MSE between each output frame
and the previous output warped into it with the flow of the *input* frames (lower = steadier).
The input video's own warping error is printed as the floor (warping/occlusion noise).
``--flows`` names the flow models the blender is run with (default: ``classic.flow``, i.e. OpenCV
DIS, and ``interp.gru`` when installed); the metric always uses DIS, which favours the DIS-based
blend somewhat.

    python benchmarks/style_temporal.py --weights ~/.cache/imgedit/train/style-starry_night/last.safetensors \\
        [--video samples/video/bigbuckbunny_320.mp4] [--frames 48] [--alpha 0.7]
"""
from __future__ import annotations

import argparse
import time

import torch

from imgedit.engine import to_tensor
from imgedit.io.video import read_frames
from imgedit.scenes import SceneDetector
from imgedit_style.temporal import FlowEstimator, TemporalBlender, warping_error


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default="samples/video/bigbuckbunny_320.mp4")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--random", action="store_true", help="random network (mechanics only)")
    ap.add_argument("--alpha", type=float, nargs="+", default=[0.5, 0.7, 0.85])
    ap.add_argument("--flows", nargs="+", default=["classic.flow", "interp.gru"],
                    help="flow models for the blender (alpha 0.7 for all but the first)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from style_fast import load_net  # same folder

    net = load_net(args)
    inputs, cuts = [], []
    det = SceneDetector()
    for i, (arr, _) in enumerate(read_frames(args.video)):
        if i >= args.frames:
            break
        cuts.append(det.update(arr))
        inputs.append(to_tensor(arr.astype("float32") / 255.0))
    t0 = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        raw = [net(x).float() for x in inputs]
    t_net = (time.perf_counter() - t0) / len(inputs)
    h, w = inputs[0].shape[-2:]
    print(f"# style_temporal: {args.video}, {len(inputs)} frames {w}x{h}, {sum(cuts) - 1} scene cut(s), "
          f"network {t_net * 1000:.0f} ms/frame\n")
    print("| output | warping error (MSE, x1e-3) | vs per-frame | extra time per frame |")
    print("|---|---|---|---|")
    e_in = warping_error(inputs, inputs, cuts)
    e_raw = warping_error(inputs, raw, cuts)
    print(f"| input video (floor) | {e_in * 1e3:.3f} | - | - |")
    print(f"| per-frame stylisation | {e_raw * 1e3:.3f} | 100% | - |")
    import imgedit

    installed = {m.name for m in imgedit.list_models()}
    flows = [f for f in args.flows if f in installed]
    runs = [(a, flows[0]) for a in args.alpha] + [(0.7, f) for f in flows[1:]]
    for alpha, flow in runs:
        blender = TemporalBlender(alpha, FlowEstimator(flow))
        out = []
        t0 = time.perf_counter()
        for x, y, cut in zip(inputs, raw, cuts):
            if cut:
                blender.reset()
            blender.prepare(x)
            out.append(blender.blend(y))
        t_blend = (time.perf_counter() - t0) / len(inputs)
        e = warping_error(inputs, out, cuts)
        print(f"| temporal consistency, alpha {alpha}, flow {flow} | {e * 1e3:.3f} | {e / e_raw:.0%} | "
              f"{t_blend * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
