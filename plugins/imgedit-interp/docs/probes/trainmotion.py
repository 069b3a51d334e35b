import sys, random, time
sys.path.insert(0, '/work/main/plugins/imgedit-interp'); sys.path.insert(0, '/work/main')
import numpy as np, torch
torch.set_num_threads(1)
from imgedit_interp.data import TripletSampler, load_clips, load_photos, default_sources, MEDIA
t0 = time.time()
clips = load_clips(default_sources(), max_frames=60, log=lambda *a: None)
photos = load_photos(MEDIA / 'photos', limit=40)
print('loaded', len(clips), 'clips', len(photos), 'photos', f'{time.time()-t0:.1f}s')
for kind, ratio in (('video', 0.0), ('synthetic', 1.0)):
    s = TripletSampler(clips, photos, crop=128, synth_ratio=ratio, seed=1)
    rng = random.Random(3)
    p = []; blendps = []
    for _ in range(48):
        i0, it, i1, t, fl = s.sample(rng, val=False, teacher=True)
        m = fl[:2].norm(dim=0)
        p.append((float(m.median()), float(torch.quantile(m, 0.9)), float(torch.quantile(m, 0.99))))
        blendps.append(float(-10*torch.log10(((i0*(1-t)+i1*t-it)**2).mean())))
    p = np.array(p)
    print(f'{kind:9s} crop128 |F01| (DIS) median {np.median(p[:,0]):.2f} mean p90 {p[:,1].mean():.2f} mean p99 {p[:,2].mean():.2f} max p99 {p[:,2].max():.1f}; blend PSNR {np.mean(blendps):.2f}')
