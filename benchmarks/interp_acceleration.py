"""Straight vs quadratic (constant-acceleration) in-between paths from DIS flows, and the cap on
the acceleration: what chose ``imgedit_interp.net.ACC_LIMIT`` (0.75) for interp.gru's
``motion=quadratic`` (session 4's numbers: plugins/imgedit-interp/docs/quality-review-2026-11-27.md).

Windows of five frames i-2, i, i+1 (the truth), i+2, i+4: the pair (i, i+2) is interpolated at
t = 0.5 by DIS warp-and-blend with straight paths, with quadratic paths
(:func:`imgedit_interp.net.acceleration` from the DIS flows to the neighbours i-2 and i+4, same
spacing) uncapped and at several caps, and causal (the previous neighbour only) at the shipped cap.
Mean PSNR per clip and averaged over clips:

- the training videos' held-out tails, where the cap is chosen (``imgedit_interp.data.default_sources()``:
  ~/.cache/imgedit/media from ``bash tools/fetch_media.sh`` and ../shared/data/video/onepiece_demo.mp4;
  the last ``--tail`` of each clip, every 3rd window, nearly static windows and cuts skipped);
- ../shared/data/frames/sample_video (a benchmark set: a check, not for choosing).

Sources that are absent are skipped with a message. A few minutes on 2 cores.

    .venv/bin/python benchmarks/interp_acceleration.py [--caps 0.5,0.75,1.0] [--limit N] [--no-videos]
"""
from __future__ import annotations

import argparse
import math
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import imgedit_interp.net as N
from imgedit_interp.data import default_sources, load_clips
from interp_quality import SHARED, blend, dis, flow_np, flow_t, psnr, read_rgb, warp

STATIC = 2.0  #: windows whose frames i and i+2 differ by less (mean 8-bit level) are skipped


@contextmanager
def acc_limit(limit: float):
    """``imgedit_interp.net.ACC_LIMIT`` set to ``limit`` (math.inf: uncapped) for the block."""
    old, N.ACC_LIMIT = N.ACC_LIMIT, limit
    try:
        yield
    finally:
        N.ACC_LIMIT = old


def variants(window: tuple, caps: list[float]) -> dict[str, np.ndarray]:
    """The middle frame of the window as each path model predicts it."""
    before, a, _, b, after = window
    f01, f10, f0p, f1n = (flow_t(f) for f in (dis(a, b), dis(b, a), dis(a, before), dis(b, after)))
    paths = {"linear": N.intermediate_flows(f01, f10, 0.5)}
    for cap in [math.inf, *caps]:
        with acc_limit(cap):
            acc = N.acceleration(f01, f10, f0p, f1n)
        paths["quadratic, uncapped" if cap == math.inf else f"quadratic, cap {cap:g}"] = \
            N.intermediate_flows(f01, f10, 0.5, acc)
    paths[f"quadratic causal, cap {N.ACC_LIMIT:g}"] = N.intermediate_flows(f01, f10, 0.5, N.acceleration(f01, f10, f0p, None))
    return {k: blend(warp(a, flow_np(ft0)), warp(b, flow_np(ft1))) for k, (ft0, ft1) in paths.items()}


def report(title: str, windows: list[tuple], caps: list[float]) -> dict[str, float]:
    res: dict[str, list[float]] = {}
    for w in windows:
        for k, p in variants(w, caps).items():
            res.setdefault(k, []).append(psnr(p, w[2]))
    means = {k: float(np.mean(v)) for k, v in res.items()}
    print(f"{title}  " + "  ".join(f"{k} {v:.2f}" for k, v in means.items()), flush=True)
    return means


def tail_windows(clip, tail: float) -> list[tuple]:
    """Every 3rd five-frame window of the clip's held-out tail, without cuts or near-stillness."""
    f, n = clip.frames, len(clip.frames)
    return [tuple(f[j] for j in (i - 2, i, i + 1, i + 2, i + 4))
            for i in range(max(int(n * (1 - tail)), 2), n - 4, 3)
            if clip.ok[i - 2:i + 4].all() and np.abs(f[i].astype(int) - f[i + 2].astype(int)).mean() >= STATIC]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--caps", default="0.5,0.75,1.0", help="comma-separated ACC_LIMIT values to compare")
    ap.add_argument("--tail", type=float, default=0.15, help="held-out fraction at the end of each clip "
                    "(the trainer's validation split)")
    ap.add_argument("--max-frames", type=int, default=400, help="frames read per training video")
    ap.add_argument("--limit", type=int, default=None, help="at most N windows per clip / set")
    ap.add_argument("--no-videos", action="store_true", help="sample_video only")
    args = ap.parse_args()
    caps = [float(c) for c in args.caps.split(",")]
    sources = [] if args.no_videos else default_sources()
    if not args.no_videos and not sources:
        print("training videos: skipped, none found (bash tools/fetch_media.sh)")
    per_clip = []
    for clip in load_clips(sources, max_frames=args.max_frames, short=288, log=lambda *a: None):
        wins = tail_windows(clip, args.tail)[:args.limit]
        if wins:
            per_clip.append(report(f"{Path(clip.name).name[-28:]:28s} n={len(wins):2d}", wins, caps))
    if per_clip:
        print(f"mean over {len(per_clip)} video tails: "
              + "  ".join(f"{k} {np.mean([r[k] for r in per_clip]):.3f}" for k in per_clip[0]))
    folder = SHARED / "sample_video"
    if not folder.is_dir():
        print(f"sample_video: skipped, {folder} not found")
        return
    fr = [read_rgb(p) for p in sorted(folder.glob("*.png"))]
    wins = [(fr[i - 2], fr[i], fr[i + 1], fr[i + 2], fr[i + 4]) for i in range(2, len(fr) - 4)][:args.limit]
    report(f"sample_video ({len(wins)} windows)", wins, caps)


if __name__ == "__main__":
    main()
