import sys
sys.path.insert(0, '/work/main/benchmarks'); sys.path.insert(0, '/work/main/plugins/imgedit-interp')
import numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(1)
from interp_quality import triplets
from safetensors.torch import load_file
from imgedit_interp.model import load_net, dis_start
from imgedit_interp.net import to_flow_grid, backwarp, local_corr, UpdateBlock
net = load_net(load_file('/work/main/pretrained/interp-gru-v1.safetensors'))
a, g, b = triplets('ucf101')[4]
T = lambda x: torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
with torch.inference_mode():
    ga, gb = T(a), T(b)
    f4a, f8a = net.features(ga); f4b, f8b = net.features(gb)
    init = dis_start(ga, gb)[1]
    src = torch.cat((f8a, f8b)); tgt = torch.cat((f8b, f8a))
    print('f8 feature absmean/std', float(src.abs().mean()), float(src.std()))
    h, inp = net.context(src).split((32, 16), 1); h, inp = torch.tanh(h), F.relu(inp)
    flow = torch.cat(init.split(2, 1), 0)
    u = net.update
    for i in range(3):
        corr = local_corr(src, backwarp(tgt, flow))
        print(f'it{i} corr absmean {float(corr.abs().mean()):.4f} std-over-k {float(corr.std(1).mean()):.4f}')
        c = u.corr(corr); fl = u.flow(flow)
        m = u.motion(torch.cat((c, fl), 1))
        x = torch.cat((m, flow, inp), 1)
        z, r = torch.sigmoid(u.gru.zr(torch.cat((h, x), 1))).chunk(2, 1)
        q = torch.tanh(u.gru.q(torch.cat((r * h, x), 1)))
        h = (1 - z) * h + z * q
        hid = u.head[0](h); d = u.head[1](hid)
        print(f'   m absmean {float(m.abs().mean()):.3f} z mean {float(z.mean()):.3f} h std(space) {float(h.std((2,3)).mean()):.4f} '
              f'h absmean {float(h.abs().mean()):.3f} hid>0 frac {float((hid>0).float().mean()):.3f} hid absmean {float(hid.abs().mean()):.4f} '
              f'delta mean {d.mean((0,2,3)).tolist()} std {float(d.std()):.2e}')
        flow = flow + d
    # sensitivity: gradient of delta wrt corr
print('head1 weight norm', float(u.head[1][0].weight.norm()), 'bias', u.head[1][0].bias.tolist())
