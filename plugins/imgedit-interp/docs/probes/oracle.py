import sys
sys.path.insert(0, '/work/main/benchmarks')
import numpy as np, cv2
cv2.setNumThreads(1)
from interp_quality import triplets, psnr, blend, dis_interpolate
def warp(img, fl):
    h, w = img.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + fl[..., 0], ys + fl[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
for name in ('ucf101', 'sample_video'):
    trips = triplets(name)
    res = {}
    for a, g, b in trips:
        d = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
        f01, f10 = d.calc(ga, gb, None), d.calc(gb, ga, None)
        w0, w1 = warp(a, -0.25 * f01 + 0.25 * f10), warp(b, 0.25 * f01 - 0.25 * f10)
        c = np.stack([w0, w1, blend(w0, w1)]).astype(np.float32)
        e = ((c - g.astype(np.float32)) ** 2).sum(-1)
        H, W = g.shape[:2]
        for bs in (1, 4, 8, 16):
            hh, ww = H // bs * bs, W // bs * bs
            eb = e[:, :hh, :ww].reshape(3, hh // bs, bs, ww // bs, bs).sum((2, 4))
            k = np.kron(eb.argmin(0), np.ones((bs, bs), int))
            full = np.full((H, W), 2); full[:hh, :ww] = k
            out = np.take_along_axis(c, full[None, ..., None].repeat(3, -1), 0)[0]
            res.setdefault(f'oracle mask {bs}x{bs} blocks', []).append(psnr(np.clip(out + 0.5, 0, 255).astype(np.uint8), g))
        res.setdefault('DIS blend', []).append(psnr(blend(w0, w1), g))
        # error concentration: share of squared error in the worst 5% pixels
        eb = e[2].ravel(); s = np.sort(eb)[::-1]
        res.setdefault('share of SE in worst 5% px', []).append(s[:len(s)//20].sum() / s.sum())
        res.setdefault('PSNR if worst 5% px were fixed to blend-median error', []).append(
            10*np.log10(255**2*3/ (np.concatenate([s[len(s)//20:], np.full(len(s)//20, np.median(s))]).mean())))
    print(name)
    for k, v in res.items(): print(f'   {k:55s} {np.mean(v):.3f}')
