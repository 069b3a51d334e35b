"""Shared machinery for ``imgedit train ...`` trainers (style, interp, and the GAN/VAE to come).

A trainer is a plugin's :class:`~imgedit.api.TrainerSpec` entry point; what it trains is its own
business, but every trainer needs the same chores done the same way, so they live here once:

* :class:`Checkpoint` - a run folder holding ``last.safetensors`` (every module's weights and every
  optimizer's per-parameter state, keyed by parameter *name*) and ``state.json`` (step, wall time,
  history, configuration: whatever the trainer keeps). Written atomically; loading never unpickles.
* :class:`StopFlag` - Ctrl-C finishes the current step, checkpoints and exits 130 instead of
  losing the work since the last checkpoint.
* :func:`progress` - the rich progress bar (disabled when stderr is not a terminal, where trainers
  log lines instead).
* :class:`PhotoSet` - training photos decoded once into memory, random square crops on demand;
  :func:`preview_photos` + :func:`write_sheet` for a run's ``preview.jpg``, to judge it by eye.
* :func:`export_weights` - fp16 safetensors + a model card with the file's sha256 and size, and
  :func:`set_constant` / :func:`set_dict_entry` to record that sha256 in the plugin's source, so
  the registration names exactly the file that was exported.
* small helpers for model cards: :func:`command_line`, :func:`loss_table`, :func:`utc_now`,
  :func:`tilde`.

Run folders default to ``~/.cache/imgedit/train/<run>`` (``IMGEDIT_TRAIN_DIR`` moves them).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import random
import re
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import torch

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def train_root() -> Path:
    """Where run folders live: ``$IMGEDIT_TRAIN_DIR`` or ``~/.cache/imgedit/train``."""
    return Path(os.environ.get("IMGEDIT_TRAIN_DIR") or Path.home() / ".cache" / "imgedit" / "train")


# ------------------------------------------------------------------------------------------------
# checkpoints
class Checkpoint:
    """The checkpoint of one training run: ``folder/last.safetensors`` + ``folder/state.json``.

    ``modules`` and ``optimizers`` are named (``{"net": net}``, ``{"opt": opt}``; a GAN passes
    two of each). Tensors are stored as ``<module>.<param>`` and
    ``<optimizer>.<module>.<param>.<slot>`` (e.g. ``opt.net.conv.weight.exp_avg``); non-tensor
    optimizer slots go to the JSON. Keys by name, not by position, so a checkpoint survives a
    reordering of parameters and a mismatch is reported by name.
    """

    def __init__(self, folder: Path, modules: Mapping[str, "torch.nn.Module"],
                 optimizers: Mapping[str, "torch.optim.Optimizer"] | None = None):
        self.folder = Path(folder)
        self.modules = dict(modules)
        self.optimizers = dict(optimizers or {})

    @property
    def weights_path(self) -> Path:
        return self.folder / "last.safetensors"

    @property
    def state_path(self) -> Path:
        return self.folder / "state.json"

    def exists(self) -> bool:
        return self.weights_path.is_file() and self.state_path.is_file()

    def _param_names(self) -> dict[int, str]:
        return {id(p): f"{m}.{n}" for m, mod in self.modules.items() for n, p in mod.named_parameters()}

    def save(self, state: dict) -> None:
        """Write weights, optimizer state and ``state`` (JSON-serialisable) atomically."""
        import torch
        from safetensors.torch import save_file

        self.folder.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, torch.Tensor] = {}
        for m, mod in self.modules.items():
            for k, v in mod.state_dict().items():
                tensors[f"{m}.{k}"] = v.detach().cpu().contiguous()
        names = self._param_names()
        scalars: dict[str, dict[str, Any]] = {}
        for o, opt in self.optimizers.items():
            for group in opt.param_groups:
                for p in group["params"]:
                    for slot, v in opt.state.get(p, {}).items():
                        key = f"{o}.{names[id(p)]}.{slot}"
                        if isinstance(v, torch.Tensor):
                            tensors[key] = v.detach().cpu().contiguous()
                        else:
                            scalars[key] = v
        tmp = self.weights_path.with_name("last.safetensors.tmp")
        save_file(tensors, str(tmp))
        os.replace(tmp, self.weights_path)
        _write_text_atomic(self.state_path, json.dumps({**state, "optimizer_scalars": scalars}, indent=1))

    def load(self, *, optimizers: bool = True) -> dict | None:
        """Restore the modules (and optimizers) in place; returns the saved state, or None when
        the folder holds no checkpoint. Raises ``ValueError`` naming the keys that do not match."""
        import torch
        from safetensors.torch import load_file

        if not self.exists():
            return None
        tensors = load_file(str(self.weights_path))
        state = json.loads(self.state_path.read_text())
        scalars = state.pop("optimizer_scalars", {})
        for m, mod in self.modules.items():
            own = {k[len(m) + 1:]: v for k, v in tensors.items() if k.startswith(m + ".")}
            missing, unexpected = mod.load_state_dict(own, strict=False)
            if missing or unexpected:
                raise ValueError(f"{self.weights_path}: checkpoint does not match module {m!r} "
                                 f"(missing {list(missing)[:3]}, unexpected {list(unexpected)[:3]})")
        if optimizers:
            names = self._param_names()
            for o, opt in self.optimizers.items():
                for group in opt.param_groups:
                    for p in group["params"]:
                        prefix = f"{o}.{names[id(p)]}."
                        st = {k[len(prefix):]: v.to(p.device) for k, v in tensors.items() if k.startswith(prefix)}
                        st.update({k[len(prefix):]: v for k, v in scalars.items() if k.startswith(prefix)})
                        if "step" in st and not isinstance(st["step"], torch.Tensor):
                            st["step"] = torch.tensor(float(st["step"]))
                        if st:
                            opt.state[p] = st
        return state


def ema_update(ema: "torch.nn.Module", net: "torch.nn.Module", decay: float) -> None:
    """Polyak averaging: ``ema = decay * ema + (1 - decay) * net`` for every parameter (buffers
    are copied). Evaluating and exporting the average instead of the last weights removes the
    random walk that Adam's noisy steps leave in them."""
    import torch

    with torch.no_grad():
        for e, p in zip(ema.parameters(), net.parameters()):
            e.lerp_(p.detach(), 1.0 - decay)
        for e, b in zip(ema.buffers(), net.buffers()):
            e.copy_(b)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------------
