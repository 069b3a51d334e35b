"""The ``imgedit`` command line: a thin Typer layer over :mod:`imgedit.runner`.

Nothing heavy is imported at module level: ``imgedit --help`` loads neither torch, cv2 nor any
plugin. Errors print one line on stderr (``IMGEDIT_DEBUG=1`` or ``--debug`` adds the traceback);
results go to stdout (``--json``: one JSON record per item, then a summary record).
Exit codes: 0 ok, 1 something failed, 2 usage error, 130 interrupted.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, List, Optional

import click
import typer
from typing_extensions import Annotated

from imgedit import __version__
from imgedit.errors import ImgeditError, UsageError, debug_enabled

app = typer.Typer(
    name="imgedit", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Batch image and video editing with model plugins: stylize, interpolate, edit, encode, generate.\n\n"
         "Inputs are files, folders or videos; outputs mirror them under OUT. Inputs are never "
         "modified, outputs are written atomically and skipped if they exist (--overwrite).",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# ---- flags shared by the verbs that run a model: declared once, reaching each verb as one Run ----
Opt = Annotated[Optional[List[str]], typer.Option("--option", "-o", metavar="KEY=VALUE",
                                                  help="Model option (repeatable); see `imgedit models NAME`.")]
Model = Annotated[Optional[str], typer.Option("--model", "-m", help="Model name (see `imgedit models`).")]
Direction = Annotated[Optional[List[str]], typer.Option("--direction", "-d", metavar="NAME:S",
                      help="Latent models: move along a shipped direction or a .direction.safetensors file "
                           "with signed strength S (repeatable).")]
Mask = Annotated[Optional[Path], typer.Option("--mask", metavar="IMAGE",
                 help="Latent models: edit only where the mask is white (black = keep the original).")]
Count = Annotated[int, typer.Option("--count", "-c", min=1, help="How many (images to sample; morph: frames per leg).")]

#: name -> (group, annotation, default, RunConfig field or None for the Run itself)
SHARED: dict[str, tuple[str, Any, Any, Optional[str]]] = {
    "overwrite": ("run", Annotated[bool, typer.Option("--overwrite", help="Replace outputs that already exist.")], False, "overwrite"),
    "dry_run": ("run", Annotated[bool, typer.Option("--dry-run", "-n", help="List what would be done; write nothing.")], False, "dry_run"),
    "json_": ("run", Annotated[bool, typer.Option("--json", help="One JSON record per item and a summary on stdout.")], False, None),
    "verbose": ("run", Annotated[bool, typer.Option("--verbose", "-v", help="Print a line for every finished item.")], False, None),
    "device": ("run", Annotated[str, typer.Option("--device", help="auto|cpu|cuda|mps")], "auto", "device"),
    "precision": ("run", Annotated[str, typer.Option("--precision", help="auto|fp32|bf16|fp16 (auto: bf16 on capable CPUs, fp16 on CUDA)")], "auto", "precision"),
    "engine": ("run", Annotated[str, typer.Option("--engine", click_type=click.Choice(["local", "ray"]),
               help="local: this process; ray: the actors of a Ray cluster (pip install 'imgedit[ray]').")], "local", "engine"),
    "ray_address": ("run", Annotated[Optional[str], typer.Option("--ray-address", metavar="local|auto|HOST:PORT",
                    help="--engine ray: `local` starts a private instance here; `auto` or HOST:PORT joins a "
                         "cluster (default: $RAY_ADDRESS, else local).")], None, "ray_address"),
    "workers": ("run", Annotated[Optional[int], typer.Option("--workers", min=1, help="--engine ray: actors "
                "(default: as many as the cluster's CPUs allow).")], None, "workers"),
    "cpus_per_worker": ("run", Annotated[float, typer.Option("--cpus-per-worker", min=0.01, help="--engine ray: CPUs "
                        "per actor (torch threads).")], 1.0, "cpus_per_worker"),
    "gpus_per_worker": ("run", Annotated[float, typer.Option("--gpus-per-worker", min=0.0, help="--engine ray: GPUs per actor.")], 0.0, "gpus_per_worker"),
    "recursive": ("files", Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")], False, "recursive"),
    "include": ("files", Annotated[Optional[List[str]], typer.Option("--include", metavar="GLOB", help="Only files matching (repeatable).")], None, "include"),
    "exclude": ("files", Annotated[Optional[List[str]], typer.Option("--exclude", metavar="GLOB", help="Skip files matching (repeatable).")], None, "exclude"),
    "format": ("format", Annotated[str, typer.Option("--format", "-f", help="Output image format: png|jpg|webp|tiff|same.")], "same", "fmt"),
    "quality": ("format", Annotated[int, typer.Option("--quality", "-q", min=1, max=100, help="JPEG/WebP quality.")], 95, "quality"),
    "batch_size": ("batch", Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Images per forward pass (same-size images).")], 1, "batch_size"),
    "max_pixels": ("pixels", Annotated[int, typer.Option("--max-pixels", help="Refuse images larger than this (decompression-bomb guard).")], 100_000_000, "max_pixels"),
    "tile_pixels": ("pixels", Annotated[Optional[int], typer.Option("--tile-pixels", help="Models tile images larger than this many pixels.")], None, "tile_pixels"),
    "frames": ("frames", Annotated[bool, typer.Option("--frames", help="Treat input folders as frame sequences (video-like).")], False, "frames_mode"),
    "frames_out": ("video", Annotated[bool, typer.Option("--frames-out", help="Write videos as PNG-sequence folders.")], False, "frames_out"),
    "frames_fps": ("video", Annotated[float, typer.Option("--frames-fps", help="Frame rate of input frame folders.")], 25.0, "frames_fps"),
    "scene_threshold": ("video", Annotated[Optional[float], typer.Option("--scene-threshold", min=0.0, max=1.0, help="Scene-cut score threshold in [0,1] (0 disables).")], None, "scene_threshold"),
}

Json = SHARED["json_"][1]


@dataclasses.dataclass
class Run:
    """What the shared flags say: the run's :class:`~imgedit.runner.RunConfig` and how to report."""

    config: Any
    json: bool
    verbose: bool


