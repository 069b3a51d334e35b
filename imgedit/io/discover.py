"""Turn the command line's inputs into a plan: one :class:`Job` per image, video or frames folder.

Rules (the README repeats them for users):
- a file is an image or a video by its extension; anything else given explicitly is a failed job
  ("unsupported file type"), while unsupported files met inside a folder are ignored;
- a folder contributes its images and videos (all levels with ``recursive``), filtered by
  ``--include``/``--exclude`` globs matched, ignoring case, against the path relative to that
  folder or the file name (``--exclude`` also against each folder name on the way); in
  *frames mode* a folder is one ordered frame sequence instead (a folder without image frames
  contributes its videos);
- outputs mirror each input's relative path under ``OUT`` (with several inputs, a folder's tree
  goes under ``OUT/<folder name>``; no ``OUT``: beside each input, which
  needs an output suffix such as ``.2x``); the extension follows ``--format`` (``same`` keeps
  the input's extension as spelled: ``COFFEE.JPG``, ``a.jpeg``; BMP becomes ``.png``);
- with ``frames_out`` one video into a new, empty or imgedit-written OUT folder writes its
  frames straight into OUT (a folder of the user's gets a sub-folder named after the input);
- two inputs that would write the same output are disambiguated deterministically: each gets
  ``_<srcext>`` (then ``_2``...), whichever other files are present;
- an output that would land on an input is refused, and ``OUT`` itself is never scanned;
- an input that is another input's output (an earlier run's ``clip.2x.mp4``) is left out.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from imgedit.io.images import IMAGE_EXTENSIONS, MADE_BY
from imgedit.io.video import VIDEO_EXTENSIONS

FORMATS = ("png", "jpg", "webp", "tiff", "same")
_EXT_FOR_FORMAT = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tiff": ".tif"}


@dataclass
class Job:
    kind: str          #: "image" | "video" | "frames"
    source: Path       #: file, or folder for "frames"
    output: Path       #: file, or folder for "frames" (or a video file when frames -> video)
    rel: str           #: path shown to the user (relative to the input root)
    error: str | None = None  #: set when the job is known to fail before it runs
    data: dict = field(default_factory=dict)  #: what else a verb's job needs (a seed, a latent file)


def kind_of(path: Path) -> str | None:
    ext = path.suffix.lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return None


def natural_key(name: str) -> list:
    """Sort key that puts frame2 before frame10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_frames(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, in natural order (a frame sequence)."""
    return sorted((p for p in folder.iterdir() if p.is_file() and kind_of(p) == "image"
                   and not p.name.startswith(".")), key=lambda p: natural_key(p.name))


#: Written into every frames folder imgedit outputs: only such folders are ever replaced whole.
FRAMES_MARKER = ".imgedit-frames"


def is_frames_folder(folder: Path, recursive: bool = False) -> bool:
    """In frames mode, is ``folder`` one frame sequence? Not when it holds videos (a folder of
    videos, perhaps with a cover picture); otherwise yes (without frames it fails as empty)."""
    return folder.is_dir() and not any(kind_of(f) == "video" for f in walk_files(folder, recursive, None))


#: Outputs in these formats cannot carry imgedit's mark (no EXIF, no container comment).
UNMARKED_EXTENSIONS = {".bmp", ".mpg", ".mpeg", ".ts"}


def made_mark(source: Path, task: str, settings: dict | None = None) -> str:
    """The mark an output carries (video container comment, image EXIF Software tag):
    ``imgedit <task or model> from <source name>`` (``imgedit interpolate from clip.mp4``),
    followed, when given, by the ``settings`` that made it as a JSON object (``{"model":
    "interp.gru", "options": {"factor": 3}, "source": "clip.mp4"}``: the model, the options that
    differ from its defaults; see :func:`settings_of`)."""
    head = f"{MADE_BY} {task} from {source.name}"
    if settings is None:
        return head
    return f"{head} {json.dumps({**settings, 'source': source.name}, sort_keys=True, default=_unjsonable)}"


def _unjsonable(value) -> str:  # an option value from the Python API (a tensor, a PIL image)
    return f"<{type(value).__name__}>"


def _split_mark(mark: str) -> tuple[str, dict | None]:
    """``(head, settings)`` of a mark: the text before its JSON tail and the tail parsed (None for
    a mark without one, as imgedit wrote before it recorded settings)."""
    start = 0
    while (i := mark.find(" {", start)) >= 0:
        try:
            data = json.loads(mark[i + 1:])
        except ValueError:
            start = i + 1
            continue
        if isinstance(data, dict) and "model" in data:
            return mark[:i], data
        start = i + 1
    return mark, None


def _mark_of(path: Path) -> str | None:
    """The imgedit mark in a file (image EXIF Software tag, video container comment), or None."""
    kind = kind_of(path)
    try:
        if kind == "image":
            import PIL.Image

            with PIL.Image.open(path) as im:
                value = im.getexif().get(0x0131)
        elif kind == "video":
            import av

            with av.open(str(path), metadata_errors="replace") as c:  # Matroska upper-cases tags
                value = next((v for k, v in c.metadata.items() if k.lower() == "comment"), None)
        else:
            return None
    except Exception:  # noqa: BLE001 - unreadable: not ours
        return None
    return value if isinstance(value, str) and value.startswith(MADE_BY) else None


def made_by_imgedit(path: Path) -> bool:
    """Whether the file at ``path`` is an imgedit output (see :data:`imgedit.io.images.MADE_BY`)."""
    return _mark_of(path) is not None


def made_from(path: Path) -> tuple[str, str] | None:
    """``(task or model, source file name)`` recorded in an imgedit video output's mark."""
    mark = _mark_of(path)
    if not mark:
        return None
    mark, settings = _split_mark(mark)
    if " from " not in mark:
        return None
    head, name = mark.split(" from ", 1)
    if settings is not None and isinstance(settings.get("source"), str):
        name = settings["source"]  # exact (an image's EXIF keeps only ASCII)
    return head.split(" ", 1)[-1], name


def settings_of(path: Path) -> dict | None:
    """The settings recorded in an existing output (``{"model", "options", "source", ...}``):
    from an image's or video's mark, or a frames folder's :data:`FRAMES_MARKER`. None when there
    is no record (not imgedit's, written before imgedit recorded settings, or unreadable)."""
    if path.is_dir():
        try:
            data = json.loads((path / FRAMES_MARKER).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or "model" not in data:
            return None
        if isinstance(data.get("source"), str):
            data["source"] = Path(data["source"]).name
        return {k: v for k, v in data.items() if k != "frames"}
    mark = _mark_of(path)
    return _split_mark(mark)[1] if mark else None


def foreign_folder(path: Path) -> bool:
    """An existing, non-empty folder that imgedit did not write (no :data:`FRAMES_MARKER`)."""
    return path.is_dir() and not (path / FRAMES_MARKER).exists() and any(path.iterdir())


def _matches(rel: str, patterns: tuple[str, ...], folders: bool = False) -> bool:
    """Case-insensitive glob match of the relative path or the file name (``*.jpg`` takes
    ``B.JPG``); with ``folders`` (``--exclude``) also of any folder on the way (``--exclude raw``)."""
    parts = rel.lower().split("/")
    names = [rel.lower(), parts[-1]] + (parts[:-1] if folders else [])
    return any(fnmatch.fnmatchcase(n, p.lower()) for p in patterns for n in names)


def walk_files(root: Path, recursive: bool, skip: Path | None = None) -> list[Path]:
    """Files under ``root`` (sub-folders only when ``recursive``; hidden names and ``skip`` left out)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".")
                             and (skip is None or (d / n).resolve() != skip))
        found.extend(d / f for f in filenames if not f.startswith("."))
        if not recursive:
            break
    return found


def output_ext(source: Path, fmt: str) -> str:
    if fmt == "latent":  # `imgedit encode`: one latent file per image
        from imgedit.latent import LATENT_SUFFIX

        return LATENT_SUFFIX
    if fmt == "same":  # the input's extension as spelled (COFFEE.JPG, a.jpeg); BMP cannot carry the mark
        return ".png" if source.suffix.lower() == ".bmp" else source.suffix
    return _EXT_FOR_FORMAT[fmt]


def same_format(a: str, b: str) -> bool:
    """Whether two extensions name one format (``.JPG`` and ``.jpeg``, ``.tif`` and ``.TIFF``)."""
    norm = {".jpeg": ".jpg", ".tiff": ".tif"}
    return norm.get(a.lower(), a.lower()) == norm.get(b.lower(), b.lower())


def plan(inputs: list[Path], output: Path | None, *, recursive: bool = False, include: tuple[str, ...] = (),
         exclude: tuple[str, ...] = (), fmt: str = "same", frames_mode: bool = False,
         video_ext: str = ".mp4", output_suffix: str = "", frames_out: bool = False) -> list[Job]:
    """Build the job list.

    ``output_suffix`` is inserted before the extension (``clip.2x.mp4``). ``frames_out`` writes
    videos as PNG-sequence folders. With a single input, an ``output`` with an image or video
    extension is the output file itself (a frames folder may be encoded straight to a video),
    and a single frames folder (frames mode), or with ``frames_out`` a single video, is written to
    the folder ``output`` itself when that is new, empty or a frames folder imgedit wrote.
    ``output=None`` writes each output beside its input (a folder's files beside them).
    """
    single = len(inputs) == 1 and (inputs[0].is_file() or (frames_mode and is_frames_folder(inputs[0])))
    # one file -> OUT with an extension is the file itself; one frames folder (or, with
    # frames_out, one video) -> OUT is the frames folder, unless OUT is an existing folder of the
    # user's (then the output goes inside it, named after the input)
    to_frames = single and ((frames_mode and inputs[0].is_dir()) or (frames_out and kind_of(inputs[0]) == "video"))
    out_is_file = output is not None and single and (
        kind_of(output) is not None or (to_frames and not foreign_folder(output)))
    skip = output.resolve() if output is not None else None
    jobs: list[Job] = []
    out_root = output
    used_roots: set[str] = set()
    include = tuple(p.rstrip("/") for p in include)  # `--exclude raw/` means the folder raw
    exclude = tuple(p.rstrip("/") for p in exclude)

    def add(kind: str, src: Path, rel: str) -> None:
        if out_is_file:
            dest = output
        elif kind == "video" and frames_out:
            base = Path(rel)
            dest = out_root / base.with_name(base.stem + output_suffix)
        else:
            base = Path(rel)
            if kind == "image":
                dest = out_root / base.with_name(base.stem + output_suffix + output_ext(src, fmt))
            elif kind == "video":
                dest = out_root / base.with_name(base.stem + output_suffix + video_ext)
            else:  # frames folder -> frames folder
                dest = out_root / (base.name + output_suffix if base.name else "frames" + output_suffix)
        jobs.append(Job(kind, src, dest, rel))

    for raw in inputs:
        p = Path(raw)
        frames = frames_mode and is_frames_folder(p, recursive)
        if output is None:  # beside the input: a folder's media beside them, a file or frames folder beside it
            p = p.resolve() if p.is_dir() else p  # `.` inside a frames folder: beside it, as from outside
            out_root = p if p.is_dir() and not frames else p.parent
        if p.is_dir():
            if frames:
                add("frames", p, p.resolve().name)
                continue
            # several inputs into one OUT: each folder's tree under its own name (OUT/d1/a.png,
            # OUT/d2/a.png), as `cp -r d1 d2 OUT` does; one folder: its tree straight in OUT
            under = ""
            if output is not None and len(inputs) > 1:  # two folders of the same name: d1, d1_2
                under, n = p.resolve().name, 2
                while under.lower() in used_roots:
                    under, n = f"{p.resolve().name}_{n}", n + 1
                used_roots.add(under.lower())
                under += "/"
            for f in walk_files(p, recursive, skip):
                rel = f.relative_to(p).as_posix()
                k = kind_of(f)
                if k is None or (frames_mode and k == "image") or (include and not _matches(rel, include)) or (exclude and _matches(rel, exclude, folders=True)):
                    continue
                add(k, f, under + rel)
        elif p.exists():
            k = kind_of(p)
            if k is None:
                jobs.append(Job("image", p, out_root / p.name, p.name,
                                error="unsupported file type (not an image or video extension)"))
            elif exclude and _matches(p.name, exclude):
                continue
            else:
                add(k, p, p.name)
        elif (k := kind_of(p)) is not None:  # the output it would have had, for the report
            add(k, p, p.name)
            jobs[-1].rel, jobs[-1].error = str(p), "file not found"
        else:
            jobs.append(Job("image", p, out_root / p.name, str(p), error="file not found"))

    if out_is_file and jobs and jobs[0].error is None:
        want = kind_of(output)
        if want == "image" and jobs[0].kind != "image":
            jobs[0].error = f"{output.name}: an image name for a {jobs[0].kind} output (use a video name or a folder)"
        elif want == "video" and jobs[0].kind == "image":
            jobs[0].error = f"{output.name}: a video name for an image output (use an image name or a folder)"
    seen: set[Path] = set()  # a file named twice (`d1 d1/a.png`) is one job
    jobs = [j for j in jobs if j.error is not None or not (j.source.resolve() in seen or seen.add(j.source.resolve()))]
    jobs.sort(key=lambda j: (natural_key(str(j.source))))
    _dedupe(jobs)
    # an earlier run's output met among the inputs (`clip.2x.mp4` in the folder or the glob) is
    # that job's output, not a new input: a rerun skips it instead of making clip.2x.2x.mp4
    made = {j.output.resolve(): j for j in jobs if j.error is None}
    jobs = [j for j in jobs if made.get(j.source.resolve(), j) is j]
    sources = {j.source.resolve() for j in jobs if j.source.exists()}
    for j in jobs:
        if j.error is None and j.output.resolve() in sources:
            j.error = "output would overwrite an input file (choose another OUT)"
    return jobs


def _dedupe(jobs: list[Job]) -> None:
    """Every job of a group that would write the same output gets its source extension
    (``a_jpg.webp``, ``a_png.webp``; then ``_2``...): a name never depends on which other files
    happen to be present, so a rerun after adding ``a.jpg`` beside ``a.png`` cannot mistake
    ``a.png``'s earlier ``a.webp`` for ``a.jpg``'s output and skip it."""
    live = [j for j in jobs if not j.error]
    groups = Counter(str(j.output).lower() for j in live)
    taken = {key for key, n in groups.items() if n == 1}
    for j in live:
        if groups[str(j.output).lower()] == 1:
            continue
        src_ext = j.source.suffix.lstrip(".").lower() or "file"
        cand = j.output.with_name(f"{j.output.stem}_{src_ext}{j.output.suffix}")
        n = 2
        while str(cand).lower() in taken:
            cand = j.output.with_name(f"{j.output.stem}_{src_ext}_{n}{j.output.suffix}")
            n += 1
        taken.add(str(cand).lower())
        j.output = cand
