"""Straight vs quadratic (constant-acceleration) in-between paths from DIS flows (session 4).

Run from the repository root: ``.venv/bin/python plugins/imgedit-interp/docs/probes/acceleration.py``.
Frames i-2, i, i+1 (truth), i+2, i+4: the pair (i, i+2) and its neighbours at the same spacing.
On the training videos' held-out tails (every 3rd window, nearly static windows skipped) and on
sample_video. Variants: no cap, the cap of :func:`imgedit_interp.net.acceleration` at several
limits, and causal (previous frame only). The shipped cap (0.75) was chosen on the video tails.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "plugins" / "imgedit-interp"))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from interp_quality import SHARED, blend, dis, psnr, read_rgb  # noqa: E402

import imgedit_interp.net as N  # noqa: E402
from imgedit_interp.data import default_sources, load_clips  # noqa: E402
from headroom import warp  # noqa: E402

T = lambda f: None if f is None else torch.from_numpy(f).permute(2, 0, 1)[None]  # noqa: E731


def variants(m1, a, b, p2):
    f01, f10, f0m, f12 = dis(a, b), dis(b, a), dis(a, m1), dis(b, p2)
    out = {"linear": N.intermediate_flows(T(f01), T(f10), 0.5)}
    for lim in (None, 0.5, 0.75, 1.0):
        N.ACC_LIMIT = 1e9 if lim is None else lim
        acc = N.acceleration(T(f01), T(f10), T(f0m), T(f12))
        out[f"quadratic, cap {lim}"] = N.intermediate_flows(T(f01), T(f10), 0.5, acc)
    N.ACC_LIMIT = 0.75
    out["quadratic causal, cap 0.75"] = N.intermediate_flows(T(f01), T(f10), 0.5, N.acceleration(T(f01), T(f10), T(f0m), None))
    return {k: blend(warp(a, v[0][0].permute(1, 2, 0).numpy()), warp(b, v[1][0].permute(1, 2, 0).numpy())) for k, v in out.items()}


def report(title, windows):
    res = {}
    for m1, a, g, b, p2 in windows:
        for k, p in variants(m1, a, b, p2).items():
            res.setdefault(k, []).append(psnr(p, g))
    print(title + "  " + "  ".join(f"{k} {np.mean(v):.2f}" for k, v in res.items()), flush=True)
    return {k: np.mean(v) for k, v in res.items()}


per_clip = []
for c in load_clips(default_sources(), max_frames=400, short=288, log=lambda *a: None):
    n = len(c.frames)
    wins = [tuple(c.frames[j] for j in (i - 2, i, i + 1, i + 2, i + 4)) for i in range(max(int(n * 0.85), 2), n - 4, 3)
            if c.ok[i - 2:i + 4].all() and np.abs(c.frames[i].astype(int) - c.frames[i + 2].astype(int)).mean() >= 2]
    if wins:
        per_clip.append(report(f"{Path(c.name).name[-28:]:28s} n={len(wins):2d}", wins))
print("mean over video tails: " + "  ".join(f"{k} {np.mean([r[k] for r in per_clip]):.3f}" for k in per_clip[0]))
fr = [read_rgb(p) for p in sorted((SHARED / "sample_video").glob("*.png"))]
report("sample_video (18 windows)", [(fr[i - 2], fr[i], fr[i + 1], fr[i + 2], fr[i + 4]) for i in range(2, len(fr) - 4)])