# interruption and progress
class StopFlag:
    """``with StopFlag() as stop:`` - Ctrl-C sets ``stop.requested`` instead of raising, so the
    loop can finish its step and checkpoint; a second Ctrl-C raises KeyboardInterrupt as usual."""

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None

    def _handler(self, signum, frame) -> None:  # noqa: ARG002
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> "StopFlag":
        try:
            self._old = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self._old = None
        return self

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def progress(description: str):
    """A rich progress bar on stderr for a training loop (``add_task(..., info="")`` shows the
    running losses); disabled when stderr is not a terminal, where trainers log lines instead."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn(f"[bold]{description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("ETA"),
                    TimeRemainingColumn(), console=Console(stderr=True), transient=False,
                    disable=not sys.stderr.isatty())


def bf16_autocast_default(device_type: str = "cpu") -> bool:
    """bf16 autocast by default where the hardware has it (CPU: AVX-512 BF16 / AMX)."""
    if device_type == "cpu":
        from imgedit.devices import cpu_has_native_bf16

        return cpu_has_native_bf16()
    import torch

    return device_type == "cuda" and torch.cuda.is_bf16_supported()


# ------------------------------------------------------------------------------------------------
# data
def list_images(sources: Iterable[Path]) -> list[Path]:
    """Image files in ``sources`` (files, or folders searched recursively), sorted per folder."""
    files: list[Path] = []
    for d in sources:
        d = Path(d).expanduser()
        if d.is_file():
            files.append(d)
        elif d.is_dir():
            files.extend(p for p in sorted(d.rglob("*")) if p.suffix.lower() in IMAGE_EXTS and p.is_file())
    return files


def read_rgb(path: Path, short_side: int | None = None) -> "torch.Tensor | None":
    """(3,H,W) uint8 RGB, downscaled so the short side is at most ``short_side``; None when the
    file cannot be read as an image (training data is skipped, never fatal)."""
    import numpy as np
    import torch
    from PIL import Image

    try:
        with Image.open(path) as im:
            if short_side:
                im.draft("RGB", (short_side * 2, short_side * 2))
            im = im.convert("RGB")
            if short_side and min(im.size) > short_side:
                s = short_side / min(im.size)
                im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.BILINEAR)
            return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).contiguous()
    except Exception:  # noqa: BLE001 - unreadable or odd files are skipped
        return None


class PhotoSet:
    """Training photos decoded once (short side ``short_side``); :meth:`batch` gives random square
    crops at random scales, horizontally flipped half the time, as (B,3,size,size) in [0,1]."""

    def __init__(self, sources: list[Path], short_side: int, min_side: int,
                 log: Callable[[str], None] = print):
        files = list_images(sources)
        if not files:
            raise SystemExit(f"no images found in {', '.join(map(str, sources))}")
        t0 = time.perf_counter()
        self.images = [img for img in (read_rgb(f, short_side) for f in files)
                       if img is not None and min(img.shape[1:]) >= min_side]
        if not self.images:
            raise SystemExit(f"none of the {len(files)} images is at least {min_side} px on its short side")
        self.files = len(files)
        log(f"data: {len(self.images)} photos (of {len(files)} files) in {time.perf_counter() - t0:.1f} s")

    def batch(self, n: int, size: int, rng: random.Random) -> "torch.Tensor":
        import torch
        import torch.nn.functional as F

        out = []
        for _ in range(n):
            img = self.images[rng.randrange(len(self.images))]
            h, w = img.shape[1:]
            scale = rng.uniform(size / min(h, w), 1.0) if min(h, w) > size else size / min(h, w)
            crop = max(1, min(min(h, w), round(size / scale)))
            y, x = rng.randint(0, h - crop), rng.randint(0, w - crop)
            piece = img[:, y:y + crop, x:x + crop].float()[None] / 255.0
            piece = F.interpolate(piece, size=(size, size), mode="bilinear", align_corners=False,
                                  antialias=crop > size)
            if rng.random() < 0.5:
                piece = piece.flip(-1)
            out.append(piece)
        return torch.cat(out).clamp(0, 1)


def preview_photos(sources: list[Path] | None = None, long_side: int = 256, limit: int = 4) -> list["torch.Tensor"]:
    """Fixed photos for a run's preview sheet, each (1,3,H,W) in [0,1] with the long side at most
    ``long_side``: from ``sources``, else the repository's bundled ``samples/photos``."""
    import torch.nn.functional as F

    if sources is None:
        bundled = Path(__file__).resolve().parent.parent / "samples" / "photos"
        sources = [bundled] if bundled.is_dir() else []
    out = []
    for f in list_images(sources)[:limit]:
        img = read_rgb(f)
        if img is not None:
            x = img.float()[None] / 255.0
            s = long_side / max(x.shape[-2:])
            size = (max(1, round(x.shape[-2] * s)), max(1, round(x.shape[-1] * s)))
            out.append(F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
                       if s < 1 else x)
    return out