def shared_flags(*groups: str, **defaults):
    """Give a verb the shared flags of ``groups`` ("run" always): they are appended to its
    signature (Typer reads that) and arrive as one ``run: Run`` keyword. ``defaults`` changes a
    flag's default for this verb (``batch_size=8``)."""
    groups = ("run", *groups)

    def deco(fn):
        sig = inspect.signature(fn, eval_str=True)
        names = [n for n, (g, *_rest) in SHARED.items() if g in groups]
        params = [p for p in sig.parameters.values() if p.name != "run"]
        params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=SHARED[n][1],
                                     default=defaults.get(n, SHARED[n][2])) for n in names]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            fields = {SHARED[n][3]: kwargs.pop(n) for n in names if SHARED[n][3]}
            as_json, verbose = kwargs.pop("json_"), kwargs.pop("verbose")
            config = _config(**fields, progress=not as_json)
            return fn(*args, run=Run(config, as_json, verbose), **kwargs)

        wrapper.__signature__ = sig.replace(parameters=params)
        wrapper.__annotations__ = {**{p.name: p.annotation for p in params}}
        return wrapper
    return deco


def _version(value: bool) -> None:
    if value:
        typer.echo(f"imgedit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False,
          debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (same as IMGEDIT_DEBUG=1).")] = False) -> None:
    if debug:
        os.environ["IMGEDIT_DEBUG"] = "1"


def _err(message: str) -> None:
    typer.echo(f"imgedit: {message}", err=True)


def _guard(fn):
    """Map imgedit's errors to one line + exit code, Ctrl-C to 130, anything else to a short
    'internal error' line (tracebacks only with IMGEDIT_DEBUG=1 / --debug)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _stop_on_term()
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ImgeditError as exc:
            if debug_enabled():
                traceback.print_exc()
            _err(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _err("interrupted (rerun the same command to resume)")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # `imgedit models | head`: the reader left; stop quietly, as cat does
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(141) from None
        except Exception as exc:  # noqa: BLE001
            if debug_enabled():
                traceback.print_exc()
            _err(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())} "
                 "(run with IMGEDIT_DEBUG=1 for the traceback, and please report it)")
            raise typer.Exit(1) from None
    return wrapper


def command(*args, **kwargs):
    """``app.command`` with :func:`_guard` applied."""
    def deco(fn):
        return app.command(*args, **kwargs)(_guard(fn))
    return deco


def parse_kv(items: Optional[List[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-o {item!r}: expected KEY=VALUE")
        key = key.strip().replace("-", "_")
        if key in out:  # repeated keys build a list (for options that take several values)
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def _split_out(paths: List[Path], verb: str) -> tuple[list[Path], Path]:
    """``IN... OUT``. An existing image or video as OUT must be an imgedit output: `imgedit stylize
    *.jpg` with two photos and no OUT would otherwise overwrite the second photo."""
    from imgedit.io.discover import UNMARKED_EXTENSIONS, kind_of, made_by_imgedit

    if len(paths) < 2:
        raise UsageError(f"`imgedit {verb}` needs at least one input and an output: IN... OUT")
    out = paths[-1]
    if (out.is_file() and kind_of(out) is not None and out.suffix.lower() not in UNMARKED_EXTENSIONS
            and not made_by_imgedit(out)):
        raise UsageError(f"OUT {out} is an existing file imgedit did not write: not replacing one of your files",
                         hint="name a new file or a folder as the last argument (or delete that file first)")
    return list(paths[:-1]), out


def _config(**kw):
    from fractions import Fraction

    from imgedit.runner import RunConfig

    if "frames_fps" in kw:
        if kw["frames_fps"] <= 0:
            raise UsageError("--frames-fps must be positive")
        kw["frames_fps"] = Fraction(kw["frames_fps"]).limit_denominator(1001)
    kw["include"] = tuple(kw.get("include") or ())
    kw["exclude"] = tuple(kw.get("exclude") or ())
    return RunConfig(**kw)


def _reporter(as_json: bool, verbose: bool, dry_run: bool):
    def on_result(r) -> None:
        if as_json:
            typer.echo(json.dumps(r.as_dict(), ensure_ascii=False))
            if r.status == "failed":
                _err(f"{r.input}: {r.reason}")
            return
        if r.status == "failed":
            _err(f"failed: {r.input}: {r.reason}")
        elif r.status == "skipped":
            _err(f"skipped: {r.output} ({r.reason})")
        elif r.status == "planned":
            typer.echo(f"would write {r.output}  <-  {r.input}")
        elif verbose:
            extra = f" ({r.frames} frames)" if r.frames is not None else ""
            if "psnr" in r.extra:
                extra += f" (reconstruction {r.extra['psnr']:.2f} dB PSNR, perceptual {r.extra['perceptual']:.3f})"
            typer.echo(f"wrote {r.output}{extra}")
        for w in r.warnings:
            _err(f"warning: {r.input}: {w}")
    return on_result


def _finish(summary, as_json: bool, output: Optional[Path] = None) -> None:
    if as_json:
        typer.echo(json.dumps(summary.as_dict()))
    else:
        parts = [f"{summary.count('done')} done", f"{summary.count('skipped')} skipped",
                 f"{summary.count('failed')} failed"]
        if summary.count("planned"):
            parts.insert(0, f"{summary.count('planned')} planned (dry run)")
        where = ""
        outs = [r.output for r in summary.results if r.status == "done"]
        if len(outs) == 1:
            where = f" -> {outs[0]}"
        elif outs and output is not None:
            where = f" -> {output}"
        status = "interrupted: " if summary.interrupted else ""
        _err(f"{status}{', '.join(parts)} in {summary.seconds:.1f} s{where}" +
             (" (rerun the same command to resume)" if summary.interrupted else ""))
        seq = [r for r in summary.results if r.status == "done" and "scene_cuts" in r.extra]
        for r in seq:
            _err(f"{r.output}: {r.frames} frames at {r.extra['fps_out']:.3f} fps, "
                 f"{r.extra['scene_cuts']} scene cut(s) found")
    raise typer.Exit(summary.exit_code)


def _run(inputs, output, *, model, task, capability, options, run: Run, **overrides):
    from imgedit.runner import process

    config = dataclasses.replace(run.config, **overrides)
    summary = process(inputs, output, model=model, task=task, capability=capability, options=options,
                      config=config, on_result=_reporter(run.json, run.verbose, config.dry_run))
    _finish(summary, run.json, output)


# ---- verbs ------------------------------------------------------------------------------------
@command()
@shared_flags("files", "format", "batch", "pixels", "frames", "video")
def edit(paths: Annotated[List[Path], typer.Argument(metavar="IN... OUT", help="Inputs, then the output folder (or file).")],
         model: Annotated[str, typer.Option("--model", "-m", help="Model name (see `imgedit models`).")],
         option: Opt = None, direction: Direction = None, mask: Mask = None, *, run: Run) -> None:
    """Run any model's edit over images, folders, videos or frame folders.

    Latent models (GAN, VAE): `--direction bold:1.5 --direction italic:-0.5` encodes each image,
    moves its latent and applies the change onto the original at its resolution (`--mask`)."""
    inputs, out = _split_out(paths, "edit")
    opts = parse_kv(option)
    if direction:
        opts["direction"] = list(direction)
    if mask is not None:
        if not mask.is_file():
            raise UsageError(f"--mask {mask}: no such image file")
        opts["mask"] = str(mask)
    _run(inputs, out, model=model, task=None, capability="edit", options=opts, run=run)


@command()
@shared_flags("files", "format", "batch", "pixels", "frames", "video")
def stylize(paths: Annotated[List[Path], typer.Argument(metavar="IN... OUT", help="Inputs, then the output folder (or file).")],
            style: Annotated[Optional[List[str]], typer.Option("--style", "-s", metavar="NAME|IMAGE[:W]",
                             help="Shipped style name or any painting; repeat with :weight to blend.")] = None,
            method: Annotated[Optional[str], typer.Option("--method", help="fast|arbitrary|optimize (default: auto)")] = None,
            strength: Annotated[Optional[float], typer.Option("--strength", help="0 = photo unchanged .. 1 = full style")] = None,
            preserve_color: Annotated[Optional[bool], typer.Option("--preserve-color/--no-preserve-color",
                                      help="Keep the photo's colours, transfer only texture.")] = None,
            max_size: Annotated[Optional[int], typer.Option("--max-size", help="Longest side the model sees.")] = None,
            model: Model = None, option: Opt = None, *, run: Run) -> None:
    """Style transfer: `imgedit stylize photos/ out/ --style starry_night` (needs a style plugin)."""
    inputs, out = _split_out(paths, "stylize")
    opts = parse_kv(option)
    for key, value in (("style", style), ("method", method), ("strength", strength),
                       ("preserve_color", preserve_color), ("max_size", max_size)):
        if value is not None and value != []:
            opts[key] = value
    _run(inputs, out, model=model, task="stylize", capability="edit", options=opts, run=run)


@command()
@shared_flags("pixels", "video")
def interpolate(paths: Annotated[List[Path], typer.Argument(
                    metavar="VIDEO_OR_FRAMES... [OUT]",
                    help="Videos, frame folders or folders of videos; then optionally OUT (a video name, or a folder).")],
                out: Annotated[Optional[Path], typer.Option("--out", help="Output video or folder "
                               "(default: beside each input, e.g. clip.2x.mp4); every argument is then an input.")] = None,
                factor: Annotated[Optional[int], typer.Option("--factor", "-x", help="Multiply the frame rate by this "
                                  "(default 2; the range the model allows, see `imgedit models NAME`).")] = None,
                fps: Annotated[Optional[float], typer.Option("--fps", help="Target frame rate (instead of --factor).")] = None,
                scale: Annotated[Optional[float], typer.Option("--scale", help="Estimate motion at this scale (0.5 for 4K).")] = None,
                model: Model = None, option: Opt = None, *, run: Run) -> None:
    """Frame interpolation: `imgedit interpolate clip.mp4` writes clip.2x.mp4 (needs an interpolation plugin).

    Several inputs (`imgedit interpolate *.mp4`) each get their output beside them. The last argument
    is taken as OUT only when it does not exist yet, is a folder without frames, or is a video
    imgedit wrote; a video of yours is never an output unless named with --out."""
    opts = parse_kv(option)
    if factor is not None and fps is not None:
        raise UsageError("give --factor or --fps, not both")
    flags = {"factor": factor, "fps": fps, "scale": scale}
    given = {k: v for k, v in flags.items() if v is not None}
    if given:
        _check_flag_ranges(given, model)
    opts.update(given)
    inputs, output = _split_optional_out(paths, out)
    inputs = _without_earlier_outputs(inputs)
    # the output name (clip.3x.mp4, clip.60fps.mp4) follows the model's resolved options: runner.rate_suffix
    _run(inputs, output, model=model, task="interpolate", capability="edit", options=opts, run=run,
         frames_mode=True)


def _check_flag_ranges(given: dict, model: Optional[str]) -> None:
    """`--factor`, `--fps`, `--scale` are the interpolator's options: the model's declared range
    decides (interp.gru and classic.blend: factor 1..16), and the error names the flag."""
    from imgedit.api import Capability
    from imgedit.errors import OptionError
    from imgedit.registry import get_registry

    spec = get_registry().resolve("interpolate", model, Capability.EDIT)
    for key, value in given.items():
        flag = f"--{key}"
        try:
            opt = spec.option(key)
        except OptionError:
            raise UsageError(f"{flag}: model {spec.name} has no {key} option") from None
        try:
            opt.parse(value)
        except OptionError as exc:
            lo, hi = opt.min, opt.max
            if lo is None and hi is None:
                raise UsageError(f"{flag}: {exc}") from None
            allowed = (f"{lo:g}..{hi:g}" if lo is not None and hi is not None else
                       f">= {lo:g}" if lo is not None else f"<= {hi:g}")
            raise UsageError(f"{flag} {value:g}: model {spec.name} allows {key} {allowed}"
                             + (" (use --fps for other rates)" if key == "factor" else "")) from None


def _without_earlier_outputs(inputs: list[Path]) -> list[Path]:
    """Leave out the videos an earlier `imgedit interpolate` made from another of the inputs
    (`clip.2x.mp4` when a later glob run asks for -x 4): their mark names the source."""
    from imgedit.io.discover import kind_of, made_from

    names = {p.resolve().name for p in inputs}

    def earlier_output(p: Path) -> bool:
        origin = made_from(p) if p.is_file() and kind_of(p) == "video" else None
        return origin is not None and origin[0] == "interpolate" and origin[1] in names - {p.resolve().name}

    keep = [p for p in inputs if not earlier_output(p)]
    return keep or inputs


def _split_optional_out(paths: List[Path], out: Optional[Path]) -> tuple[list[Path], Optional[Path]]:
    """``IN... [OUT]`` where OUT is optional: the last path is OUT only when it cannot be an input
    -- it does not exist yet; or there is one other argument and it is `imgedit interpolate`'s
    output of that one (a video whose mark says so, a frames folder whose marker does); or a folder holding no
    frames and no videos but imgedit's. Anything else is an input, so a shell glob never makes one
    of your videos -- or an earlier stylized one -- the output."""
    import json as _json

    from imgedit.io.discover import FRAMES_MARKER, kind_of, list_frames, made_by_imgedit, made_from

    if out is not None or len(paths) < 2:
        return list(paths), out
    last, others = paths[-1], list(paths[:-1])
    if not last.exists():
        return others, last
    if last.is_file():
        # an output file takes one input: `interpolate clip.mp4 slow.mp4` rerun, not a glob
        ours = len(others) == 1 and made_from(last) == ("interpolate", others[0].resolve().name)
        return (others, last) if ours else (list(paths), None)
    marker = last / FRAMES_MARKER
    if marker.exists():
        try:
            source = Path(_json.loads(marker.read_text())["source"]).resolve()
        except (OSError, ValueError, KeyError, TypeError):
            source = None
        ours = len(others) == 1 and source == others[0].resolve()
        return (others, last) if ours else (list(paths), None)
    videos = [f for f in last.iterdir() if f.is_file() and kind_of(f) == "video"]
    if not list_frames(last) and all(made_by_imgedit(v) for v in videos):
        return others, last
    return list(paths), None


@command()
@shared_flags("files", "batch", "pixels")
def encode(paths: Annotated[List[Path], typer.Argument(metavar="IN... OUT", help="Images, then the output folder.")],
           model: Annotated[str, typer.Option("--model", "-m", help="An encode-capable model.")],
           option: Opt = None, *, run: Run) -> None:
    """Encode images to latent files (NAME.latent.safetensors) for `generate --latents`."""
    inputs, out = _split_out(paths, "encode")
    _run(inputs, out, model=model, task=None, capability="encode", options=parse_kv(option), run=run)


@command()
@shared_flags("format", "batch", format="png", batch_size=8)
def generate(output: Annotated[Path, typer.Argument(metavar="OUT", help="Output folder.")],
             model: Annotated[str, typer.Option("--model", "-m", help="A generate-capable model.")],
             count: Count = 4,
             seed: Annotated[int, typer.Option("--seed", help="Image i uses seed+i: reproducible at any batch size.")] = 0,
             latents: Annotated[Optional[List[Path]], typer.Option("--latents", "-l",
                                help="Latent files or folders (from `imgedit encode`) to decode.")] = None,
             save_latents: Annotated[bool, typer.Option("--save-latents", help="Write each sample's latent "
                                     "beside it (NAME.latent.safetensors), to edit or morph later.")] = False,
             option: Opt = None, *, run: Run) -> None:
    """Generate images from random seeds or from latent files."""
    from imgedit.runner import generate as run_generate

    summary = run_generate(output, model=model, count=count, seed=seed, latents=latents, save_latents=save_latents,
                           options=parse_kv(option), config=run.config,
                           on_result=_reporter(run.json, run.verbose, run.config.dry_run))
    _finish(summary, run.json, output)


@command()
@shared_flags()
def morph(paths: Annotated[List[Path], typer.Argument(metavar="A B [C...] OUT",
                                                      help="Two or more images, then OUT (a video name or a folder of frames).")],
          model: Annotated[str, typer.Option("--model", "-m", help="A model that encodes and generates.")],
          count: Count = 8,
          lerp: Annotated[bool, typer.Option("--lerp", help="Straight lines between latents instead of slerp.")] = False,
          fps: Annotated[float, typer.Option("--fps", help="Frame rate of a video OUT.")] = 25.0,
          size: Annotated[Optional[int], typer.Option("--size", min=8, max=4096,
                          help="Scale frames so the long side is this (default: the model's size).")] = None,
          option: Opt = None, *, run: Run) -> None:
    """Morph through images' latents: `imgedit morph -m gan.faces a.png b.png morph.mp4`."""
    from imgedit.runner import morph as run_morph

    if len(paths) < 3:
        raise UsageError("`imgedit morph` needs at least two images and an output: A B [C...] OUT")
    if fps <= 0:
        raise UsageError("--fps must be positive")
    inputs, out = _split_out(paths, "morph")
    summary = run_morph(inputs, out, model=model, count=count, lerp=lerp, fps=fps, size=size,
                        options=parse_kv(option), config=run.config,
                        on_result=_reporter(run.json, run.verbose, run.config.dry_run))
    _finish(summary, run.json, out)


@command()
@shared_flags("files")
def directions(output: Annotated[Path, typer.Argument(metavar="OUT", help="NAME.direction.safetensors (a folder with --pca).")],
               model: Annotated[str, typer.Option("--model", "-m", help="A latent model (encode + generate).")],
               positive: Annotated[Optional[List[Path]], typer.Option("--positive", help="Images with the attribute (folder or files; repeatable).")] = None,
               negative: Annotated[Optional[List[Path]], typer.Option("--negative", help="Images without it.")] = None,
               method: Annotated[str, typer.Option("--method", help="mean (difference of mean latents) or "
                                                   "classifier (normal of a logistic boundary).")] = "mean",
               pca: Annotated[int, typer.Option("--pca", min=0, help="Write K unsupervised (PCA, GANSpace-style) directions instead.")] = 0,
               samples: Annotated[int, typer.Option("--samples", min=10, help="--pca: random latents to analyse.")] = 2000,
               seed: Annotated[int, typer.Option("--seed")] = 0,
               option: Opt = None, *, run: Run) -> None:
    """Make an edit direction for `imgedit edit --direction FILE:S` from labelled folders, or PCA ones."""
    from imgedit.runner import make_directions

    json_ = run.json
    summary = make_directions(output, model=model, positive=positive, negative=negative, method=method, pca=pca,
                              samples=samples, seed=seed, options=parse_kv(option), config=run.config)
    bad = [b for r in summary.results for b in r.extra.get("unreadable", [])]
    for line in bad:
        _err(f"failed: {line}")
    for r in summary.results:
        if r.status == "failed":
            _err(f"error: {r.reason}")
        elif r.status == "skipped":
            _err(f"skipped: {r.reason}")
        elif r.status == "planned":
            typer.echo(json.dumps({"output": r.output, "status": "planned"}) if json_ else f"would write {r.output}")
        for rec in r.extra.get("files", []):
            if json_:
                typer.echo(json.dumps(rec))
            else:
                extra = (f", {rec['positive']} positive / {rec['negative']} negative images, separation "
                         f"{rec['separation']:.0%}" if "separation" in rec else "")
                typer.echo(f"wrote {rec['output']} ({rec['method']}{extra})")
    if bad:
        _err(f"{len(bad)} image(s) could not be read and were left out")
    raise typer.Exit(130 if summary.interrupted else 1 if bad or summary.count("failed") else 0)


@command()
def plugins(json_: Json = False) -> None:
    """Installed plugins: package, version, models and status (broken ones show their error)."""
    from imgedit.registry import get_registry

    reg = get_registry()
    if json_:
        typer.echo(json.dumps([p.as_dict() for p in reg.plugins], indent=2))
        return
    if not reg.plugins:
        typer.echo("no plugins installed")
    for p in reg.plugins:
        typer.echo(f"{p.name:<12} {p.package} {p.version}  [{p.status}]")
        if p.models:
            typer.echo(f"    models:   {', '.join(p.models)}")
        if p.trainers:
            typer.echo(f"    trainers: {', '.join(p.trainers)}")
        if p.error:
            typer.echo(f"    error:    {p.error.splitlines()[0]}")
    if any(p.status == "broken" for p in reg.plugins):
        raise typer.Exit(1)


plugin_app = typer.Typer(name="plugin", no_args_is_help=True, help="Write plugins: `imgedit plugin new NAME`.")
app.add_typer(plugin_app, name="plugin")


@plugin_app.command("new")
@_guard
def plugin_new(name: Annotated[str, typer.Argument(help="Plugin name: lowercase letters, digits, - or _ (its models are NAME.MODEL).")],
               kind: Annotated[str, typer.Option("--kind", "-k", click_type=click.Choice(["edit", "encode-generate", "sequence"]),
                               help="edit: per-image edit; encode-generate: a latent model; sequence: memory across video frames.")] = "edit",
               parent: Annotated[Path, typer.Option("--dir", metavar="PARENT", help="Where to create imgedit-NAME/ (never overwritten).")] = Path(".")) -> None:
    """Write a complete, working plugin distribution imgedit-NAME/ (with its contract tests) to start from.

    NAME: lowercase letters and digits with - or _ between words (package imgedit_NAME, models NAME.MODEL)."""
    from imgedit.scaffold import new_plugin

    made = new_plugin(name, kind=kind, parent=parent)
    typer.echo(f"wrote {made.folder}/ ({made.kind} plugin {made.name}: {', '.join(made.models)})")
    for rel in made.files:
        typer.echo(f"  {rel.as_posix()}")
    typer.echo("next:\n" + "\n".join(f"  {c}" for c in made.commands))


def _spec_dict(spec, with_weights: bool) -> dict:
    d = {"name": spec.name, "summary": spec.summary, "plugin": spec.plugin, "licence": spec.licence,
         "capabilities": [c.value for c in spec.capabilities], "tasks": dict(spec.tasks),
         "latent_shape": list(spec.latent_shape) if spec.latent_shape else None,
         "precisions": list(spec.precisions),
         "options": [{"name": o.name, "type": o.describe_type(), "default": o.default, "help": o.help}
                     for o in spec.options]}
    if with_weights:
        from imgedit.weights import status

        d["weights"] = status(spec)
    else:
        d["weights"] = [{"name": w.name, "file": w.filename, "sha256": w.sha256} for w in spec.weights]
    return d


@command()
def models(name: Annotated[Optional[str], typer.Argument(help="Show one model in detail.")] = None,
           json_: Annotated[bool, typer.Option("--json", help="A JSON list of the models (one object with NAME).")] = False) -> None:
    """Available models (capabilities, tasks); with NAME: options, weights, licence."""
    from imgedit.registry import get_registry

    reg = get_registry()
    for problem in reg.user_model_problems:  # a trained model that cannot be used says why, once
        _err(f"warning: user model not loaded: {problem}")
    specs = [reg.get(name)] if name else [reg.models[n] for n in sorted(reg.models) if not reg.models[n].base_only]
    if json_:
        data = [_spec_dict(s, with_weights=bool(name)) for s in specs]
        typer.echo(json.dumps(data[0] if name else data, indent=2, default=str))
        return
    if not name:
        if not specs:
            typer.echo("no models installed (see `imgedit plugins`)")
        else:
            typer.echo(f"{'MODEL':<24} {'CAN':<22} WHAT  [TASKS]")
        for s in specs:
            tasks = f"  [{', '.join(s.tasks)}]" if s.tasks else ""
            typer.echo(f"{s.name:<24} {','.join(c.value for c in s.capabilities):<22} {s.summary}{tasks}")
        return
    s = specs[0]
    d = _spec_dict(s, with_weights=True)
    typer.echo(f"{s.name}: {s.summary}")
    typer.echo(f"  plugin:       {s.plugin}")
    typer.echo(f"  capabilities: {', '.join(d['capabilities'])}")
    if s.tasks:
        typer.echo(f"  tasks:        {', '.join(f'{k} (priority {v})' for k, v in s.tasks.items())}")
    typer.echo(f"  licence:      {s.licence or 'unspecified'}")
    if s.latent_shape:
        typer.echo(f"  latent shape: {tuple(s.latent_shape)}")
    typer.echo("  options:" + ("" if s.options else " none"))
    rows = [(o.name, o.describe_type(), repr(o.default), o.help) for o in s.options]
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
    for name, typ, default, help_ in rows:
        typer.echo(f"    {name:<{widths[0]}}  {typ:<{widths[1]}}  default {default:<{widths[2]}}  {help_}")
    typer.echo("  weights:" + ("" if s.weights else " none"))
    wide = max((len(w["file"]) for w in d["weights"]), default=0)
    for w in d["weights"]:
        typer.echo(f"    {w['file']:<{wide}}  [{w['status']}]  sha256 {w['sha256'][:16]}…  {w.get('licence') or ''}")
        if w["status"] != "ok" and w.get("train_command"):
            typer.echo(f"      train it with: {w['train_command']}")
        if w.get("directions"):
            typer.echo(f"      directions (--direction NAME:S): {', '.join(w['directions'])}")


@command()
def info(json_: Json = False) -> None:
    """Versions, devices (with bf16/fp16 support) and plugin status, for bug reports."""
    import platform

    import torch

    from imgedit.devices import device_report
    from imgedit.registry import get_registry

    versions = {"imgedit": __version__, "python": platform.python_version(), "torch": torch.__version__,
                "platform": platform.platform()}
    for mod in ("torchvision", "cv2", "av", "PIL", "numpy", "typer", "pluggy", "safetensors"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = None
    data = {"versions": versions, "devices": device_report(),
            "plugins": [p.as_dict() for p in get_registry().plugins]}
    if json_:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    for k, v in versions.items():
        typer.echo(f"{k:<12} {v}")
    dev = data["devices"]
    typer.echo(f"cpu          {dev['cpu']['capability']}, {dev['cpu']['threads']} threads, "
               f"bf16 {'yes' if dev['cpu']['bf16'] else 'no'}")
    for c in dev["cuda"]:
        typer.echo(f"cuda         {c['name']}, bf16 {'yes' if c['bf16'] else 'no'}, fp16 yes")
    if not dev["cuda"]:
        typer.echo("cuda         not available")
    typer.echo(f"mps          {'available' if dev['mps'] else 'not available'}")
    for p in data["plugins"]:
        typer.echo(f"plugin       {p['name']} ({p['package']} {p['version']}) {p['status']}"
                   + (f": {p['error'].splitlines()[0]}" if p["error"] else ""))


@command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []})
def train(ctx: typer.Context,
          name: Annotated[Optional[str], typer.Argument(help="Trainer name (see `imgedit train` alone).")] = None) -> None:
    """Train a model: `imgedit train NAME --help` shows that trainer's own options."""
    from imgedit.plugins import import_object
    from imgedit.registry import get_registry

    reg = get_registry()
    if not name or name in ("-h", "--help"):
        typer.echo("usage: imgedit train NAME [ARGS]...\n\ntrainers:")
        width = max((len(t) for t in reg.trainers), default=0)
        for t in sorted(reg.trainers.values(), key=lambda t: t.name):
            typer.echo(f"  {t.name:<{width}}  {t.summary}  ({t.plugin})")
        if not reg.trainers:
            typer.echo("  none installed")
        return
    spec = reg.trainer(name)
    fn = import_object(spec.entry)
    raise typer.Exit(int(fn(list(ctx.args)) or 0))


def _stop_on_term() -> None:
    """SIGTERM and SIGHUP (a closed terminal, `timeout`, a job scheduler) stop a run like Ctrl-C:
    temp files are removed and finished outputs kept."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            try:
                signal.signal(getattr(signal, name), stop)
            except ValueError:  # not the main thread (an embedding application)
                pass


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point (click's standalone mode: usage errors exit 2)."""
    app(args=argv, prog_name="imgedit")
