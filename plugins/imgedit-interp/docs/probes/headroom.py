"""How much of the gap to the truth can a two-frame interpolator close? (session 4, 2026-11-27)

Run from the repository root: ``.venv/bin/python plugins/imgedit-interp/docs/probes/headroom.py``
(needs ../shared; ~2 min). Prints, per benchmark set:

- DIS warp-and-blend (the benchmark's baseline) and the same with *oracle* intermediate flows
  (DIS from the true middle frame to each end: what perfect motion estimation would give);
- test-time augmentation of DIS (flips, time reversal), a symmetric "bilateral" correction of the
  intermediate flows (DIS between the two warped frames), per-pixel candidate selection by
  warp consistency, and the oracle block-wise choice among those candidates;
- per triplet, where the true middle frame lies on the motion path (projection of DIS(frame0 ->
  middle) onto DIS(frame0 -> frame2); 0.5 for uniform motion), and DIS interpolation at that
  measured time instead of 0.5 (what knowing the capture timing, invisible in frames 0 and 2, is
  worth).
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "benchmarks"))
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from interp_quality import blend, dis, dis_interpolate, psnr, triplets  # noqa: E402

cv2.setNumThreads(2)


def warp(img, fl):
    h, w = img.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + fl[..., 0], ys + fl[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def approx(f01, f10):
    return -0.25 * f01 + 0.25 * f10, 0.25 * f01 - 0.25 * f10


def candidates(a, b):
    out = {"dis": approx(dis(a, b), dis(b, a))}
    ah, bh = a[:, ::-1].copy(), b[:, ::-1].copy()
    fh = lambda f: (f[:, ::-1] * np.array([-1, 1], np.float32)).copy()  # noqa: E731
    out["dis hflip"] = tuple(fh(f) for f in approx(dis(ah, bh), dis(bh, ah)))
    av, bv = a[::-1].copy(), b[::-1].copy()
    fv = lambda f: (f[::-1] * np.array([1, -1], np.float32)).copy()  # noqa: E731
    out["dis vflip"] = tuple(fv(f) for f in approx(dis(av, bv), dis(bv, av)))
    s0, s1 = out["dis"]
    w0, w1 = warp(a, s0), warp(b, s1)
    d01, d10 = dis(w0, w1), dis(w1, w0)
    out["bilateral correction"] = (s0 + 0.25 * (d10 - d01), s1 + 0.25 * (d01 - d10))
    return out


def q(x):
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


for name in ("ucf101", "sample_video"):
    res, where = {}, []
    for a, g, b in triplets(name):
        res.setdefault("oracle intermediate flows", []).append(psnr(blend(warp(a, dis(g, a)), warp(b, dis(g, b))), g))
        cands = candidates(a, b)
        preds, cons = [], []
        for k, (s0, s1) in cands.items():
            w0, w1 = warp(a, s0).astype(np.float32), warp(b, s1).astype(np.float32)
            preds.append((w0 + w1) / 2)
            cons.append(((w0 - w1) ** 2).sum(-1))
            res.setdefault(k, []).append(psnr(q(preds[-1]), g))
        res.setdefault("TTA: mean of dis, hflip, vflip", []).append(psnr(q(sum(preds[:3]) / 3), g))
        P, C = np.stack(preds), np.stack(cons)
        E = ((P - g.astype(np.float32)) ** 2).sum(-1)
        for lab, M in (("select by warp consistency (9x9)", C), ("ORACLE select (9x9 boxes)", E)):
            sel = np.stack([cv2.boxFilter(m, -1, (9, 9)) for m in M]).argmin(0)
            res.setdefault(lab, []).append(psnr(q(np.take_along_axis(P, sel[None, ..., None].repeat(3, -1), 0)[0]), g))
        f02, f01 = dis(a, b), dis(a, g)
        m = np.linalg.norm(f02, axis=-1) > 1.0
        where.append(np.median((f01[m] * f02[m]).sum(-1) / (f02[m] ** 2).sum(-1)) if m.sum() > 100 else float("nan"))
        t_seen = 0.5 if np.isnan(where[-1]) else float(np.clip(where[-1], 0.02, 0.98))
        res.setdefault("DIS at the middle frame's measured t", []).append(psnr(dis_interpolate(a, b, t_seen), g))
    print(f"{name} ({len(where)} triplets)")
    for k, v in res.items():
        print(f"   {k:36s} {np.mean(v):.3f} dB")
    print("   middle frame's position on the path: " + " ".join(f"{w:.2f}" for w in where))
