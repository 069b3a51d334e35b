"""The batch engine behind every verb: plan -> skip/resume -> run the model -> atomic write.

:func:`process` is the whole pipeline; the CLI is a thin layer over it. It never looks inside a
model: it reads inputs (:mod:`imgedit.io`), hands tensors to a :class:`~imgedit.engine.LoadedModel`
and writes what comes back. Users' files are sacred:

- inputs are opened read-only and never written;
- every output is written to a temp file in its target folder and renamed into place, so an
  interrupted run (Ctrl-C, crash) leaves no half-written file, and a rerun resumes: outputs
  that exist are skipped unless ``overwrite``;
- a bad input fails that item only (one line naming the file and the reason) and the batch goes
  on; :class:`Summary` counts done/skipped/failed and gives the exit code (0, 1, or 130).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from imgedit.api import Capability, Frame
from imgedit.errors import ImgeditError, InputError, OutputError, UsageError, debug_enabled
from imgedit.pipeline import Verb
from imgedit.pipeline import run as run_pipeline
from imgedit.io.discover import (FRAMES_MARKER, Job, foreign_folder, kind_of, list_frames, made_mark, plan,
                                 settings_of)

DEFAULT_FRAMES_FPS = Fraction(25)


@dataclass
class RunConfig:
    """Options shared by every verb (the CLI's common flags)."""

    device: str = "auto"
    precision: str = "auto"
    batch_size: int = 1
    max_pixels: int | None = None       #: refuse inputs above this many pixels (decompression bombs)
    tile_pixels: int | None = None      #: models tile above this many pixels per forward pass
    fmt: str = "same"                   #: png | jpg | webp | tiff | same
    quality: int = 95
    overwrite: bool = False
    dry_run: bool = False
    recursive: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    frames_mode: bool = False           #: folders are frame sequences, not image collections
    frames_out: bool = False            #: write videos as PNG-sequence folders
    frames_fps: Fraction = DEFAULT_FRAMES_FPS  #: rate of a frames folder given as input
    scene_threshold: float | None = None
    output_suffix: str = ""             #: before the extension (``clip.2x.mp4``); interpolate: from its options
    progress: bool = True               #: rich progress bar on stderr (only when it is a TTY)
    engine: str = "local"               #: local | ray (:mod:`imgedit.pipeline`)
    ray_address: str | None = None      #: local | auto | HOST:PORT (default: $RAY_ADDRESS, else local)
    workers: int | None = None          #: actors (default: as many as the cluster's CPUs allow)
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0


@dataclass
class ItemResult:
    input: str
    output: str | None
    kind: str
    status: str                          #: done | skipped | failed | planned
    reason: str | None = None
    seconds: float = 0.0
    frames: int | None = None
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {"input": self.input, "output": self.output, "kind": self.kind, "status": self.status,
             "reason": self.reason, "seconds": round(self.seconds, 3)}
        if self.frames is not None:
            d["frames"] = self.frames
        if self.warnings:
            d["warnings"] = self.warnings
        d.update(self.extra)
        return d


@dataclass
class Summary:
    results: list[ItemResult] = field(default_factory=list)
    model: str | None = None
    interrupted: bool = False
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.count("failed") else 0

    def as_dict(self) -> dict:
        return {"summary": True, "model": self.model, "done": self.count("done"),
                "skipped": self.count("skipped"), "failed": self.count("failed"),
                "planned": self.count("planned"), "interrupted": self.interrupted,
                "seconds": round(self.seconds, 3), "exit_code": self.exit_code}


# --------------------------------------------------------------------------------------------
# progress
class _Progress:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, enabled: bool):
        self.bar = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                TimeRemainingColumn(), console=Console(stderr=True), transient=False)

    def __enter__(self):
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.__exit__(*exc)

    def task(self, description: str, total: int | None, unit: str = "items"):
        return _Task(self.bar, description, total, unit)


class _Task:
    def __init__(self, bar, description: str, total: int | None, unit: str):
        self.bar, self.unit, self.start, self.n = bar, unit, time.perf_counter(), 0
        self.id = bar.add_task(description[:40], total=total, rate="") if bar else None

    def advance(self, n: int = 1) -> None:
        self.n += n
        if self.bar:
            rate = self.n / max(time.perf_counter() - self.start, 1e-9)
            self.bar.update(self.id, advance=n, rate=f"{rate:.2f} {self.unit}/s")

    def done(self) -> None:
        if self.bar:
            self.bar.remove_task(self.id)


# --------------------------------------------------------------------------------------------
def _empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _commit_dir(tmp: Path, final: Path, overwrite: bool) -> None:
    """Move a finished temp folder into place (replacing ``final`` only when overwriting, and only
    a folder imgedit wrote: one holding the user's own files is never deleted)."""
    if _empty_dir(final):  # an empty folder made for the output (mkdir out/) is just replaced
        final.rmdir()
    if final.exists():
        if not overwrite:
            raise FileExistsError(final)
        if not final.is_dir() or foreign_folder(final):
            raise OutputError(final, "not replaced: it holds files imgedit did not write (choose another OUT)")
        from imgedit.io.atomic import temp_path_for

        trash = temp_path_for(final, folder=True)  # a temp: a rerun removes it if this run is killed here
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, final)


def _print_traceback(exc: BaseException) -> None:
    """In debug mode (``--debug``, ``IMGEDIT_DEBUG=1``) print ``exc``'s traceback on stderr, once
    per exception (an exception shared by a batch's items is printed once)."""
    if not debug_enabled() or getattr(exc, "_imgedit_traceback_shown", False):
        return
    try:
        exc._imgedit_traceback_shown = True  # type: ignore[attr-defined]
    except AttributeError:  # an exception type with __slots__: may print twice, no harm
        pass
    traceback.print_exception(exc, file=sys.stderr)
    sys.stderr.flush()


