"""Probe (session 3): a training checkpoint's raw and averaged (ema.) weights against the DIS
baseline on training-split video, held-out video and synthetic crops (24 each, fixed seed).

    .venv/bin/python plugins/imgedit-interp/docs/probes/checkpoint_vs_dis.py ~/.cache/imgedit/train/interp-v3
"""
import torch, json, sys, random
torch.set_num_threads(1)
from safetensors.torch import load_file
import imgedit_interp.net as N
from imgedit_interp.data import TripletSampler, load_clips, load_photos, default_sources, MEDIA
from imgedit_interp.train import dis_interpolate, psnr
ck = sys.argv[1]
T = load_file(ck + "/last.safetensors")
print("step", json.load(open(ck + "/state.json"))["step"])
clips = load_clips(default_sources(), max_frames=150, log=lambda *a: None)
photos = load_photos(MEDIA/"photos", limit=100)
for prefix in [p for p in ("model.", "ema.") if any(k.startswith(p) for k in T)]:
    net = N.InterpNet(); net.load_state_dict({k[len(prefix):]: v for k, v in T.items() if k.startswith(prefix)}); net.eval()
    for label, ratio, val in (("train video", 0.0, False), ("held-out video", 0.0, True), ("synthetic", 1.0, False)):
        vs = TripletSampler(clips, photos, crop=192, synth_ratio=ratio)
        vr = random.Random(9); c = []
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for _ in range(3):
                i0,it,i1,t,dis,gt = vs.batch(8, vr, val=val, teacher=True)
                p,_ = net(i0,i1,t,iters=3,init_full=dis); b = dis_interpolate(i0,i1,dis,t)
                c += [psnr(p[j].float(),it[j]) - psnr(b[j],it[j]) for j in range(len(t))]
        print(f"{prefix:7s} {label:16s} model-DIS {sum(c)/len(c):+.3f}", flush=True)
