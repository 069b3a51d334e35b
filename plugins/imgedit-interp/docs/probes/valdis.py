import sys, random, time, math
sys.path.insert(0, '/work/main/plugins/imgedit-interp'); sys.path.insert(0, '/work/main/benchmarks')
import numpy as np, torch, cv2
torch.set_num_threads(1); cv2.setNumThreads(1)
from imgedit_interp.data import TripletSampler, load_clips, load_photos, default_sources, MEDIA
from interp_quality import dis_interpolate, psnr as psnr255
t0 = time.time()
clips = load_clips(default_sources(), max_frames=150, min_size=96, log=lambda *a: None)
photos = load_photos(MEDIA / 'photos')
s = TripletSampler(clips, photos, crop=128, synth_ratio=0.4, seed=0)
val_rng = random.Random(12345)
vb = [s.batch(8, val_rng, val=True, teacher=False) for _ in range(6)]
print(f'loaded {time.time()-t0:.1f}s')
U = lambda x: (x.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
d, bl, mot = [], [], []
for i0, it, i1, t in vb:
    for j in range(len(t)):
        a, g, b, tj = U(i0[j]), U(it[j]), U(i1[j]), float(t[j])
        d.append(psnr255(dis_interpolate(a, b, tj), g)); bl.append(psnr255(np.clip(a*(1-tj)+b*tj+0.5,0,255).astype(np.uint8), g))
print(f'val set as train.py builds it ({len(d)} crops of 128): blend {np.mean(bl):.2f} dB, DIS warping {np.mean(d):.2f} dB (model card: model 33.53, blend 31.75)')
ts = [float(x) for _,_,_,t in vb for x in t]
print('fraction t==0.5:', np.mean([abs(x-0.5)<1e-6 for x in ts]))