def write_sheet(path: Path, rows: list[list["torch.Tensor"]]) -> None:
    """A JPEG contact sheet: ``rows`` of (1,3,H,W) images in [0,1], row by row, each image at the
    top-left of its cell (cells as wide as the widest image of their column). Written atomically."""
    import torch
    from PIL import Image

    rows = [r for r in rows if r]
    if not rows:
        return
    ncol = max(len(r) for r in rows)
    widths = [max((r[c].shape[-1] for r in rows if c < len(r)), default=0) for c in range(ncol)]
    heights = [max(x.shape[-2] for x in r) for r in rows]
    sheet = torch.zeros(3, sum(heights), sum(widths))
    y = 0
    for r, h in zip(rows, heights):
        x = 0
        for c, img in enumerate(r):
            ih, iw = img.shape[-2:]
            sheet[:, y:y + ih, x:x + iw] = img.detach().float().cpu().clamp(0, 1).reshape(-1, ih, iw)[:3]
            x += widths[c]
        y += h
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(path).with_name(Path(path).name + ".tmp.jpg")
    Image.fromarray((sheet.permute(1, 2, 0) * 255).round().byte().numpy()).save(tmp, quality=90)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------------
# export and model cards
def export_weights(tensors: Mapping[str, "torch.Tensor"], out: Path, card: str,
                   metadata: Mapping[str, str] | None = None) -> str:
    """Write ``tensors`` as fp16 safetensors (integer buffers kept as they are) and the model
    card ``out.with_suffix('.md')``, where ``{SHA256}`` and ``{SIZE}`` are filled in. Returns the
    sha256 of the weight file."""
    from safetensors.torch import save_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    half = {k: (v.detach().half() if v.is_floating_point() else v.detach()).cpu().contiguous()
            for k, v in tensors.items()}
    tmp = out.with_name(out.name + ".tmp")
    save_file(half, str(tmp), metadata=dict(metadata or {}))
    os.replace(tmp, out)
    out.chmod(0o644)
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    _write_text_atomic(out.with_suffix(".md"),
                       card.replace("{SHA256}", sha).replace("{SIZE}", f"{out.stat().st_size / 1e6:.2f} MB"))
    return sha