def _fail_reason(exc: BaseException, source: os.PathLike | str | None = None) -> str:
    """One line for a failed item (and, in debug mode, its traceback on stderr: every failed item
    and warning made from an exception goes through here). An input error about another file than
    the item's ``source`` (a frame inside a frames folder) names that file."""
    _print_traceback(exc)
    if isinstance(exc, InputError):
        if source is not None and os.fspath(exc.path) != os.fspath(source):
            return f"{exc.path}: {exc.reason}"
        return exc.reason
    if isinstance(exc, ImgeditError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or type(exc).__name__}" + (f": {exc.filename}" if exc.filename else "")
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


class ModelVerb(Verb):
    """A verb that runs one registered model: builds it on first use (a fully resumed run never
    loads it) and records in each output's mark what made it."""

    #: compare an existing output's mark with this run's settings (a different model or options:
    #: "skipped, made with ...")
    reads_marks = True

    def __init__(self, *, spec, options: Mapping[str, Any], config: RunConfig, task: str | None = None):
        self.spec, self.raw_options, self.cfg = spec, dict(options), config
        self.task = task or spec.name  #: what the outputs' mark says made them (`imgedit interpolate from X`)
        self._model = None
        self._opts: dict[str, Any] | None = None
        self._settings: dict[str, Any] | None = None

    def settings(self, job: Job) -> dict[str, Any]:
        """What makes this job's output what it is, as recorded in its mark and compared with an
        existing output's: the model, the options that differ from its defaults and, for
        sequences, an explicit ``--scene-threshold`` (and ``--frames-fps`` of a frames folder)."""
        if self._settings is None:
            resolved = self.spec.resolve_options(self.raw_options)
            defaults = {o.name: o.default for o in self.spec.options}
            self._settings = {"model": self.spec.name,
                              "options": _canonical({k: v for k, v in resolved.items()
                                                     if k not in defaults or v != defaults[k]})}
        out = dict(self._settings)
        if job.kind != "image" and self.cfg.scene_threshold is not None:
            out["scene_threshold"] = float(self.cfg.scene_threshold)
        if job.kind == "frames" and self.cfg.frames_fps != DEFAULT_FRAMES_FPS:
            out["frames_fps"] = float(self.cfg.frames_fps)
        return out

    @property
    def model(self):
        if self._model is None:
            from imgedit.engine import DEFAULT_TILE_PIXELS, build

            model = build(self.spec, device=self.cfg.device, precision=self.cfg.precision,
                          tile_pixels=self.cfg.tile_pixels or DEFAULT_TILE_PIXELS)
            self._opts = model.prepare(self.raw_options)  # model-level option checks: once, up front
            self._model = model
        return self._model

    @property
    def opts(self) -> dict[str, Any]:
        _ = self.model
        return self._opts  # type: ignore[return-value]

    def skip(self, job: Job) -> ItemResult | None:
        if not job.output.exists() or _empty_dir(job.output):
            return None
        now = self.settings(job)
        old = settings_of(job.output) if self.reads_marks else None
        reason = skip_reason(old, now, job, self.spec)
        made_with = {k: v for k, v in old.items() if k != "source"} if reason != SKIP_EXISTS else None
        return self.result(job, "skipped", reason, extra={"made_with": made_with} if made_with else {})

    def prepare(self) -> None:
        _ = self.model  # a missing weight file or broken plugin stops the run here


