"""gan.glyphs benchmarks (not a test): inversion of glyphs of fonts *not* in the training packages,
and attribute edits judged by classifiers trained separately on the labels.

    python -m imgedit_gan.glyphs --packages fonts-open-sans fonts-roboto-unhinted fonts-lato \\
        fonts-cantarell fonts-crosextra-carlito fonts-crosextra-caladea fonts-ebgaramond \\
        fonts-linuxlibertine fonts-inconsolata fonts-comic-neue --out ~/.cache/imgedit/data/glyphs-heldout
    python benchmarks/gan_glyphs.py [--model gan.glyphs] [--n 100] [--steps 200] [--judge-data DIR ...]

The judges learn from the training set, and with ``--judge-data`` also from other fonts (JUDGES):

    python -m imgedit_gan.glyphs --install --packages fonts-noto-mono fonts-hack fonts-firacode \
        fonts-jetbrains-mono fonts-go fonts-roboto-slab fonts-noto-extra --out ~/.cache/imgedit/data/glyphs-judges

1. **Inversion** (``--n`` held-out glyphs, batch): encoder + optimisation with ``steps/4`` steps
   vs optimisation alone (from the mean latent, z = 0) with ``steps`` and with ``steps/4``, and
   the encoder alone. PSNR and perceptual distance of G(z) to the glyph; seconds per image.
   Goal: encoder + optimisation better than optimisation alone at a quarter of the steps.
2. **Attribute edits**: two CNNs ("judges") trained here on the *training* glyph set (not by the
   GAN), and with ``--judge-data`` on more fonts: an attribute classifier (bold, italic, monospace,
   serif, narrow) and a letter classifier (62 classes); ``--judge deep`` (default: 8 conv layers,
   8,000 steps, positives and negatives of each attribute weighed equally) or ``--judge small``
   (the first tables' 4-layer judges, 3,000 steps). For each attribute, held-out glyphs the attribute classifier gets right are edited
   towards the other class (``--strength``, default 1.5: + for negatives, - for positives; a comma
   list sweeps them: ``--strength 1.5,3``) with
   the model's shipped direction (mean difference of encoded latents; for a conditional model,
   its attribute coordinate's axis), and with a mean difference and a classifier-normal direction
   made from the encoded training latents; reported: the fraction whose attribute flips, and of those, the fraction
   the letter classifier still reads as the same letter. Goal: >= 80 % flips, letter kept.
   The "judge's ceiling" column is what a perfect edit would score: the judge's recall, on the
   held-out originals, of the class each edit goes to.

Classifier weights are cached in ``~/.cache/imgedit/bench/`` per network, data and labels (delete to retrain).
"""
from __future__ import annotations

import argparse
import copy
import math
import platform
import random
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from imgedit.metrics import psnr

DATA = Path("~/.cache/imgedit/data/glyphs").expanduser()
HELDOUT = Path("~/.cache/imgedit/data/glyphs-heldout").expanduser()
CACHE = Path("~/.cache/imgedit/bench").expanduser()
ATTRS = ("bold", "italic", "monospace", "serif", "narrow")


def load_set(folder: Path):
    from imgedit.training import LabelledSet

    return LabelledSet(folder, 64, folder / "labels.csv", gray=True, log=lambda m: None)


class SmallCNN(nn.Module):
    def __init__(self, outputs: int):
        super().__init__()
        c = 32
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, 2, 1), nn.BatchNorm2d(2 * c), nn.ReLU(),
            nn.Conv2d(2 * c, 4 * c, 3, 2, 1), nn.BatchNorm2d(4 * c), nn.ReLU(),
            nn.Conv2d(4 * c, 4 * c, 3, 2, 1), nn.BatchNorm2d(4 * c), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * c, outputs))

    def forward(self, x):
        return self.net(x.mean(1, keepdim=True) * 2 - 1)