def set_constant(py_file: Path, name: str, value: str) -> bool:
    """Rewrite the line ``NAME = "..."`` (or ``NAME: type = ...``) of ``py_file`` to hold the
    string ``value``. Returns False when the file or the line is missing (then print what to add)."""
    try:
        src = Path(py_file).read_text()
    except OSError:
        return False
    new, n = re.subn(rf"^({re.escape(name)}(?:: [^=\n]+)? = ).*$", lambda m: f'{m.group(1)}"{value}"', src,
                     flags=re.M)
    if n != 1:
        return False
    Path(py_file).write_text(new)
    return True


def set_dict_entry(py_file: Path, dict_name: str, key: str, value: str) -> bool:
    """Set ``"key": "value"`` in the literal ``DICT_NAME: ... = {...}`` of string pairs in
    ``py_file`` (entries kept sorted, one per line). Returns False when it is not there."""
    try:
        src = Path(py_file).read_text()
    except OSError:
        return False
    m = re.search(rf"^{re.escape(dict_name)}(?:: [^=\n]+)? = \{{\n(.*?)^\}}", src, re.S | re.M)
    if not m:
        return False
    entries = dict(re.findall(r'"([^"]+)": "([^"]*)"', m.group(1)))
    entries[key] = value
    body = "".join(f'    "{k}": "{v}",\n' for k, v in sorted(entries.items()))
    Path(py_file).write_text(src[:m.start(1)] + body + src[m.end(1):])
    return True


def command_line(trainer: str, argv: list[str]) -> str:
    """The command that reproduces a run, for model cards: ``imgedit train NAME ARGS``."""
    return " ".join(["imgedit", "train", trainer, *map(shlex.quote, argv)])