class Runner(ModelVerb):
    """The file verbs (edit, stylize, interpolate, encode) over a plan of :class:`Job`. Build it
    through :func:`process` or the CLI."""

    def __init__(self, *, capability: Capability, spec, options: Mapping[str, Any], config: RunConfig,
                 task: str | None = None):
        super().__init__(spec=spec, options=options, config=config, task=task)
        self.capability = capability
        self.reads_marks = capability != Capability.ENCODE  # a latent file has no mark
        self._emit: Callable[[ItemResult], None] | None = None  #: set by execute()

    def emit(self, result: ItemResult) -> None:
        if self._emit is not None:
            self._emit(result)

    # -- the pipeline's hooks (:class:`imgedit.pipeline.Verb`) ----------------------------------
    def execute(self, jobs: list[Job], emit: Callable[[ItemResult], None], progress) -> None:
        self._emit = emit
        images = [j for j in jobs if j.kind == "image"]
        if images:
            self.run_images(images, progress)
        for job in jobs:
            if job.kind != "image":
                self.run_sequence(job, progress)

    # -- images -------------------------------------------------------------------------------
    def _read(self, job: Job):
        from imgedit.io.images import DEFAULT_MAX_PIXELS, read_image

        from imgedit.engine import check_min_size, colour_result

        img = read_image(job.source, max_pixels=self.cfg.max_pixels or DEFAULT_MAX_PIXELS)
        check_min_size(self.spec, img.pixels.shape[0], img.pixels.shape[1], job.source)
        if img.gray and colour_result(self.spec, self.opts):
            img = dataclasses.replace(img, gray=False)  # a colour result of a gray photo stays colour
        return img

    def run_images(self, jobs: list[Job], progress: _Progress) -> None:
        from imgedit.engine import from_tensor, to_tensor
        from imgedit.io.images import write_image

        task = progress.task(self.progress_label, len(jobs), self.unit)
        pending: list[tuple[Job, Any, float]] = []

        def flush() -> None:
            if not pending:
                return
            import torch

            batch = torch.cat([to_tensor(img.pixels) for _, img, _ in pending])
            try:
                metrics: list[dict] = [{} for _ in pending]
                extras: list[dict] = [{} for _ in pending]  # per item: extra tensors of its latent file
                if self.capability == Capability.ENCODE:
                    latents, more = self.model.encode_with_extras(batch, self.opts)
                    outs = list(latents)
                    extras = [{k: v[i] for k, v in more.items()} for i in range(len(outs))]
                    if self.spec.can(Capability.GENERATE):  # inversion: how well does it reconstruct?
                        try:
                            metrics = reconstruction_metrics(self.model, batch, latents, self.opts)
                        except KeyboardInterrupt:
                            raise
                        except Exception as exc:  # noqa: BLE001 - the latents are fine without them
                            metrics = [{"warning": f"reconstruction quality not measured: {_fail_reason(exc)}"}
                                       for _ in pending]
                else:
                    outs = list(self.model.edit(batch, self.opts))
                model_notes = self.model.take_notes(len(pending))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - model failure: retry one by one if batched
                if len(pending) > 1:
                    items = list(pending)
                    pending.clear()
                    for it in items:
                        pending.append(it)
                        flush()
                    return
                self._failed(pending[0][0], exc, pending[0][2])
                pending.clear()
                task.advance()
                return
            for (job, img, t0), out, metric, extra, said in zip(pending, outs, metrics, extras, model_notes):
                notes = img.warnings + ([metric.pop("warning")] if "warning" in metric else []) + said
                try:
                    if self.capability == Capability.ENCODE:
                        from imgedit.latent import save_latent, weights_fingerprint

                        job.output.parent.mkdir(parents=True, exist_ok=True)
                        save_latent(job.output, out, model=self.spec.name, source=str(job.source),
                                    weights_sha256=weights_fingerprint(self.spec), extras=extra)
                    else:
                        result = img.with_pixels(from_tensor(out))
                        write_image(job.output, result, format=None, quality=self.cfg.quality,
                                    mark=made_mark(job.source, self.task, self.settings(job)))
                        notes = result.warnings + said  # the reader's and writer's notes (alpha dropped...), the model's
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # noqa: BLE001
                    self._failed(job, exc, t0)
                else:
                    self.emit(ItemResult(str(job.source), str(job.output), "image", "done",
                                                  seconds=time.perf_counter() - t0,
                                                  warnings=list(notes), extra=metric))
                task.advance()
            pending.clear()

        for job in jobs:
            t0 = time.perf_counter()
            try:
                img = self._read(job)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001
                self._failed(job, exc, t0)
                task.advance()
                continue
            shape = img.pixels.shape
            if pending and (len(pending) >= max(1, self.cfg.batch_size) or pending[0][1].pixels.shape != shape):
                flush()
            pending.append((job, img, t0))
        flush()
        task.done()

    # -- sequences (video files and frames folders) -------------------------------------------
    def _frames_from_video(self, job: Job):
        from imgedit.io.video import probe_video, read_frames

        info = probe_video(job.source)
        return info.fps, info.frame_count, ((arr, t) for arr, t in read_frames(job.source))

    def _frames_from_folder(self, job: Job):
        files = list_frames(job.source)
        if not files:
            raise InputError(job.source, "no image frames in this folder")
        fps = self.cfg.frames_fps

        notes: list[str] = []
        seen: set[str] = set()

        def gen():
            size = None
            for i, f in enumerate(files):
                img = self._read(Job("image", f, f, f.name))
                lost = [w for w, yes in (("16-bit", img.bit_depth > 8), ("alpha", img.alpha is not None),
                                          ("grayscale", img.gray)) if yes and w not in seen]
                if lost:  # a sequence is written as 8-bit RGB: say so once per kind
                    seen.update(lost)
                    notes.append(f"{f.name}: {', '.join(lost)} frame(s) written as 8-bit RGB"
                                 + (" (alpha dropped)" if "alpha" in lost else ""))
                h, w = img.pixels.shape[:2]
                if size is not None and (w, h) != size:
                    raise InputError(f, f"frame size {w}x{h} differs from the first frame's {size[0]}x{size[1]}")
                size = (w, h)
                yield img.pixels, Fraction(i) / fps

        return fps, len(files), gen(), files, notes

    def run_sequence(self, job: Job, progress: _Progress) -> None:
        from imgedit.engine import check_min_size, to_tensor
        from imgedit.scenes import DEFAULT_THRESHOLD, SceneDetector

        t0 = time.perf_counter()
        names: list[Path] | None = None
        notes: list[str] = []
        try:
            if job.kind == "video":
                fps, total, source = self._frames_from_video(job)
            else:
                fps, total, source, names, notes = self._frames_from_folder(job)
            model = self.model
            out_rate = model.output_rate(fps, self.opts)
            detector = SceneDetector(self.cfg.scene_threshold if self.cfg.scene_threshold is not None
                                     else DEFAULT_THRESHOLD)
            n_in = 0

            def frames() -> Iterator[Frame]:
                nonlocal n_in
                for i, (arr, t) in enumerate(source):
                    if i == 0:
                        check_min_size(self.spec, arr.shape[0], arr.shape[1], job.source)
                    cut = detector.update(arr)
                    n_in += 1
                    task.advance()
                    pixels = arr.astype("float32") / 255.0 if arr.dtype.kind == "u" else arr
                    yield Frame(to_tensor(pixels), t, i, cut, fps)

            task = progress.task(job.rel, total, "frames")
            outputs = model.edit_sequence(frames(), self.opts, rate=fps)
            same = self.spec.sequence_output == "same" and names is not None
            n_out, codec, audio_mode = write_sequence(
                job.output, outputs, out_rate, source=job.source, task=self.task, overwrite=self.cfg.overwrite,
                audio=job.source if job.kind == "video" else None, names=names if same else None,
                settings=self.settings(job))
            task.done()
        except Exception as exc:  # noqa: BLE001
            self._failed(job, exc, t0)
            return
        extra = {"frames_in": n_in, "fps_in": float(fps), "fps_out": float(out_rate),
                 "scene_cuts": detector.cuts}
        if codec:
            extra["codec"] = codec
            extra["audio"] = audio_mode or "none"  # copy | reencode | none
        self.emit(ItemResult(str(job.source), str(job.output), job.kind, "done",
                                      seconds=time.perf_counter() - t0, frames=n_out, warnings=notes,
                                      extra=extra))

    def _failed(self, job: Job, exc: BaseException, t0: float) -> None:
        self.emit(ItemResult(str(job.source), str(job.output), job.kind, "failed",
                                      reason=_fail_reason(exc, job.source), seconds=time.perf_counter() - t0))


