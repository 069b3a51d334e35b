"""Frame-interpolation headroom: how much of the gap to the truth could a two-frame interpolator
close, and where is the error of the DIS baseline? (A diagnostic, not a test; the numbers and
what they mean: plugins/imgedit-interp/docs/quality-review-2026-11-27.md, oracle fusion in
quality-review-2026-11-26.md section 2.1.)

Per benchmark set (the held-out triplets of benchmarks/interp_quality.py: predict the middle
frame from its neighbours) it prints the mean PSNR of:

- DIS warp-and-blend (the benchmark's baseline) and the same with *oracle* intermediate flows
  (DIS from the true middle frame to each end: what perfect motion estimation would give);
- *oracle fusion*: per 4x4 / 8x8 block the best of the two DIS-warped frames and their blend
  (what a perfect occlusion mask alone would give), and the share of the baseline's squared
  error in its worst 5% of pixels;
- test-time augmentation of DIS (h-flip, v-flip), a symmetric "bilateral" correction of the
  intermediate flows (DIS between the two warped frames), per-pixel choice among those candidates
  by warp consistency, and the oracle choice among them in 9x9 boxes;
- per triplet, where the true middle frame lies on the motion path (projection of DIS(frame0 ->
  middle) onto DIS(frame0 -> frame2); 0.5 for uniform motion), and DIS interpolation at that
  measured time instead of 0.5 (what knowing the capture timing, invisible in frames 0 and 2, is
  worth).

Data: ../shared/data/frames/ucf101 and ../shared/data/frames/sample_video (a set that is absent
is skipped with a message). About 2 minutes for both sets on 2 cores.

    .venv/bin/python benchmarks/interp_headroom.py [--sets ucf101,sample_video] [--limit N] [--threads N]
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from imgedit_interp.net import intermediate_flows
from interp_quality import SHARED, blend, dis, dis_interpolate, psnr, triplets, warp

SETS = ("ucf101", "sample_video")
BASELINE = "DIS warp-and-blend (baseline)"


def pick(candidates: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """Per pixel the candidate image (K,H,W,3) that ``choice`` (H,W) names."""
    return np.take_along_axis(candidates, choice[None, ..., None].repeat(3, -1), 0)[0]


def quantise(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def dis_paths(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Ft0, Ft1) at t = 0.5 from the DIS flows of the pair (linear motion)."""
    return intermediate_flows(dis(a, b), dis(b, a), 0.5)


