"""An interp training checkpoint against the DIS baseline on training-style crops: mean PSNR of the
model minus DIS warp-and-blend on the same crops, for the run's raw weights (``model.*``) and,
when it kept them (``--ema``), its averaged weights (``ema.*``), on three kinds of crop: training-
split video (augmented as in training), held-out video (the clips' tails, as validation draws
them) and synthetic motion over photos. The recurrence starts from the DIS flow, as in inference,
with the run's own ``--iters`` and ``--full-init``.

This is what the training log's validation does not show: it scores only the weights that get
exported, with real and synthetic crops mixed. For the benchmark sets (whole frames) evaluate the
checkpoint with ``benchmarks/interp_quality.py --checkpoint DIR``.

Data: the training media (``imgedit_interp.data.default_sources()`` and the photos in
~/.cache/imgedit/media/photos: ``bash tools/fetch_media.sh``; ../shared/data/video/onepiece_demo.mp4
gives video without it); kinds of crop whose data is absent are skipped with a message. About a
minute per weight set on 2 cores with the defaults.

    .venv/bin/python benchmarks/interp_checkpoint_vs_dis.py ~/.cache/imgedit/train/interp-v3 [--batches 3] [--crop 192]
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch

from imgedit_interp.data import MEDIA, TripletSampler, default_sources, load_clips, load_photos
from imgedit_interp.net import flow_grid_size, flow_to_grid8
from imgedit_interp.train import dis_interpolate, psnr
from interp_quality import checkpoint_nets

KINDS = (("training-split video", 0.0, False), ("held-out video", 0.0, True), ("synthetic", 1.0, False))


def run_args(folder: Path) -> dict:
    """The training arguments saved with the checkpoint (older runs kept them at the top level)."""
    state = json.loads((folder / "state.json").read_text())
    return {"step": state.get("step"), **state.get("config", state).get("args", {})}


def model_minus_dis(net, sampler: TripletSampler, val: bool, batches: int, batch: int, iters: int,
                    full_init: bool, bf16: bool) -> float:
    """Mean over the crops of PSNR(model) - PSNR(DIS warp-and-blend), crops from a fixed seed."""
    rng, diffs = random.Random(9), []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for _ in range(batches):
            i0, it, i1, t, dis, _ = sampler.batch(batch, rng, val=val, teacher=True)
            start = {"init_full": dis} if full_init else {"init": flow_to_grid8(dis, flow_grid_size(*i0.shape[-2:]))}
            pred, _ = net(i0, i1, t, iters=iters, **start)
            base = dis_interpolate(i0, i1, dis, t)
            diffs += [psnr(pred[j].float(), it[j]) - psnr(base[j], it[j]) for j in range(len(t))]
    return sum(diffs) / len(diffs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path, help="training folder (last.safetensors + state.json)")
    ap.add_argument("--batches", type=int, default=3, help="batches per kind of crop")
    ap.add_argument("--batch", type=int, default=8, help="crops per batch")
    ap.add_argument("--crop", type=int, default=192)
    ap.add_argument("--iters", type=int, default=None, help="flow iterations (default: the run's)")
    ap.add_argument("--max-frames", type=int, default=150, help="frames read per training video")
    ap.add_argument("--photos", type=int, default=100, help="photos read for the synthetic crops")
    ap.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if not (args.checkpoint / "state.json").is_file():
        ap.error(f"{args.checkpoint}: no training checkpoint (last.safetensors + state.json)")
    if args.threads:
        torch.set_num_threads(args.threads)
    saved = run_args(args.checkpoint)
    iters = args.iters or saved.get("iters", 6)
    print(f"{args.checkpoint}: step {saved['step']}, {iters} flow iterations")
    clips = load_clips(default_sources(), max_frames=args.max_frames, log=lambda *a: None)
    photos = load_photos(MEDIA / "photos", limit=args.photos)
    kinds = []
    for label, ratio, val in KINDS:
        if not (photos if ratio else clips):
            print(f"{label}: skipped, no {'photos in ' + str(MEDIA / 'photos') if ratio else 'training videos'} "
                  "(bash tools/fetch_media.sh)")
        else:
            kinds.append((label, ratio, val))
    for prefix, net in checkpoint_nets(args.checkpoint).items():
        for label, ratio, val in kinds:
            sampler = TripletSampler(clips, photos, crop=args.crop, synth_ratio=ratio)
            d = model_minus_dis(net, sampler, val, args.batches, args.batch, iters,
                                saved.get("full_init", True), not args.fp32)
            print(f"{prefix:7s} {label:22s} model - DIS {d:+.3f} dB", flush=True)


if __name__ == "__main__":
    main()