def reconstruction_metrics(model, images, latents, opts) -> list[dict]:
    """Per image: PSNR (dB) and perceptual distance of ``model.generate(latents)`` against the
    image, both at the generated size or at most 256 px on the long side (an inversion's quality
    numbers; the cap keeps them cheap next to the encode itself)."""
    import torch

    from imgedit.latentedit import resize
    from imgedit.metrics import psnr
    from imgedit.perceptual import perceptual_distance

    rec = model.generate(latents, options=opts).to(images.device).float()
    h, w = rec.shape[-2:]
    scale = min(1.0, 256 / max(h, w))
    size = (max(8, round(h * scale)), max(8, round(w * scale)))
    rec = resize(rec, size)
    target = resize(images.float(), size)
    with torch.inference_mode():
        perc = perceptual_distance(rec, target)
    return [{"psnr": round(float(p), 2), "perceptual": round(float(d), 4)} for p, d in zip(psnr(rec, target), perc)]


def write_sequence(output: Path, frames: Iterator[Frame], rate: Fraction, *, source: Path, task: str,
                   overwrite: bool = False, audio: Path | None = None,
                   names: list[Path] | None = None,
                   settings: dict | None = None) -> tuple[int, str | None, str | None]:
    """Write ``frames`` to ``output``: a video (by its extension; audio copied from ``audio``)
    or a PNG frames folder (``names[i].stem`` for frame index i, else ``frame_000000.png``...),
    atomically either way, marked as imgedit's (``task`` from ``source``, and the ``settings``
    that made it: :meth:`Runner.settings`). Returns (frames written, codec, audio mode)."""
    from imgedit.engine import from_tensor
    from imgedit.io.video import VIDEO_EXTENSIONS

    n_out = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() in VIDEO_EXTENSIONS:
        from imgedit.io.video import VideoWriter

        with VideoWriter(output, rate, audio_from=audio, comment=made_mark(source, task, settings)) as writer:
            for fr in frames:
                writer.write(_to_uint8(from_tensor(fr.image)), fr.time)
        return writer.frames_written, writer.codec_used, writer.audio_mode  # (AVI may drop a frame)
    from imgedit.io.images import Image, write_image

    from imgedit.io.atomic import temp_path_for

    tmp_dir = temp_path_for(output, folder=True)  # named after this process: see cleanup_stale_temps
    tmp_dir.mkdir()
    try:
        for fr in frames:
            name = names[fr.index].stem if names is not None and fr.index < len(names) else f"frame_{n_out:06d}"
            img = Image(pixels=from_tensor(fr.image), alpha=None, gray=False, bit_depth=8,
                        format="PNG", icc_profile=None, exif=None, warnings=[])
            write_image(tmp_dir / f"{name}.png", img)
            n_out += 1
        record = {**(settings or {}), "source": str(source.resolve()), "frames": n_out}
        (tmp_dir / FRAMES_MARKER).write_text(json.dumps(record, default=str) + "\n")
        _commit_dir(tmp_dir, output, overwrite)
    finally:  # an unfinished frames folder never stays behind (Ctrl-C included)
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return n_out, None, None


def _check_out(out: Path, inputs: list[Path], n_jobs: int, fmt: str) -> None:
    """Usage errors an OUT can cause before any work starts."""
    from imgedit.io.discover import output_ext, same_format

    kind = kind_of(out)
    if out.is_file() and (n_jobs > 1 or any(p.is_dir() for p in inputs)):
        raise UsageError(f"{out} is a file, but the inputs need an output folder")
    if kind == "image" and fmt not in ("same", "latent") and not same_format(out.suffix, output_ext(out, fmt)):
        raise UsageError(f"OUT {out.name} and --format {fmt} disagree: name the file "
                         f"{out.stem}{output_ext(out, fmt)} or drop --format")
    if out.is_file() and kind is None:
        raise UsageError(f"{out} is an existing file, not an image, video or folder: choose another OUT")
    if not out.exists() and kind is not None and n_jobs > 1:
        raise UsageError(f"OUT {out} is a file name, but there are {n_jobs} outputs: name a folder")


def _canonical(value):
    """``value`` as it reads back from a mark's JSON (tuples as lists; a tensor or PIL image from
    the Python API as ``<Tensor>``), so recorded and current settings compare equal."""
    from imgedit.io.discover import _unjsonable

    return json.loads(json.dumps(value, sort_keys=True, default=_unjsonable))


#: Why an existing output is skipped when nothing says it was made differently.
SKIP_EXISTS = "output exists (use --overwrite to replace it)"
_FLAGS = {"scene_threshold": "--scene-threshold", "frames_fps": "--frames-fps"}


def _show(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(_show, value))
    return str(value)


def skip_reason(old: dict | None, now: dict, job: Job, spec) -> str:
    """Why ``job`` is skipped: :data:`SKIP_EXISTS` when the existing output records the same
    settings (or none: not imgedit's, or older than the record), else what made it and what this
    run would use (``output exists, made by classic.blend with fps=60 (this run: interp.gru with
    fps=60); use --overwrite to replace it``)."""
    if not old:
        return SKIP_EXISTS
    tail = "; use --overwrite to replace it"
    source, name = old.get("source"), job.source.resolve().name  # (`.` for a frames folder)
    if isinstance(source, str) and source != name:
        return f"output exists, made from {source} (this run: {name}){tail}"
    old_opts, now_opts = old.get("options") or {}, now.get("options") or {}
    if old.get("model") != now["model"]:
        def by(model, opts):
            shown = ", ".join(f"{k}={_show(v)}" for k, v in sorted(opts.items()))
            return f"{model} with {shown}" if shown else str(model)
        return f"output exists, made by {by(old.get('model'), old_opts)} (this run: {by(now['model'], now_opts)}){tail}"
    defaults = {o.name: o.default for o in spec.options}
    was, will = [], []
    for k in sorted(set(old_opts) | set(now_opts)):
        a, b = old_opts.get(k, defaults.get(k)), now_opts.get(k, defaults.get(k))
        if _canonical(a) != _canonical(b):
            was.append(f"{k}={_show(a) if a is not None else 'unset'}")
            will.append(f"{k}={_show(b) if b is not None else 'unset'}")
    for k, flag in _FLAGS.items():
        a, b = old.get(k), now.get(k)
        if a != b:
            from imgedit.scenes import DEFAULT_THRESHOLD

            default = DEFAULT_THRESHOLD if k == "scene_threshold" else float(DEFAULT_FRAMES_FPS)
            was.append(f"{flag} {_show(default if a is None else a)}")
            will.append(f"{flag} {_show(default if b is None else b)}")
    if not was:
        return SKIP_EXISTS
    return f"output exists, made with {', '.join(was)} (this run: {', '.join(will)}){tail}"