class JudgeCNN(nn.Module):
    """The default judge: a 3x3 conv at full resolution before each downsampling (SmallCNN's first
    layer already strides, and misses thin serifs), 8 conv layers, c=32."""

    def __init__(self, outputs: int, c: int = 32):
        super().__init__()

        def block(cin, cout, stride):
            return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.net = nn.Sequential(
            *block(1, c, 1), *block(c, c, 2), *block(c, 2 * c, 1), *block(2 * c, 2 * c, 2),
            *block(2 * c, 4 * c, 1), *block(4 * c, 4 * c, 2), *block(4 * c, 4 * c, 1), *block(4 * c, 8 * c, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(8 * c, outputs))

    def forward(self, x):
        return self.net(x.mean(1, keepdim=True) * 2 - 1)


JUDGES = {"small": SmallCNN, "deep": JudgeCNN}


def joined(first, *more):
    """Several labelled glyph sets as one LabelledSet (their images and rows one after another)."""
    if not more:
        return first
    out = copy.copy(first)
    out.images = torch.cat([s.images for s in (first, *more)])
    out.rows = [r for s in (first, *more) for r in s.rows]
    return out


def train_classifier(data, targets: torch.Tensor, outputs: int, kind: str, steps: int, log, tag: str = "",
                     arch: str = "deep") -> nn.Module:
    """Augmented (shift, scale) so it reads inverted and edited glyphs, not pixel-exact renders.
    ``small`` (the judges of the first tables): 3,000 steps at a constant rate, fp32. ``deep``:
    ``steps`` with a cosine decay, bf16 autocast, and for attributes each one's positives and
    negatives weighed equally (most glyphs are not monospace or serif: unweighted, the judge
    says "no" to unseen fonts of those kinds)."""
    from safetensors.torch import load_file, save_file

    import hashlib

    labels = hashlib.sha256(targets.numpy().tobytes()).hexdigest()[:8]  # relabelled data: a new judge
    path = CACHE / f"glyph-{kind}{tag}{'' if arch == 'small' else '-' + arch}-{labels}-classifier.safetensors"
    net = JUDGES[arch](outputs)
    deep = arch != "small"
    if deep:
        net = net.to(memory_format=torch.channels_last)  # 2.3x faster on this CPU with bf16
    if path.is_file():
        net.load_state_dict(load_file(str(path)))
        return net.eval()
    pos_weight = None
    if deep and kind != "letter":
        rate = targets.mean(0).clamp(1e-3, 1 - 1e-3)
        pos_weight = (1 - rate) / rate
    from imgedit.training import bf16_autocast_default

    native_bf16 = bf16_autocast_default()  # (without AVX-512 BF16, bf16 is emulated: many times slower)
    torch.manual_seed(0)
    rng = random.Random(0)
    lr = 2e-3
    opt = torch.optim.Adam(net.parameters(), lr)
    t0 = time.perf_counter()
    for step in range(steps):
        if deep:
            for g in opt.param_groups:
                g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        idx = [rng.randrange(len(data)) for _ in range(64)]
        x = data.take(idx)
        theta = torch.zeros(64, 2, 3)
        s = 1 + (torch.rand(64) - 0.5) * 0.15
        theta[:, 0, 0] = s
        theta[:, 1, 1] = s
        theta[:, :, 2] = (torch.rand(64, 2) - 0.5) * 0.12
        grid = F.affine_grid(theta, x.shape, align_corners=False)
        x = 1 - F.grid_sample(1 - x, grid, align_corners=False)  # pad with white
        x = (x + torch.randn_like(x) * 0.03).clamp(0, 1)
        if deep:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=deep and native_bf16):
            out = net(x).float()
        y = targets[idx]
        loss = F.cross_entropy(out, y) if kind == "letter" else \
            F.binary_cross_entropy_with_logits(out, y, pos_weight=pos_weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0:
            log(f"  {kind} classifier step {step}: loss {loss.item():.3f}")
    log(f"  {kind} classifier ({arch}) trained in {time.perf_counter() - t0:.0f} s")
    CACHE.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))  # (channels-last weights)
    return net.eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gan.glyphs")
    ap.add_argument("--n", type=int, default=100, help="held-out glyphs to invert")
    ap.add_argument("--steps", type=int, default=200, help="optimisation steps of the reference")
    ap.add_argument("--edit-steps", type=int, default=50, help="optimisation steps of the inversion before edits")
    ap.add_argument("--per-attribute", type=int, default=150, help="held-out glyphs edited per attribute")
    ap.add_argument("--strength", type=lambda v: [float(x) for x in v.split(",") if x], default=[1.5],
                    help="edit strength, or a comma list of them (one table row per strength)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--edits-only", action="store_true", help="skip the inversion part")
    ap.add_argument("--judge-data", type=Path, nargs="+", default=[],
                    help="more labelled glyph folders the judges also learn from (fonts neither in the "
                         "training packages nor in the held-out ones; e.g. JUDGES above)")
    ap.add_argument("--judge", choices=sorted(JUDGES), default="deep",
                    help="judges' network: deep (default; 8,000 steps) or small (the first tables' judges, 3,000)")
    ap.add_argument("--judge-steps", type=int, default=0, help="judges' training steps (0 = the network's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    log = print
    from imgedit import load_model
    from imgedit.directions import linear_classifier, mean_difference
    from imgedit.latentedit import apply_change, keep_classes
    from imgedit.perceptual import perceptual_distance

    m = load_model(args.model, precision="fp32")
    gm = m.model
    held = load_set(HELDOUT)
    train_set = load_set(DATA)
    log(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; model {args.model}; held-out {len(held)} glyphs, "
        f"training set {len(train_set)}")

    def guess(x):  # the GAN's encoder (refined below), or a VAE's posterior mean (final)
        return gm.guess(x) if hasattr(gm, "guess") else gm.encode(x)

    # ---- 1. inversion --------------------------------------------------------------------------
    rng = random.Random(1)
    idx = rng.sample(range(len(held)), args.n)
    x = held.take(idx)
    quarter = max(1, args.steps // 4)

    def run(label, start, steps):
        t0 = time.perf_counter()
        with torch.inference_mode():
            z0 = guess(x)
            if start != "encoder":  # the mean latent (a class-conditional model keeps the encoder's class)
                z0[:, :gm.nz - getattr(gm, "n_classes", 0)] = 0
        z = gm.refine(z0, x, steps) if steps else z0
        secs = (time.perf_counter() - t0) / len(x)
        with torch.inference_mode():
            rec = gm.G(z)
            p, d = psnr(rec, x).mean().item(), perceptual_distance(rec, x).mean().item()
        log(f"| {label} | {steps} | {p:.2f} | {d:.4f} | {secs * 1000:.0f} ms |")
        return p, d

    if not args.edits_only and hasattr(gm, "refine"):
        log("\n## Inversion of held-out glyphs\n")
        log("| method | optimisation steps | PSNR dB | perceptual | time / image |")
        log("|---|---|---|---|---|")
        run("encoder only", "encoder", 0)
        run("encoder + optimisation", "encoder", quarter)
        run("optimisation from the mean latent", "mean", quarter)
        run("optimisation from the mean latent", "mean", args.steps)
        run("encoder + optimisation", "encoder", args.steps)

    # ---- 2. attribute edits --------------------------------------------------------------------
    log("\n## Attribute edits (classifiers trained on the training set's labels"
        + (" and those of --judge-data" if args.judge_data else "") + ")\n")
    attrs = [a for a in ATTRS if a in train_set.attributes and a in held.attributes]
    judge_set = joined(train_set, *(load_set(Path(d).expanduser()) for d in args.judge_data))
    tag = "".join(f"+{Path(d).name}" for d in args.judge_data)
    if tag:
        log(f"judges trained on {len(judge_set)} glyphs: the training set and {', '.join(map(str, args.judge_data))}")
    y_attr = torch.tensor([[float(r[a]) for a in attrs] for r in judge_set.rows])
    chars = sorted({r["char"] for r in train_set.rows})
    y_letter = torch.tensor([chars.index(r["char"]) for r in judge_set.rows])
    jsteps = args.judge_steps or (3000 if args.judge == "small" else 8000)
    if args.judge_steps:
        tag += f"-{jsteps}"
    attr_net = train_classifier(judge_set, y_attr, len(attrs), "attribute", jsteps, log, tag, args.judge)
    letter_net = train_classifier(judge_set, y_letter, len(chars), "letter", jsteps, log, tag, args.judge)
    with torch.inference_mode():
        hx_all = held.take(list(range(len(held))))
        pa = torch.cat([attr_net(hx_all[i:i + 500]) for i in range(0, len(hx_all), 500)]) > 0
        pl = torch.cat([letter_net(hx_all[i:i + 500]).argmax(1) for i in range(0, len(hx_all), 500)])
    truth_l = torch.tensor([chars.index(r["char"]) for r in held.rows])
    truth_a = torch.tensor([[r[a] == "1" for a in attrs] for r in held.rows])
    log(f"classifier accuracy on held-out originals: letter {(pl == truth_l).float().mean():.1%}; "
        + ", ".join(f"{a} {(pa[:, k] == truth_a[:, k]).float().mean():.1%}" for k, a in enumerate(attrs)))
    # an edit towards an attribute can only be counted when the judge recognises that attribute in
    # fonts it never saw: its recall on the held-out positives (and negatives) bounds what the
    # edits can score (the table's "judge's ceiling")
    recall = {a: (pa[truth_a[:, k], k].float().mean().item(), (~pa[~truth_a[:, k], k]).float().mean().item())
              for k, a in enumerate(attrs)}
    log("attribute classifier on held-out originals, recall of positives / of negatives: "
        + ", ".join(f"{a} {recall[a][0]:.1%} / {recall[a][1]:.1%} "
                    f"({len({r['font'] for r in held.rows if r[a] == '1'})} fonts)" for a in attrs))
    shipped = gm.directions()


    # classifier-normal directions from the training set's encoded latents (same latents as shipped)
    with torch.inference_mode():
        lat = torch.cat([guess(train_set.take(list(range(i, min(i + 500, len(train_set))))))
                         for i in range(0, len(train_set), 500)])
    conditional = getattr(gm, "_combos", None) is not None
    candidates: dict[str, dict] = {("shipped (attribute axis)" if conditional else "shipped (mean difference)"): shipped}
    candidates["mean difference"] = {}  # from the labels read here (the shipped ones: those at export)
    candidates["classifier normal"] = {}
    for a in attrs:
        pos = [i for i, r in enumerate(train_set.rows) if r[a] == "1"]
        neg = [i for i, r in enumerate(train_set.rows) if r[a] == "0"]
        nc = getattr(gm, "n_classes", 0)  # a class-conditional model's directions leave the class alone
        candidates["classifier normal"][a] = keep_classes(linear_classifier(lat[pos], lat[neg]), nc)
        candidates["mean difference"][a] = keep_classes(mean_difference(lat[pos], lat[neg]), nc)
    # a perfect edit makes the glyph of the other class; the judge reads that class in unseen
    # fonts at its recall, so the flips it can count are at most (its ceiling):
    # positives edited -> its negatives' recall, negatives edited -> its positives' recall
    log("\n| attribute | direction | strength | edited | judge's ceiling | attribute flipped | letter kept (of flipped) | flipped and letter kept |")
    log("|---|---|---|---|---|---|---|---|")
    totals: dict[str, list[float]] = {}
    for k, a in enumerate(attrs):
        truth = truth_a[:, k]
        ok = [i for i in range(len(held)) if pa[i, k] == truth[i] and pl[i] == truth_l[i]]
        pos = [i for i in ok if truth[i]]
        neg = [i for i in ok if not truth[i]]
        r2 = random.Random(k)
        half = args.per_attribute // 2
        pick = r2.sample(pos, min(half, len(pos))) + r2.sample(neg, min(args.per_attribute - min(half, len(pos)), len(neg)))
        if not pick:
            continue
        xs = held.take(pick)
        with torch.inference_mode():
            z0 = guess(xs)
        z = gm.refine(z0, xs, args.edit_steps) if hasattr(gm, "refine") else z0
        sign = torch.tensor([-1.0 if truth[i] else 1.0 for i in pick])[:, None]
        ceiling = ((sign < 0).sum().item() * recall[a][1] + (sign > 0).sum().item() * recall[a][0]) / len(pick)
        with torch.inference_mode():
            rec = gm.generate(z)
            for (label, vec), strength in ((lv, st) for lv in ((label, c.get(a)) for label, c in candidates.items())
                                           for st in args.strength):
                if vec is None:
                    continue
                edited = apply_change(xs, rec, gm.generate(z + strength * sign * vec))
                new_attr = attr_net(edited)[:, k] > 0
                flipped = new_attr != truth[pick]
                kept = letter_net(edited).argmax(1) == truth_l[pick]
                both = (flipped & kept).float().mean().item()
                fk = (kept[flipped].float().mean().item() if flipped.any() else 0.0)
                totals.setdefault((label, strength), []).append(both)
                log(f"| {a} | {label} | {strength:g} | {len(pick)} | {ceiling:.1%} | {flipped.float().mean():.1%} | {fk:.1%} | {both:.1%} |")
    for (label, strength), v in totals.items():
        log(f"\nmean over attributes, {label}, strength {strength:g}: flipped with letter kept {sum(v) / len(v):.1%}")


if __name__ == "__main__":
    main()
