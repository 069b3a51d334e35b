import sys, time
sys.path.insert(0, '/work/main/benchmarks'); sys.path.insert(0, '/work/main/plugins/imgedit-interp')
import numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(1)
from interp_quality import triplets, psnr
from safetensors.torch import load_file
from imgedit_interp.model import load_net, dis_start
from imgedit_interp.net import to_flow_grid, backwarp
net = load_net(load_file('/work/main/pretrained/interp-gru-v1.safetensors'))
sets = {'ucf101': triplets('ucf101'), 'sample_video': triplets('sample_video')[::3]}
def T(x): return torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
def U(x): return (x[0].permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
for name, trips in sets.items():
    r = {}
    stats = {}
    for a, g, b in trips:
        ta, tb = T(a), T(b)
        with torch.inference_mode():
            ga, gb = to_flow_grid(ta), to_flow_grid(tb)
            f4a, f8a = net.features(ga); f4b, f8b = net.features(gb)
            init = dis_start(ga, gb)[1]
            for lab, it, ini in (('dis it0 (no GRU)', 0, init), ('dis it8', 8, init), ('dis it16', 16, init),
                                 ('zero it4', 4, None), ('zero it8', 8, None), ('zero it16', 16, None)):
                fl = net.flows(f8a, f8b, it, init=ini) if it else [init]
                out = net.synthesize(ta, tb, f4a, f4b, fl[-1], 0.5)
                r.setdefault(lab, []).append(psnr(U(out.clamp(0, 1)), g))
                if lab == 'dis it8':
                    stats.setdefault('|F-init| mean (1/8 px)', []).append(float((fl[-1] - init).abs().mean()))
                    stats.setdefault('|init| mean (1/8 px)', []).append(float(init.abs().mean()))
                    d = [float((fl[i] - (fl[i-1] if i else init)).abs().mean()) for i in range(len(fl))]
                    stats.setdefault('per-iter |delta|', []).append(d)
                if lab == 'zero it16':
                    stats.setdefault('zero-init final |F| mean', []).append(float(fl[-1].abs().mean()))
    print(name, len(trips))
    for k, v in r.items(): print(f'   {k:18s} {np.mean(v):.2f}')
    for k, v in stats.items(): print('  ', k, np.round(np.mean(np.array(v), 0), 3))