def rate_suffix(options: Mapping[str, Any]) -> str:
    """The name suffix of an interpolated output, from the model's resolved options: ``.60fps``
    (``fps``), else ``.3x`` (``factor``, however given: ``--factor 3`` or ``-o factor=3``)."""
    fps, factor = options.get("fps"), options.get("factor")
    if fps:
        return f".{float(fps):g}fps"
    if factor:
        return f".{factor}x"
    return ".interpolated"  # a model that picks its own rate


def _to_uint8(pixels):
    import numpy as np

    return (np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)


#: Age after which a leftover ``.*.imgedit-tmp-*`` temp that does not name its process (an older
#: imgedit's, another host's) in an output folder is deleted by a run; temps of a process that is
#: gone are deleted at once, those of a live process never.
STALE_TEMP_SECONDS = 86400.0


def _remove_dead_temps(folders) -> None:
    """Before writing into ``folders``: remove the temps a killed run left there (see
    :data:`STALE_TEMP_SECONDS` and :func:`imgedit.io.atomic.cleanup_stale_temps`)."""
    from imgedit.io.atomic import cleanup_stale_temps

    for folder in folders:
        cleanup_stale_temps(folder, min_age=STALE_TEMP_SECONDS)


def process(inputs, output, *, model: str | None = None, task: str | None = None,
            capability: Capability | str = Capability.EDIT, options: Mapping[str, Any] | None = None,
            config: RunConfig | None = None, on_result: Callable[[ItemResult], None] | None = None,
            **config_kw) -> Summary:
    """Run a model over files exactly as the CLI does; returns the per-item results.

    ``inputs``: a path or a list of paths (images, videos, folders); ``output``: folder (or file
    for a single input), or None to write each output beside its input (``output_suffix`` keeps
    them apart). ``model`` names the model, or ``task`` picks the best model for a task
    verb (``"stylize"``, ``"interpolate"``). Keywords that are :class:`RunConfig` fields configure
    the run (``overwrite=True``, ``recursive=True``); any other keyword is a model option
    (``saturation=1.4``), as are the entries of ``options`` (raw strings or values).
    """
    from imgedit.registry import get_registry

    started = time.perf_counter()
    cfg = config or RunConfig()
    options = dict(options or {})
    for k, v in config_kw.items():
        if hasattr(cfg, k):
            setattr(cfg, k, v)
        else:
            options[k] = v
    capability = Capability(capability)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise UsageError("no inputs given")
    spec = get_registry().resolve(task, model, capability)
    if capability == Capability.ENCODE and not spec.can(Capability.ENCODE):
        raise UsageError(f"model {spec.name} cannot encode")
    if capability == Capability.EDIT and not (spec.can(Capability.EDIT) or spec.can(Capability.EDIT_SEQUENCE)):
        raise UsageError(f"model {spec.name} cannot edit (it can: "
                         f"{', '.join(c.value for c in spec.capabilities)})")
    resolved = spec.resolve_options(dict(options or {}))  # validate before touching any file
    if (capability == Capability.EDIT and any(o.type == "direction" for o in spec.options)
            and not resolved.get("direction") and resolved.get("residual", True)):
        raise UsageError(f"model {spec.name} edits along directions: give --direction NAME:S (see "
                         f"`imgedit models {spec.name}`), or -o residual=false for its reconstruction of each image")
    if cfg.fmt not in ("png", "jpg", "webp", "tiff", "same"):
        raise UsageError(f"--format {cfg.fmt!r}: choose png, jpg, webp, tiff or same")
    if not 1 <= cfg.quality <= 100:
        raise UsageError("--quality must be between 1 and 100")
    if cfg.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if cfg.frames_out and output is not None and kind_of(Path(output)) == "video" and not Path(output).is_dir():
        out_path = Path(output)
        raise UsageError(f"--frames-out writes PNG frames into a folder, but OUT {out_path.name} is a video name",
                         hint=f"name a folder ({out_path.with_suffix('').name}/) or drop --frames-out")

    encoding = capability == Capability.ENCODE
    suffix = cfg.output_suffix or (rate_suffix(resolved) if task == "interpolate" else "")
    jobs = plan(inputs, None if output is None else Path(output), recursive=cfg.recursive, include=cfg.include, exclude=cfg.exclude,
                fmt="latent" if encoding else cfg.fmt, frames_mode=cfg.frames_mode, frames_out=cfg.frames_out,
                output_suffix=suffix)
    if output is not None:
        _check_out(Path(output), inputs, len(jobs), cfg.fmt)
    sequence_only = capability == Capability.EDIT and not spec.can(Capability.EDIT)
    for j in jobs:
        if j.error is not None:
            continue
        if encoding and j.kind != "image":
            j.error = "encode works on images only"
        elif sequence_only and j.kind == "image":
            j.error = (f"model {spec.name} works on videos and frame sequences only "
                       "(use --frames to treat a folder of frames as one sequence)")
    runner = Runner(capability=capability, spec=spec, options=options or {}, config=cfg, task=task)
    if not jobs:
        raise UsageError("no images or videos found in the inputs",
                         hint="use --recursive for sub-folders, or check --include/--exclude")
    return run_pipeline(runner, jobs, on_result, started)


def _split_config(config: RunConfig | None, config_kw: Mapping[str, Any], options: Mapping[str, Any] | None,
                  **defaults) -> tuple[RunConfig, dict[str, Any]]:
    """The Python API's keywords: :class:`RunConfig` fields configure the run, any other keyword is
    a model option (checked by the model's options like every option: a typo is an error)."""
    cfg = config or RunConfig(**defaults)
    opts = dict(options or {})
    for k, v in config_kw.items():
        if k in RunConfig.__dataclass_fields__:
            setattr(cfg, k, v)
        else:
            opts[k] = v
    return cfg, opts


