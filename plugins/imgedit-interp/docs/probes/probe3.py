import sys
sys.path.insert(0, '/work/main/benchmarks'); sys.path.insert(0, '/work/main/plugins/imgedit-interp')
import torch, torch.nn.functional as F
torch.set_num_threads(1)
from interp_quality import triplets
from imgedit_interp.net import InterpNet, local_corr
a, g, b = triplets('ucf101')[4]
T = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
for seed in (0, 1):
    torch.manual_seed(seed)
    net = InterpNet().eval()
    with torch.no_grad():
        f4a, f8a = net.features(T(a)); f4b, f8b = net.features(T(b))
        c = local_corr(f8a, f8b)
        n = lambda f: F.normalize(f, dim=1)
        cn = local_corr(n(f8a), n(f8b)) * 64
        print(f'fresh init seed {seed}: f4 absmean {float(f4a.abs().mean()):.4f}  f8 absmean {float(f8a.abs().mean()):.4f} std {float(f8a.std()):.4f}; '
              f'corr absmean {float(c.abs().mean()):.2e}, spread over window {float(c.std(1).mean()):.2e}; '
              f'cosine corr spread {float(cn.std(1).mean()):.3f}')