def tilde(text) -> str:
    """``text`` with the home folder written ``~`` (only as a whole leading path component), so a
    model card shows the command and the data without the trainer's user name."""
    home = str(Path.home()).rstrip(os.sep)
    if not home:
        return str(text)
    return re.sub(rf"(?<![\w/]){re.escape(home)}(?=/|$|\s)", "~", str(text))


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def loss_table(history: list[dict], skip: tuple[str, ...] = ("step", "size")) -> str:
    """A markdown table of about five rows (first, quarters, last) of a loss history."""
    if not history:
        return "(no steps)"
    keys = [k for k in history[0] if k not in skip]
    picks = [history[0]] + history[max(1, len(history) // 4)::max(1, len(history) // 4)]
    if picks[-1] is not history[-1]:
        picks.append(history[-1])
    head = ["step", *(["crop"] if "size" in history[0] else []), *keys]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for h in picks:
        cells = [str(h["step"]), *([str(h["size"])] if "size" in h else []),
                 *(f"{h[k]:.4g}" if isinstance(h.get(k), (int, float)) else str(h.get(k, "")) for k in keys)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# the resumable loop
def _rng_state() -> dict:
    import base64

    import torch

    st = random.getstate()
    return {"python": [st[0], list(st[1]), st[2]],
            "torch": base64.b64encode(torch.get_rng_state().numpy().tobytes()).decode()}


def _set_rng_state(saved: dict) -> None:
    import base64

    import numpy as np
    import torch

    if "python" in saved:
        v, internal, gauss = saved["python"]
        random.setstate((v, tuple(internal), gauss))
    if "torch" in saved:
        torch.set_rng_state(torch.from_numpy(np.frombuffer(base64.b64decode(saved["torch"]), dtype=np.uint8).copy()))


class TrainRun:
    """One resumable training run, the loop every ``imgedit train`` trainer shares.

    ``modules`` and ``optimizers`` are named (a GAN passes ``{"G": g, "D": d, "G_ema": ema}`` and
    ``{"opt_g": ..., "opt_d": ...}``); ``config`` is what the trainer wants to keep (it must match
    on resume for the keys listed in ``must_match``). ``rng`` is the :class:`random.Random` the
    trainer draws its data from; its state, Python's and torch's global RNG and the
    ``generators`` (torch.Generator, e.g. for augmentations) are checkpointed, so a resumed run
    continues *exactly* as an uninterrupted one would.

    :meth:`run` calls ``step_fn(step) -> {loss: value}`` until ``steps``; every ``log_every`` steps
    the losses (averaged) go to ``history`` and the log; ``hooks`` maps an interval to a callback
    ``fn(step) -> dict | None`` (previews, evaluations: a returned dict is merged into the history
    row of that step; a list of ``(interval, fn)`` pairs, so two hooks may share an interval).
    It checkpoints every ``ckpt_minutes`` of wall time, at the end, and on
    Ctrl-C (then it raises ``SystemExit(130)`` after saving)."""

    def __init__(self, folder: Path, modules: Mapping[str, "torch.nn.Module"],
                 optimizers: Mapping[str, "torch.optim.Optimizer"], config: dict, *, rng: random.Random,
                 must_match: Iterable[str] = (), log: Callable[[str], None] = print, name: str = "train",
                 generators: Mapping[str, "torch.Generator"] | None = None,
                 rngs: Mapping[str, random.Random] | None = None):
        self.folder = Path(folder)
        self.rngs = dict(rngs or {})  #: further random.Random streams the trainer draws from (checkpointed)
        self.state: dict = {}  #: the raw saved state after :meth:`resume` (older runs' own keys)
        self.generators = dict(generators or {})  #: torch.Generators the trainer draws from (checkpointed)
        self.ckpt = Checkpoint(self.folder, modules, optimizers)
        self.config, self.rng, self.log, self.name = dict(config), rng, log, name
        self.must_match = tuple(must_match)
        self.step = 0
        self.wall = 0.0
        self.history: list[dict] = []
        self.extra: dict = {}  #: trainer-owned state saved with the checkpoint (JSON)

    def resume(self) -> bool:
        """Load the checkpoint if there is one; True when resumed."""
        if not self.ckpt.exists():
            return False
        old = json.loads(self.ckpt.state_path.read_text()).get("config", {})
        for k in self.must_match:  # before the weights: a size mismatch gets this line, not a traceback
            if k in old and old[k] != self.config.get(k):
                raise SystemExit(f"{self.folder}: this run was started with {k}={old[k]!r}, not "
                                 f"{self.config.get(k)!r} (use another --out to start a new run)")
        state = self.ckpt.load()
        self.state = state
        self.config = {**old, **self.config}  # this invocation's settings (--steps, the command) win
        self.step = int(state["step"])
        self.wall = float(state.get("wall", state.get("wall_seconds", 0.0)))  # (older runs: wall_seconds)
        self.history, self.extra = state.get("history", []), state.get("extra", {})
        if "rng" in state:
            _set_rng_state(state["rng"])
            for k, g in self.generators.items():
                if k in state["rng"].get("generators", {}):
                    import base64

                    import numpy as np
                    import torch

                    raw = base64.b64decode(state["rng"]["generators"][k])
                    g.set_state(torch.from_numpy(np.frombuffer(raw, dtype=np.uint8).copy()))
            streams = {"data": self.rng, **self.rngs}
            for k, r in streams.items():
                if k in state["rng"]:
                    v, internal, gauss = state["rng"][k]
                    r.setstate((v, tuple(internal), gauss))
        self.log(f"resumed {self.folder} at step {self.step} ({self.wall / 60:.1f} min trained)")
        return True

    def save(self) -> None:
        import base64

        rng = _rng_state()
        for k, r in {"data": self.rng, **self.rngs}.items():
            st = r.getstate()
            rng[k] = [st[0], list(st[1]), st[2]]
        rng["generators"] = {k: base64.b64encode(g.get_state().numpy().tobytes()).decode()
                             for k, g in self.generators.items()}
        self.ckpt.save({"step": self.step, "wall": self.wall, "history": self.history, "config": self.config,
                        "extra": self.extra, "rng": rng})

    def run(self, steps: int, step_fn: Callable[[int], Mapping[str, float]], *, log_every: int = 50,
            hooks: Iterable[tuple[int, Callable[[int], dict | None]]] = (), ckpt_minutes: float = 5.0,
            ckpt_every: int | None = None, on_checkpoint: Callable[[], None] | None = None,
            boundaries: Iterable[int] = (), deadline: float | None = None) -> None:
        """Train until ``steps`` (see the class docstring). The first step is logged too (the
        starting losses) and so are ``boundaries`` (the last step of a phase: averages never mix
        two phases' losses); ``ckpt_every`` adds a checkpoint every that many steps, and
        ``on_checkpoint`` runs after each one (a preview sheet, say). ``deadline`` (a
        ``time.time()`` value) ends the session early, checkpointed (``--minutes`` budgets)."""
        hooks = list(hooks.items() if isinstance(hooks, Mapping) else hooks)
        if any(every < 1 for every, _ in hooks):
            raise ValueError("hook intervals must be at least 1 step")
        boundaries = set(boundaries)

        def checkpoint() -> None:
            self.save()
            if on_checkpoint is not None:
                on_checkpoint()

        sums: dict[str, float] = {}
        n = 0
        last_ckpt = time.perf_counter()
        with StopFlag() as stop, progress(self.name) as bar:
            task = bar.add_task(self.name, total=steps, completed=self.step, info="")
            while self.step < steps and (deadline is None or time.time() < deadline):
                t0 = time.perf_counter()
                losses = step_fn(self.step)
                self.step += 1
                self.wall += time.perf_counter() - t0
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(v)
                n += 1
                row: dict = {}
                if self.step % log_every == 0 or self.step in (steps, 1) or self.step in boundaries:
                    row = {"step": self.step, **{k: round(v / n, 5) for k, v in sums.items()}}
                    sums, n = {}, 0
                for every, fn in hooks:
                    if self.step % every == 0 or self.step == steps:
                        extra = fn(self.step)
                        if extra:
                            row = {"step": self.step, **row, **extra}
                if row:
                    self.history.append(row)
                    info = "  ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "step" and isinstance(v, (int, float)))
                    bar.update(task, info=info)
                    if not sys.stderr.isatty():
                        self.log(f"step {self.step}/{steps}  {info}  ({self.wall / 60:.1f} min)")
                bar.update(task, completed=self.step)
                if stop.requested:
                    checkpoint()
                    self.log(f"stopped at step {self.step}; checkpoint in {self.folder} (rerun to resume)")
                    raise SystemExit(130)
                if (time.perf_counter() - last_ckpt > ckpt_minutes * 60
                        or (ckpt_every and self.step % ckpt_every == 0)):
                    checkpoint()
                    last_ckpt = time.perf_counter()
        checkpoint()


class LabelledSet:
    """A fixed-size image set held in memory as it is: no crops, no flips (glyphs, faces at their
    training size). ``folder`` holds the images; ``labels`` is a CSV with a ``file`` column
    (relative to ``folder``) and any 0/1 attribute columns, or None to take every image of the
    folder (no attributes). Images are resized to ``size`` x ``size`` when they are not."""

    def __init__(self, folder: Path, size: int, labels: Path | None = None, *, gray: bool = False,
                 log: Callable[[str], None] = print):
        import csv

        import torch
        import torch.nn.functional as F

        folder = Path(folder).expanduser()
        if labels is not None:
            try:
                with open(labels, newline="") as fh:
                    rows = list(csv.DictReader(fh))
            except (OSError, UnicodeDecodeError, csv.Error) as exc:
                raise SystemExit(f"labels {labels}: cannot read it ({exc})") from None
            if rows and "file" not in rows[0]:
                raise SystemExit(f"labels {labels}: no `file` column (columns: {', '.join(rows[0])})")
            files = [folder / (r["file"] or "") for r in rows]
        else:
            files = list_images([folder])
            rows = [{"file": str(f.relative_to(folder))} for f in files]
        if not files:
            raise SystemExit(f"no images found in {folder}")
        imgs, keep, skipped = [], [], []
        for f, r in zip(files, rows):
            t = read_rgb(f) if f.is_file() else None
            if t is None:
                skipped.append(f)
                continue
            if t.shape[1:] != (size, size):
                t = F.interpolate(t[None].float(), size=(size, size), mode="bilinear", antialias=True,
                                  align_corners=False)[0].round().clamp(0, 255).byte()
            imgs.append(t.float().mean(0, keepdim=True).round().byte() if gray else t)  # gray: mean of RGB,
            keep.append(r)                                                           # as the networks read it
        for f in skipped[:5]:
            log(f"skipped {f}: {'missing' if not f.is_file() else 'not a readable image'}")
        if len(skipped) > 5:
            log(f"skipped {len(skipped) - 5} more unreadable or missing files")
        if not imgs:
            raise SystemExit(f"none of the {len(files)} files in {folder} is a readable image")
        self.images = torch.stack(imgs)  #: (N, C, size, size) uint8
        self.rows = keep
        columns = [k for k in (keep[0].keys() if keep else ()) if k != "file"]
        self.attributes = [k for k in columns if all(r.get(k) in ("0", "1") for r in keep)]
        for k in columns:
            values = {r.get(k) for r in keep}
            if k not in self.attributes and values & {"0", "1"} and values <= {"0", "1", "", None}:
                log(f"labels: column {k!r} has empty cells, so it is not used as an attribute")
        log(f"data: {len(keep)} images ({size}x{size}) from {folder}"
            + (f", attributes: {', '.join(self.attributes)}" if self.attributes else ""))

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, n: int, rng: random.Random) -> "torch.Tensor":
        """``n`` random images as (n,3,size,size) float in [0,1]."""
        idx = [rng.randrange(len(self.images)) for _ in range(n)]
        return self.take(idx)

    def take(self, idx: list[int]) -> "torch.Tensor":
        x = self.images[idx].float() / 255.0
        return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x

    def where(self, attribute: str, value: int) -> list[int]:
        return [i for i, r in enumerate(self.rows) if r.get(attribute) == str(value)]

    def partners(self, by: Sequence[str], attributes: Sequence[str], among: Sequence[int] | None = None) -> dict[int, list[int]]:
        """For each image of ``among`` (default: all), the others of ``among`` equal to it in the
        columns ``by`` (e.g. family, char: the same letter of one font family) that differ from it
        in at least one of ``attributes``; images without such a partner are left out."""
        among = range(len(self.rows)) if among is None else among
        groups: dict[tuple, list[int]] = {}
        for i in among:
            groups.setdefault(tuple(self.rows[i].get(c) for c in by), []).append(i)
        out = {}
        for members in groups.values():
            for i in members:
                key = [self.rows[i][a] for a in attributes]
                other = [j for j in members if [self.rows[j][a] for a in attributes] != key]
                if other:
                    out[i] = other
        return out


# ------------------------------------------------------------------------------------------------
# models a user trains: exported to the user models folder, usable by name without editing source
def user_models_dir() -> Path:
    """``$IMGEDIT_MODELS_DIR``, else the platform data folder: ``$XDG_DATA_HOME/imgedit/models``
    (``~/.local/share/imgedit/models``), ``~/Library/Application Support/imgedit/models`` on macOS,
    ``%APPDATA%/imgedit/models`` on Windows."""
    from imgedit.usermodels import models_dir

    return models_dir()


def label_args(ap) -> None:
    """``--labels`` and ``--pair-by`` of the latent-model trainers (the directions they ship)."""
    ap.add_argument("--labels", type=Path, default=None,
                    help="CSV with a `file` column (relative to --data) and 0/1 attribute columns: one "
                         "direction per attribute")
    ap.add_argument("--pair-by", type=lambda v: tuple(c for c in v.split(",") if c), default=(), metavar="COLS",
                    help="with --labels: each direction is the mean difference within groups of images equal in "
                         "these columns and in every other attribute (e.g. family,char: the same letter of "
                         "one font family), not over all images (imgedit.directions.paired_difference)")


def pairing(pair_by) -> str:
    """The model card's words for ``--pair-by`` (empty without it)."""
    return f", paired within equal {', '.join(f'`{c}`' for c in pair_by)} and other attributes" if pair_by else ""


def check_model_name(base: str, name: str, shipped: Mapping[str, str], *, ship: bool, exporting: bool) -> None:
    """Refuse (SystemExit) a ``--name`` that cannot be the user model ``BASE.NAME``, or that is a
    shipped model's name when exporting to the user models folder."""
    from imgedit.usermodels import NAME_RE

    if not re.fullmatch(NAME_RE, name):
        raise SystemExit(f"--name {name!r}: use lowercase letters, digits, _ and - (the model is {base}.NAME)")
    if name in shipped and not ship and exporting:
        raise SystemExit(f"--name {name}: {base}.{name} is a shipped model; choose another name")


def ship_or_export(tensors: Mapping[str, "torch.Tensor"], *, base: str, name: str, weight: str, card: str,
                   metadata: Mapping[str, str], latent_size: int, ship: bool, plugin_file: Path,
                   folder: Path | None = None, summary: str = "",
                   log: Callable[[str], None] = print) -> Path:
    """The last step of a latent-model trainer: ``--ship`` writes
    ``pretrained/BASE-NAME.safetensors`` beside the plugin's distribution and records its sha256
    and latent size in the plugin's ``SHIPPED`` / ``SHIPPED_LATENT`` tables; otherwise the model
    goes to the user models folder as ``BASE.NAME`` (:func:`export_user_model`)."""
    if ship:
        repo = Path(plugin_file).resolve().parents[3]  # REPO/plugins/DIST/PKG/plugin.py
        out = repo / "pretrained" / f"{base}-{name}.safetensors"
        sha = export_weights(tensors, out, card, {"weight": weight, **metadata})
        for table, value in (("SHIPPED", sha), ("SHIPPED_LATENT", str(latent_size))):
            if not set_dict_entry(plugin_file, table, name, value):
                log(f"add \"{name}\": \"{value}\" to {table} in {plugin_file}")
        return out
    return export_user_model(tensors, name=f"{base}.{name}", base=base, weight=weight, card=card, metadata=metadata,
                             folder=folder, summary=summary, latent_shape=(latent_size,))


def export_user_model(tensors: Mapping[str, "torch.Tensor"], *, name: str, base: str, weight: str,
                      card: str, metadata: Mapping[str, str] | None = None, folder: Path | None = None,
                      summary: str = "", latent_shape: tuple[int, ...] | None = None) -> Path:
    """Export a trained model to the user models folder (or ``folder``): ``NAME.safetensors``
    (fp16), ``NAME.md`` (the card) and ``NAME.json`` (``BASE.WEIGHT.*`` when ``name == base``:
    the base model gains that weight entry, e.g. a user's fast style), which names the ``base`` model whose code
    runs it, the base's weight entry ``weight`` this file stands for and the file's sha256
    recorded now. ``imgedit models`` lists it and ``-m NAME`` loads it: no source is edited."""
    from imgedit.usermodels import write_record

    folder = Path(folder) if folder is not None else user_models_dir()
    stem = name if name != base else f"{base}.{weight}"  # extending the base: one file per weight entry
    out = folder / f"{stem}.safetensors"
    meta = {"imgedit-model": name, "base": base, "weight": weight, **dict(metadata or {})}
    sha = export_weights(tensors, out, card, meta)
    write_record(folder, name=name, base=base, weight=weight, sha256=sha, summary=summary, stem=stem,
                 latent_shape=latent_shape)
    return out