class GenerateVerb(ModelVerb):
    """``imgedit generate``: one job per sample (a seed, or a latent file to decode)."""

    progress_label = "generate"

    def __init__(self, *, spec, options, config: RunConfig, save_latents: bool):
        super().__init__(spec=spec, options=options, config=config)
        self.save_latents = save_latents

    def label(self, job: Job) -> str:
        return job.rel

    @staticmethod
    def latent_path(dest: Path) -> Path:
        from imgedit.latent import LATENT_SUFFIX

        return dest.with_name(dest.stem + LATENT_SUFFIX)

    def skip(self, job: Job) -> ItemResult | None:
        # (a rerun with --save-latents adds the latents of existing samples)
        latent_file = job.data.get("latent")
        done = job.output.exists() and (not self.save_latents or latent_file is not None
                                        or self.latent_path(job.output).exists())
        return self.result(job, "skipped", SKIP_EXISTS) if done else None

    def execute(self, jobs: list[Job], emit: Callable[[ItemResult], None], progress) -> None:
        import torch

        from imgedit.engine import from_tensor
        from imgedit.io.images import Image, write_image
        from imgedit.latent import load_latent, save_latent, weights_fingerprint

        loaded, spec, cfg = self.model, self.spec, self.cfg
        blank = Image(pixels=None, alpha=None, gray=False, bit_depth=8, format="PNG", icc_profile=None,
                      exif=None, warnings=[])
        task = progress.task(self.progress_label, len(jobs), self.unit)
        for start in range(0, len(jobs), cfg.batch_size):
            chunk = jobs[start:start + cfg.batch_size]
            t0 = time.perf_counter()
            zs, ok = [], []
            for job in chunk:
                try:
                    if job.data.get("latent") is not None:
                        z, _ = load_latent(job.data["latent"], model=spec.name, weights_sha256=weights_fingerprint(spec))
                    else:
                        z = loaded.sample_latents(1, job.data["seed"], self.opts)[0]
                except Exception as exc:  # noqa: BLE001
                    emit(self.result(job, "failed", _fail_reason(exc)))
                    task.advance()
                    continue
                zs.append(z)
                ok.append(job)
            if not ok:
                continue
            try:
                images = loaded.generate(torch.stack(zs), options=self.opts)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001
                for job in ok:
                    emit(self.result(job, "failed", _fail_reason(exc)))
                    task.advance()
                continue
            for job, img, z in zip(ok, images, zs):
                dest = job.output
                try:
                    if cfg.overwrite or not dest.exists():
                        write_image(dest, blank.with_pixels(from_tensor(img)), quality=cfg.quality)
                    if (self.save_latents and job.data.get("latent") is None
                            and (cfg.overwrite or not self.latent_path(dest).exists())):
                        save_latent(self.latent_path(dest), z, model=spec.name,
                                    source=f"seed {job.data['seed']}", weights_sha256=weights_fingerprint(spec))
                except Exception as exc:  # noqa: BLE001
                    emit(self.result(job, "failed", _fail_reason(exc)))
                else:
                    emit(self.result(job, "done", seconds=(time.perf_counter() - t0) / len(ok)))
                task.advance()
        task.done()


def generate(output, *, model: str, count: int = 4, seed: int = 0, latents=None, save_latents: bool = False,
             options: Mapping[str, Any] | None = None, config: RunConfig | None = None,
             on_result: Callable[[ItemResult], None] | None = None, **config_kw) -> Summary:
    """Write generated images to folder ``output``: ``count`` images from seeds ``seed..`` (named
    ``seed000042.png``), or one image per latent file in ``latents`` (files or folders, named after
    the latent file; a folder's sub-folders are kept: ``a/x`` and ``b/x`` do not collide).
    ``save_latents`` writes each sample's latent beside it (``seed000042.latent.safetensors``).
    Same skip/overwrite/atomic/keep-going rules as :func:`process`."""
    from imgedit.latent import LATENT_SUFFIX

    started = time.perf_counter()
    cfg, options = _split_config(config, config_kw, options, fmt="png")
    spec = _model_that_can(model, Capability.GENERATE)
    spec.resolve_options(dict(options))
    ext = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tiff": ".tif", "same": ".png"}.get(cfg.fmt)
    if ext is None:
        raise UsageError(f"--format {cfg.fmt!r}: choose png, jpg, webp or tiff")
    if cfg.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    out_dir = Path(output)
    jobs: list[Job] = []
    if latents:
        files: list[tuple[Path, Path]] = []  # (file, its path relative to the output folder)
        for p in map(Path, latents):
            if p.is_dir():
                files.extend((f, f.relative_to(p)) for f in sorted(p.rglob("*" + LATENT_SUFFIX)))
            else:
                files.append((p, Path(p.name)))
        if not files:
            raise UsageError("no latent files (*.latent.safetensors) found in --latents")
        for f, rel in files:
            stem = rel.name[: -len(LATENT_SUFFIX)] if rel.name.endswith(LATENT_SUFFIX) else rel.stem
            jobs.append(Job("generate", f, out_dir / rel.parent / (stem + ext), str(f), data={"latent": f}))
    else:
        for i in range(count):
            jobs.append(Job("generate", out_dir, out_dir / f"seed{seed + i:06d}{ext}", f"seed {seed + i}",
                            data={"seed": seed + i}))
    claimed: dict[Path, str] = {}  # output -> the item writing it: two latents never share one name
    kept: list[Job] = []
    for job in jobs:
        key = job.output.resolve()
        if key in claimed:
            if claimed[key] != job.rel:
                job.error = f"same output as {claimed[key]} (rename one of the latent files)"
                kept.append(job)
            continue
        claimed[key] = job.rel
        kept.append(job)
    verb = GenerateVerb(spec=spec, options=options, config=cfg, save_latents=save_latents)
    return run_pipeline(verb, kept, on_result, started)


# --------------------------------------------------------------------------------------------
# latent verbs: morph and directions (any model that encodes and generates)
def _model_that_can(model: str, *caps: Capability):
    """The spec of ``model``; a UsageError when it lacks one of ``caps``."""
    from imgedit.registry import get_registry

    spec = get_registry().get(model)
    missing = [c.value for c in caps if not spec.can(c)]
    if missing:
        raise UsageError(f"model {spec.name} cannot {' and '.join(missing)} (it can: "
                         f"{', '.join(c.value for c in spec.capabilities)})")
    return spec


