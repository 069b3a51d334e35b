"""How much motion the interp benchmark sets and the trainer's crops carry (is the training data
like the benchmark?). Per set: the OpenCV DIS flow F01 from the first to the last frame of each
triplet, in pixels (median over triplets of the median |F01|, mean 90th and 99th percentile,
largest 99th percentile, largest), and the PSNR of frame blending (how hard the triplets are).
Session 2's numbers: plugins/imgedit-interp/docs/quality-review-2026-11-26.md (section 2.4).

Sets: ucf101 and sample_video (../shared/data/frames; the triplets of benchmarks/interp_quality.py,
full frames), and ``--samples`` training crops each of real video and of synthetic motion, drawn
by ``imgedit_interp.data.TripletSampler`` as training draws them (augmented, crop and motion-aware
skipping of ``tools/train_interp.sh`` by default; video from ``default_sources()``, photos from
~/.cache/imgedit/media/photos: ``bash tools/fetch_media.sh``). Sets whose data is absent are
skipped with a message. About a minute on 2 cores.

    .venv/bin/python benchmarks/interp_motion_stats.py [--samples 48] [--crop 192] [--low-motion-skip 0.3]
"""
from __future__ import annotations

import argparse
import random

import numpy as np

from imgedit_interp.data import MEDIA, TripletSampler, default_sources, load_clips, load_photos
from imgedit_interp.train import psnr as psnr01
from interp_quality import SHARED, blend, dis, psnr, triplets


def row(name: str, flows: list[np.ndarray], blend_psnr: list[float]) -> str:
    """A table row from the F01 fields (H,W,2) of a set and its frame-blending PSNRs."""
    mags = [np.linalg.norm(f, axis=-1) for f in flows]
    p99 = [np.percentile(m, 99) for m in mags]
    return (f"| {name} | {len(flows)} | {np.median([np.median(m) for m in mags]):.2f} | "
            f"{np.mean([np.percentile(m, 90) for m in mags]):.1f} | {np.mean(p99):.1f} | {max(p99):.1f} | "
            f"{max(m.max() for m in mags):.1f} | {np.mean(blend_psnr):.2f} |")


def benchmark_row(name: str) -> str:
    trips = triplets(name)
    return row(f"{name} ({trips[0][0].shape[1]}x{trips[0][0].shape[0]})", [dis(a, b) for a, _, b in trips],
               [psnr(blend(a, b), g) for a, g, b in trips])


def training_row(label: str, sampler: TripletSampler, n: int) -> str:
    rng, flows, bl = random.Random(3), [], []
    for _ in range(n):
        i0, it, i1, t, fl, _ = sampler.sample(rng, val=False, teacher=True)
        flows.append(fl[:2].permute(1, 2, 0).numpy())
        bl.append(psnr01(i0 * (1 - t) + i1 * t, it))
    return row(f"{label} ({sampler.crop} px crops)", flows, bl)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=48, help="training crops per kind")
    ap.add_argument("--crop", type=int, default=192, help="training crop size (tools/train_interp.sh: 192)")
    ap.add_argument("--low-motion-skip", type=float, default=0.3,
                    help="the trainer's --low-motion-skip (tools/train_interp.sh: 0.3)")
    ap.add_argument("--max-frames", type=int, default=150, help="frames read per training video")
    ap.add_argument("--photos", type=int, default=40, help="photos read for the synthetic crops")
    args = ap.parse_args()
    print("| set | triplets | median \\|F01\\| (px) | mean p90 | mean p99 | max p99 | max | frame blending PSNR (dB) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("ucf101", "sample_video"):
        print(benchmark_row(name) if (SHARED / name).is_dir() else f"| {name} | skipped: {SHARED / name} not found |")
    clips = load_clips(default_sources(), max_frames=args.max_frames, log=lambda *a: None)
    photos = load_photos(MEDIA / "photos", limit=args.photos)
    for label, data, ratio in (("training video", clips, 0.0), ("synthetic", photos, 1.0)):
        if not data:
            print(f"| {label} | skipped: no {'training videos' if not ratio else 'photos'} (bash tools/fetch_media.sh) |")
            continue
        sampler = TripletSampler(clips, photos, crop=args.crop, synth_ratio=ratio, seed=1,
                                 low_motion_skip=args.low_motion_skip)
        print(training_row(label, sampler, args.samples), flush=True)


if __name__ == "__main__":
    main()
