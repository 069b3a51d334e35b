"""Issue 12 experiment (not shipped): gan.glyphs edit directions from *sampled* latents instead of
encoded real glyphs (InterFaceGAN's recipe). 20,000 z ~ N(0, I) are generated and labelled by
"finder" classifiers trained here on the training labels (another seed and augmentation than the
benchmark's judges, which are trained separately by benchmarks/gan_glyphs.py); a direction is the
mean z of the predicted positives minus the negatives: over all samples ("sampled global"), per
predicted letter then averaged ("by letter"), or only confident predictions (p > 0.8 vs < 0.2).
Judged exactly as benchmarks/gan_glyphs.py judges the shipped directions.

    python benchmarks/gan_directions_experiment.py [STRENGTH ...]     # default 1.5; ~25 min on 2 cores
"""
import random, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch, torch.nn.functional as F
import gan_glyphs as B
from imgedit import load_model
from imgedit.latentedit import apply_change
from safetensors.torch import save_file, load_file
torch.set_num_threads(2)
m = load_model("gan.glyphs", precision="fp32"); gm = m.model
held = B.load_set(B.HELDOUT); tr = B.load_set(B.DATA)
attrs = [a for a in B.ATTRS if a in tr.attributes]
chars = sorted({r["char"] for r in tr.rows})
y_attr = torch.tensor([[float(r[a]) for a in attrs] for r in tr.rows])
y_letter = torch.tensor([chars.index(r["char"]) for r in tr.rows])

def finder(targets, outputs, kind, seed):
    path = B.CACHE / f"finder-{kind}.safetensors"
    net = B.SmallCNN(outputs)
    if path.is_file():
        net.load_state_dict(load_file(str(path))); return net.eval()
    torch.manual_seed(seed); rng = random.Random(seed)
    opt = torch.optim.Adam(net.parameters(), 2e-3)
    for step in range(3000):
        idx = [rng.randrange(len(tr)) for _ in range(64)]
        x = tr.take(idx)
        sh = (torch.rand(64, 2) - 0.5) * 0.1
        theta = torch.zeros(64, 2, 3); theta[:, 0, 0] = 1; theta[:, 1, 1] = 1; theta[:, :, 2] = sh
        x = 1 - F.grid_sample(1 - x, F.affine_grid(theta, x.shape, align_corners=False), align_corners=False)
        out = net(x); y = targets[idx]
        loss = F.cross_entropy(out, y) if kind == "letter" else F.binary_cross_entropy_with_logits(out, y)
        opt.zero_grad(); loss.backward(); opt.step()
    B.CACHE.mkdir(parents=True, exist_ok=True); save_file(net.state_dict(), str(path)); return net.eval()

t0 = time.time()
fa = finder(y_attr, len(attrs), "attribute", 11); fl = finder(y_letter, len(chars), "letter", 12)
print("finders", time.time() - t0, flush=True)
N = 20000
g = torch.Generator().manual_seed(5)
z = torch.randn(N, gm.nz, generator=g)
pa, pl = [], []
with torch.inference_mode():
    for i in range(0, N, 500):
        img = gm.G(z[i:i+500]); pa.append(torch.sigmoid(fa(img))); pl.append(fl(img).argmax(1))
pa = torch.cat(pa); pl = torch.cat(pl)
print("sampled+classified", time.time() - t0, "positive rates", (pa > 0.5).float().mean(0), flush=True)
cands = {"sampled global": {}, "sampled by letter": {}, "sampled by letter, confident": {}}
for k, a in enumerate(attrs):
    pos = pa[:, k] > 0.5; neg = ~pos
    cands["sampled global"][a] = z[pos].mean(0) - z[neg].mean(0)
    for label, (P, Nn) in {"sampled by letter": (pa[:, k] > 0.5, pa[:, k] <= 0.5),
                            "sampled by letter, confident": (pa[:, k] > 0.8, pa[:, k] < 0.2)}.items():
        ds, ws = [], []
        for c in range(len(chars)):
            p = P & (pl == c); n = Nn & (pl == c)
            if p.sum() >= 3 and n.sum() >= 3:
                ds.append(z[p].mean(0) - z[n].mean(0)); ws.append(1.0)
        cands[label][a] = torch.stack(ds).mean(0)
    print(a, {l: round(c[a].norm().item(), 2) for l, c in cands.items()}, "shipped", round(gm.directions()[a].norm().item(), 2))
cands = {"shipped": gm.directions(), **cands}
# judge
attr_net = B.train_classifier(tr, y_attr, len(attrs), "attribute", 3000, print)
letter_net = B.train_classifier(tr, y_letter, len(chars), "letter", 3000, print)
with torch.inference_mode():
    hx = held.take(list(range(len(held))))
    ja = torch.cat([attr_net(hx[i:i+500]) for i in range(0, len(hx), 500)]) > 0
    jl = torch.cat([letter_net(hx[i:i+500]).argmax(1) for i in range(0, len(hx), 500)])
truth_l = torch.tensor([chars.index(r["char"]) for r in held.rows])
strengths = [float(s) for s in (sys.argv[1:] or ["1.5"])]
for k, a in enumerate(attrs):
    truth = torch.tensor([r[a] == "1" for r in held.rows])
    ok = [i for i in range(len(held)) if ja[i, k] == truth[i] and jl[i] == truth_l[i]]
    pos = [i for i in ok if truth[i]]; neg = [i for i in ok if not truth[i]]
    r2 = random.Random(k)
    pick = r2.sample(pos, min(75, len(pos))) + r2.sample(neg, min(150 - min(75, len(pos)), len(neg)))
    xs = held.take(pick)
    with torch.inference_mode(): z0 = gm.E(xs)
    zz = gm.refine(z0, xs, 50)
    sign = torch.tensor([-1.0 if truth[i] else 1.0 for i in pick])[:, None]
    with torch.inference_mode():
        rec = gm.generate(zz)
        for label, c in cands.items():
            for s in strengths:
                ed = apply_change(xs, rec, gm.generate(zz + s * sign * c[a]))
                fl_ = (attr_net(ed)[:, k] > 0) != truth[pick]
                kept = letter_net(ed).argmax(1) == truth_l[pick]
                print(f"| {a} | {label} | {s} | {fl_.float().mean():.1%} | {(fl_ & kept).float().mean():.1%} |", flush=True)
print("total", time.time() - t0)