def _read_images(paths: list[Path], cfg: RunConfig, on_bad: Callable[[Path, str], None]):
    """(path, (1,3,H,W) tensor) for the images in ``paths`` (files or folders, sorted); an
    unreadable file is reported through ``on_bad`` and left out."""
    from imgedit.engine import to_tensor
    from imgedit.io.discover import walk_files
    from imgedit.io.images import DEFAULT_MAX_PIXELS, read_image

    files: list[Path] = []
    for p in paths:
        if p.is_dir():  # the same traversal as every verb's plan (hidden folders left out)
            files.extend(sorted(f for f in walk_files(p, cfg.recursive) if kind_of(f) == "image"))
        elif p.exists():
            files.append(p)
        else:
            on_bad(p, "no such file or folder")
    for f in files:
        try:
            img = read_image(f, max_pixels=cfg.max_pixels or DEFAULT_MAX_PIXELS)
        except ImgeditError as exc:
            on_bad(f, _fail_reason(exc, f))
            continue
        yield f, to_tensor(img.pixels)


class MorphVerb(ModelVerb):
    """``imgedit morph``: one job, the whole path A -> B -> C... written as one video or folder."""

    progress_label, unit = "morph", "jobs"

    def __init__(self, *, spec, options, config: RunConfig, inputs: list[Path], count: int, lerp: bool,
                 fps: float, size: int | None):
        super().__init__(spec=spec, options=options, config=config, task="morph")
        self.inputs, self.count, self.lerp, self.fps, self.size = inputs, count, lerp, fps, size

    @property
    def n_frames(self) -> int:
        return self.count * (len(self.inputs) - 1) + 1

    def label(self, job: Job) -> str:
        return job.rel

    def planned(self, job: Job) -> ItemResult:
        return self.result(job, "planned", frames=self.n_frames)

    def execute(self, jobs: list[Job], emit: Callable[[ItemResult], None], progress) -> None:
        for job in jobs:
            t0 = time.perf_counter()
            try:
                n, codec, legs, rate = self._morph(job, progress)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001
                emit(self.result(job, "failed", _fail_reason(exc)))
            else:
                extra = {"codec": codec} if codec else {}
                emit(self.result(job, "done", seconds=time.perf_counter() - t0, frames=n,
                                 extra={**extra, "fps_out": float(rate), "legs": legs}))

    def _morph(self, job: Job, progress):
        from imgedit.api import Frame
        from imgedit.latent import lerp as lerp_fn
        from imgedit.latent import slerp
        from imgedit.latentedit import resize

        bad: list[str] = []
        images = list(_read_images(self.inputs, self.cfg, lambda f, why: bad.append(f"{f}: {why}")))
        if bad:
            raise InputError(self.inputs[0], "; ".join(bad))
        loaded, opts = self.model, self.opts
        rate = Fraction(self.fps).limit_denominator(1001)
        task = progress.task("morph", self.n_frames, "frames")
        zs = [loaded.encode(img, opts)[0] for _, img in images]
        mix = lerp_fn if self.lerp else slerp
        count, size = self.count, self.size

        def frames() -> Iterator[Frame]:
            i = 0
            for leg in range(len(zs) - 1):
                for k in range(count + (leg == len(zs) - 2)):
                    z = mix(zs[leg][None], zs[leg + 1][None], k / count)
                    img = loaded.generate(z, options=opts)
                    if size:
                        h, w = img.shape[-2:]
                        s = size / max(h, w)
                        img = resize(img, (max(1, round(h * s)), max(1, round(w * s))))
                    task.advance()
                    yield Frame(img, Fraction(i) / rate, i, i == 0, rate)
                    i += 1

        n, codec, _ = write_sequence(job.output, frames(), rate, source=self.inputs[0],
                                     task=f"morph {self.spec.name}", overwrite=self.cfg.overwrite)
        task.done()
        return n, codec, len(zs) - 1, rate


def morph(inputs, output, *, model: str, count: int = 8, lerp: bool = False, fps: float = 25.0,
          size: int | None = None, options: Mapping[str, Any] | None = None, config: RunConfig | None = None,
          on_result: Callable[[ItemResult], None] | None = None, **config_kw) -> Summary:
    """Encode images A, B[, C...] and write the path through their latents, A -> B -> C: slerp
    (or ``lerp``), ``count`` frames per leg plus the last image, as a video (``OUT.mp4``) or a
    frames folder. The first and last frames are the inputs' reconstructions."""
    started = time.perf_counter()
    cfg, options = _split_config(config, config_kw, options)
    inputs = [Path(p) for p in inputs]
    output = Path(output)
    if len(inputs) < 2:
        raise UsageError("`imgedit morph` needs at least two images and an output: A B [C...] OUT")
    if count < 1:
        raise UsageError("--count must be at least 1")
    if kind_of(output) == "image":
        raise UsageError(f"OUT {output.name} is an image name: name a video (morph.mp4) or a folder for the frames")
    spec = _model_that_can(model, Capability.ENCODE, Capability.GENERATE)
    spec.resolve_options(dict(options))
    for p in inputs:
        if p.resolve() == output.resolve():
            raise UsageError(f"OUT {output} is one of the inputs")
        if not p.is_file():
            raise UsageError(f"{p}: no such image file")
    verb = MorphVerb(spec=spec, options=options, config=cfg, inputs=inputs, count=count, lerp=lerp, fps=fps,
                     size=size)
    job = Job("morph", inputs[0], output, " -> ".join(str(p) for p in inputs))
    return run_pipeline(verb, [job], on_result, started)