def candidates(a: np.ndarray, b: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Intermediate flows (Ft0, Ft1) at t = 0.5 built from DIS alone."""
    out = {BASELINE: dis_paths(a, b)}
    for label, axis, sign in (("DIS on h-flipped frames", 1, np.array([-1, 1], np.float32)),
                              ("DIS on v-flipped frames", 0, np.array([1, -1], np.float32))):
        flip = lambda z: np.flip(z, axis).copy()  # noqa: E731
        out[label] = tuple(flip(f) * sign for f in dis_paths(flip(a), flip(b)))
    s0, s1 = out[BASELINE]
    w0, w1 = warp(a, s0), warp(b, s1)
    d01, d10 = dis(w0, w1), dis(w1, w0)
    out["bilateral correction"] = (s0 + 0.25 * (d10 - d01), s1 + 0.25 * (d01 - d10))
    return out


def oracle_fusion(w0: np.ndarray, w1: np.ndarray, gt: np.ndarray, block: int) -> np.ndarray:
    """Per ``block`` x ``block`` tile the best of w0, w1 and their blend (the blend where the tiles
    do not reach the frame's edge)."""
    c = np.stack([w0, w1, blend(w0, w1)]).astype(np.float32)
    err = ((c - gt.astype(np.float32)) ** 2).sum(-1)
    h, w = gt.shape[:2]
    hh, ww = h // block * block, w // block * block
    tiles = err[:, :hh, :ww].reshape(3, hh // block, block, ww // block, block).sum((2, 4))
    choice = np.full((h, w), 2)
    choice[:hh, :ww] = np.kron(tiles.argmin(0), np.ones((block, block), int))
    return quantise(pick(c, choice))


def middle_position(a: np.ndarray, gt: np.ndarray, b: np.ndarray) -> float:
    """Median projection of DIS(a -> gt) on DIS(a -> b) over the moving pixels (NaN when under 100
    pixels move more than 1 px)."""
    f02, f01 = dis(a, b), dis(a, gt)
    m = np.linalg.norm(f02, axis=-1) > 1.0
    if m.sum() <= 100:
        return float("nan")
    return float(np.median((f01[m] * f02[m]).sum(-1) / (f02[m] ** 2).sum(-1)))


def headroom(trips: list) -> tuple[dict[str, list[float]], list[float], float]:
    """PSNR per method and triplet, the middle frames' positions, the worst-5% error share."""
    res: dict[str, list[float]] = {}
    where, worst = [], []
    add = lambda k, v: res.setdefault(k, []).append(v)  # noqa: E731
    for a, g, b in trips:
        add("oracle intermediate flows", psnr(blend(warp(a, dis(g, a)), warp(b, dis(g, b))), g))
        cands = candidates(a, b)
        preds, cons = [], []
        for k, (s0, s1) in cands.items():
            w0, w1 = warp(a, s0).astype(np.float32), warp(b, s1).astype(np.float32)
            preds.append((w0 + w1) / 2)
            cons.append(((w0 - w1) ** 2).sum(-1))
            add(k, psnr(quantise(preds[-1]), g))
        s0, s1 = cands[BASELINE]
        w0, w1 = warp(a, s0), warp(b, s1)
        for bs in (4, 8):
            add(f"ORACLE fusion of the DIS warps ({bs}x{bs} blocks)", psnr(oracle_fusion(w0, w1, g, bs), g))
        se = np.sort(((blend(w0, w1).astype(np.float32) - g) ** 2).sum(-1).ravel())[::-1]
        worst.append(se[:len(se) // 20].sum() / se.sum())
        add("TTA: mean of DIS, h-flip, v-flip", psnr(quantise(sum(preds[:3]) / 3), g))
        P, C = np.stack(preds), np.stack(cons)
        E = ((P - g.astype(np.float32)) ** 2).sum(-1)
        for lab, M in (("choice by warp consistency (9x9)", C), ("ORACLE choice among them (9x9 boxes)", E)):
            sel = np.stack([cv2.boxFilter(m, -1, (9, 9)) for m in M]).argmin(0)
            add(lab, psnr(quantise(pick(P, sel)), g))
        where.append(middle_position(a, g, b))
        t_seen = 0.5 if np.isnan(where[-1]) else float(np.clip(where[-1], 0.02, 0.98))
        add("DIS at the middle frame's measured t", psnr(dis_interpolate(a, b, t_seen), g))
    return res, where, float(np.mean(worst))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated, of " + ", ".join(SETS))
    ap.add_argument("--limit", type=int, default=None, help="only the first N triplets of each set")
    ap.add_argument("--threads", type=int, default=None, help="OpenCV threads (default: OpenCV's choice)")
    args = ap.parse_args()
    if args.threads:
        cv2.setNumThreads(args.threads)
    for name in args.sets.split(","):
        if name not in SETS:
            ap.error(f"unknown set {name!r} (choose from {', '.join(SETS)})")
        if not (SHARED / name).is_dir():
            print(f"{name}: skipped, {SHARED / name} not found")
            continue
        res, where, worst = headroom(triplets(name)[:args.limit])
        print(f"{name} ({len(where)} triplets)")
        for k, v in res.items():
            print(f"   {k:48s} {np.mean(v):.3f} dB")
        print(f"   share of the baseline's squared error in its worst 5% of pixels: {worst:.0%}")
        print("   middle frame's position on the path: " + " ".join(f"{w:.2f}" for w in where), flush=True)


if __name__ == "__main__":
    main()
