import sys, glob, math, time
sys.path.insert(0, '/work/main/benchmarks')
import numpy as np, cv2
cv2.setNumThreads(1)
from interp_quality import triplets, psnr, blend
import torch, torch.nn.functional as F
torch.set_num_threads(1)

def dis(a, b):
    d = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return d.calc(ga, gb, None), d.calc(gb, ga, None)

def warp(img, fl):
    h, w = img.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + fl[..., 0], ys + fl[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

def down_up(fl, k=8):
    # like flow_to_grid8 (area to 1/8) then net.synthesize (bilinear up, scale)
    h, w = fl.shape[:2]
    h8, w8 = math.ceil(h / 8), math.ceil(w / 8)
    t = torch.from_numpy(fl).permute(2, 0, 1)[None]
    g = F.interpolate(t, size=(h8 * 8, w8 * 8), mode='bilinear', align_corners=False)  # flow grid (approx)
    s = F.interpolate(g, size=(h8, w8), mode='area')
    u = F.interpolate(s, size=(h, w), mode='bilinear', align_corners=False)
    return u[0].permute(1, 2, 0).numpy().copy()

def interp(a, b, f01, f10, t=0.5, mode='blend', gt=None):
    ft0 = -(1 - t) * t * f01 + t * t * f10
    ft1 = (1 - t) ** 2 * f01 - t * (1 - t) * f10
    w0, w1 = warp(a, ft0), warp(b, ft1)
    if mode == 'blend':
        return blend(w0, w1, t)
    if mode == 'oracle':  # per-pixel best of w0, w1, blend
        c = np.stack([w0, w1, blend(w0, w1, t)]).astype(np.float32)
        e = np.abs(c - gt.astype(np.float32)).sum(-1)
        k = e.argmin(0)
        return np.take_along_axis(c, k[None, ..., None].repeat(3, -1), 0)[0].astype(np.uint8)
    if mode == 'fbcheck':  # occlusion-aware weights from forward-backward consistency
        e0 = np.linalg.norm(f01 + warp(f10, f01), axis=-1)   # large where pixel of 0 occluded in 1
        e1 = np.linalg.norm(f10 + warp(f01, f10), axis=-1)
        o0 = warp(e0[..., None], ft0)[..., None] if warp(e0[..., None], ft0).ndim == 2 else warp(e0[..., None], ft0)
        o1 = warp(e1[..., None], ft1)
        o0 = o0.reshape(a.shape[:2]); o1 = o1.reshape(a.shape[:2])
        w_0 = (1 - t) * np.exp(-o0); w_1 = t * np.exp(-o1)
        m = (w_0 / (w_0 + w_1 + 1e-6))[..., None]
        return np.clip(m * w0 + (1 - m) * w1 + 0.5, 0, 255).astype(np.uint8)

for name in ('ucf101', 'sample_video'):
    trips = triplets(name)
    mags, res = [], {k: [] for k in ('blend', 'DIS', 'DIS 1/8 down-up', 'DIS fb-occl', 'DIS oracle mask', 'GT-half flow?')}
    t0 = time.time()
    for a, g, b in trips:
        f01, f10 = dis(a, b)
        m = np.linalg.norm(f01, axis=-1)
        mags.append((np.median(m), np.percentile(m, 90), np.percentile(m, 99), m.max()))
        res['blend'].append(psnr(blend(a, b), g))
        res['DIS'].append(psnr(interp(a, b, f01, f10), g))
        res['DIS 1/8 down-up'].append(psnr(interp(a, b, down_up(f01), down_up(f10)), g))
        res['DIS fb-occl'].append(psnr(interp(a, b, f01, f10, mode='fbcheck'), g))
        res['DIS oracle mask'].append(psnr(interp(a, b, f01, f10, mode='oracle', gt=g), g))
    mags = np.array(mags)
    print(f'{name}: {len(trips)} triplets {a.shape}, |F01| px (DIS, frame0->frame2): median of medians {np.median(mags[:,0]):.2f}, '
          f'mean p90 {mags[:,1].mean():.2f}, mean p99 {mags[:,2].mean():.2f}, max {mags[:,3].max():.1f}  ({time.time()-t0:.1f}s)')
    print('   per-triplet p99:', np.round(mags[:, 2], 1).tolist())
    for k, v in res.items():
        if v:
            print(f'   {k:18s} {np.mean(v):.2f} dB')
