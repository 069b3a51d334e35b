import sys, time
sys.path.insert(0, '/work/main/benchmarks')
import numpy as np, cv2
cv2.setNumThreads(1)
from interp_quality import triplets, psnr, blend
def warp(img, fl):
    h, w = img.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + fl[..., 0], ys + fl[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
def mk(preset=cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, **kw):
    def f(ga, gb):
        d = cv2.DISOpticalFlow_create(preset)
        for k, v in kw.items(): getattr(d, 'set' + k)(v)
        return d.calc(ga, gb, None), d.calc(gb, ga, None)
    return f
def farne(ga, gb):
    p = dict(pyr_scale=0.5, levels=5, winsize=13, iterations=5, poly_n=5, poly_sigma=1.1, flags=0)
    return cv2.calcOpticalFlowFarneback(ga, gb, None, **p), cv2.calcOpticalFlowFarneback(gb, ga, None, **p)
variants = {
    'medium (benchmark)': mk(),
    'fast': mk(cv2.DISOPTICAL_FLOW_PRESET_FAST),
    'medium finest0 stride2 vr10': mk(FinestScale=0, PatchStride=2, VariationalRefinementIterations=10),
    'medium finest0 patch12 stride3 vr10': mk(FinestScale=0, PatchSize=12, PatchStride=3, VariationalRefinementIterations=10),
    'medium vr20 gradDesc25': mk(VariationalRefinementIterations=20, GradientDescentIterations=25),
    'farneback': farne,
}
for name in ('ucf101', 'sample_video'):
    trips = triplets(name)
    if name == 'sample_video': trips = trips[::2]
    for vn, fn in variants.items():
        t0 = time.time(); ps = []; ps_sym = []
        for a, g, b in trips:
            ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
            f01, f10 = fn(ga, gb)
            t = 0.5
            ft0 = -(1 - t) * t * f01 + t * t * f10; ft1 = (1 - t) ** 2 * f01 - t * (1 - t) * f10
            ps.append(psnr(blend(warp(a, ft0), warp(b, ft1)), g))
        print(f'{name:12s} {vn:38s} {np.mean(ps):.2f} dB  {(time.time()-t0)/len(trips)*1000:.0f} ms/triplet')