class DirectionsVerb(ModelVerb):
    """``imgedit directions``: one job, from labelled folders (mean difference or classifier normal
    of their latents) or K PCA directions of sampled latents; its result's ``files`` lists what
    was written and ``unreadable`` the images left out."""

    progress_label, unit = "directions", "jobs"

    def __init__(self, *, spec, options, config: RunConfig, positive, negative, method: str, pca: int,
                 samples: int, seed: int, paths: list[Path]):
        super().__init__(spec=spec, options=options, config=config, task="directions")
        self.positive, self.negative, self.method = positive, negative, method
        self.pca, self.samples, self.seed, self.paths = pca, samples, seed, paths

    def label(self, job: Job) -> str:
        return job.rel

    def skip(self, job: Job) -> ItemResult | None:
        existing = [p for p in self.paths if p.exists()]
        return self.result(job, "skipped", f"{existing[0]} exists (use --overwrite to replace it)") if existing else None

    def output_folders(self, jobs: list[Job]) -> set[Path]:
        return {p.parent for p in self.paths}

    def execute(self, jobs: list[Job], emit: Callable[[ItemResult], None], progress) -> None:
        for job in jobs:
            t0 = time.perf_counter()
            bad: list[str] = []
            try:
                records = self._make(job, bad)
            except KeyboardInterrupt:
                raise
            except UsageError as exc:
                emit(self.result(job, "failed", str(exc), extra={"unreadable": bad}))
            except Exception as exc:  # noqa: BLE001
                emit(self.result(job, "failed", _fail_reason(exc), extra={"unreadable": bad}))
            else:
                emit(self.result(job, "done", seconds=time.perf_counter() - t0,
                                 extra={"files": records, "unreadable": bad}))

    def _make(self, job: Job, bad: list[str]) -> list[dict]:
        import torch

        from imgedit.directions import METHODS, pca_directions
        from imgedit.latent import save_direction, weights_fingerprint

        loaded, opts, spec = self.model, self.opts, self.spec
        sha = weights_fingerprint(spec)
        records = []
        if self.pca:
            g = torch.Generator().manual_seed(self.seed)
            z = torch.cat([loaded.model.sample_latents(1, g, **opts) for _ in range(self.samples)])
            dirs = pca_directions(lambda zz: loaded.generate(zz, options=opts), z, self.pca)
            for k, (p, d) in enumerate(zip(self.paths, dirs)):
                save_direction(p, d, model=spec.name, weights_sha256=sha,
                               source=f"pca component {k} of {self.samples} samples", method="pca")
                records.append({"output": str(p), "status": "done", "method": "pca", "component": k,
                                "norm": round(float(d.norm()), 4)})
            return records

        def encode_all(folders) -> torch.Tensor:
            zs = [loaded.encode(img, opts) for _, img in
                  _read_images([Path(f) for f in folders], self.cfg, lambda f, why: bad.append(f"{f}: {why}"))]
            if not zs:
                raise UsageError(f"no readable images in {', '.join(map(str, folders))}")
            return torch.cat(zs)

        pos, neg = encode_all(self.positive), encode_all(self.negative)
        d = METHODS[self.method](pos, neg)
        u = d.flatten() / d.norm().clamp_min(1e-12)
        pp, pn = pos.flatten(1) @ u, neg.flatten(1) @ u
        mid = (pp.mean() + pn.mean()) / 2
        separation = float(((pp > mid).float().sum() + (pn <= mid).float().sum()) / (len(pp) + len(pn)))
        out = self.paths[0]
        save_direction(out, d, model=spec.name, weights_sha256=sha, method=self.method,
                       source=f"{self.method}: +{','.join(map(str, self.positive))} -{','.join(map(str, self.negative))}")
        records.append({"output": str(out), "status": "done", "method": self.method, "positive": len(pos),
                        "negative": len(neg), "norm": round(float(d.norm()), 4), "separation": round(separation, 4)})
        return records


def make_directions(output, *, model: str, positive=None, negative=None, method: str = "mean", pca: int = 0,
                    samples: int = 2000, seed: int = 0, options: Mapping[str, Any] | None = None,
                    config: RunConfig | None = None, on_result: Callable[[ItemResult], None] | None = None,
                    **config_kw) -> Summary:
    """``imgedit directions``: a direction file from labelled folders (``positive``/``negative``
    images, encoded; ``method`` mean or classifier), or with ``pca=K`` K unsupervised directions
    from ``samples`` random latents into the folder ``output`` (``pc0.direction.safetensors``...).
    One job: its done result's ``extra["files"]`` has one record per file written, and
    ``extra["unreadable"]`` the images that could not be read (left out)."""
    from imgedit.directions import METHODS
    from imgedit.latent import DIRECTION_SUFFIX

    started = time.perf_counter()
    cfg, options = _split_config(config, config_kw, options)
    output = Path(output)
    spec = _model_that_can(model, Capability.GENERATE, *(() if pca else (Capability.ENCODE,)))
    spec.resolve_options(dict(options))
    if method not in METHODS:
        raise UsageError(f"--method {method!r}: choose {' or '.join(METHODS)}")
    if pca:
        if positive or negative:
            raise UsageError("give --pca K or --positive/--negative, not both")
        if samples < pca + 2:  # centred samples span at most samples - 1 components
            raise UsageError(f"--pca {pca} needs at least {pca + 2} --samples (the default 2000 is a good start)")
        paths = [output / f"pc{k}{DIRECTION_SUFFIX}" for k in range(pca)]
        if output.exists() and not output.is_dir():
            raise UsageError(f"with --pca OUT must be a folder; {output} is a file")
        label = f"pca {pca} of {samples} samples"
    else:
        if not positive or not negative:
            raise UsageError("give --positive DIR and --negative DIR (images with and without the attribute), or --pca K")
        if not output.name.endswith(DIRECTION_SUFFIX):
            output = output.with_name(output.name + DIRECTION_SUFFIX) if not output.suffix else output
            if not output.name.endswith(DIRECTION_SUFFIX):
                raise UsageError(f"OUT must end in {DIRECTION_SUFFIX} (e.g. bold{DIRECTION_SUFFIX})")
        paths = [output]
        label = f"+{','.join(map(str, positive))} -{','.join(map(str, negative))}"
    verb = DirectionsVerb(spec=spec, options=options, config=cfg, positive=positive, negative=negative,
                          method=method, pca=pca, samples=samples, seed=seed, paths=paths)
    return run_pipeline(verb, [Job("directions", output, output, label)], on_result, started)
