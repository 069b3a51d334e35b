"""Models a user trains: usable by name (or by file) without editing any source.

A trainer exports ``NAME.safetensors`` + ``NAME.md`` (model card) + ``NAME.json`` into the user
models folder (:func:`models_dir`). The JSON record names the ``base`` model (an installed
plugin's model, whose code runs the file), the base's weight entry the file stands for
(``weight``) and the file's sha256, recorded at export. The registry turns every record into a
spec (:func:`apply_records`):

* ``name != base`` - a new model ``name``: the base's spec with that weight entry pointing at the
  user's file (``imgedit train gan --name myfonts`` -> model ``gan.myfonts``);
* ``name == base`` - the base model gains (or replaces) that weight entry (``imgedit train style
  --style my_painting.jpg`` adds ``fast-my_painting`` to ``style``: ``--style my_painting``).

``-m FILE.safetensors`` loads an exported file directly (:func:`spec_from_file`): its metadata
names the base and the weight entry; the sha256 is computed from the file itself.
Torch-free: listing models reads JSON only.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Mapping

from imgedit.api import ModelSpec, WeightFile
from imgedit.errors import ModelNotFoundError

ENV_DIR = "IMGEDIT_MODELS_DIR"
RECORD_FORMAT = "imgedit-user-model-1"
USER_PLUGIN = "user models"


def models_dir() -> Path:
    """``$IMGEDIT_MODELS_DIR``, else the platform's per-user data folder + ``imgedit/models``."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "imgedit" / "models"


def write_record(folder: Path, *, name: str, base: str, weight: str, sha256: str, summary: str = "",
                 stem: str | None = None, latent_shape: tuple[int, ...] | None = None) -> Path:
    """Write ``folder/STEM.json`` (atomically) for an exported ``folder/STEM.safetensors``
    (``STEM`` defaults to ``name``); ``latent_shape`` when the model's differs from its base's."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or name
    rec = {"format": RECORD_FORMAT, "name": name, "base": base, "weight": weight,
           "file": f"{stem}.safetensors", "sha256": sha256, "summary": summary,
           "exported": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if latent_shape:
        rec["latent_shape"] = [int(d) for d in latent_shape]
    path = folder / f"{stem}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rec, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def read_records(folder: Path | None = None) -> list[tuple[dict | None, Path, str]]:
    """``(record, path, problem)`` for every ``*.json`` in the folder (record None if unreadable)."""
    folder = folder or models_dir()
    out = []
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(path.read_text())
            if (not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT
                    or not all(isinstance(rec.get(k), str) and rec.get(k) for k in ("name", "base", "weight", "file", "sha256"))):
                raise ValueError("not an imgedit user-model record")
        except (OSError, ValueError) as exc:
            out.append((None, path, str(exc) if isinstance(exc, ValueError) else f"unreadable ({exc})"))
            continue
        out.append((rec, path, ""))
    return out


NAME_RE = r"[a-z0-9][a-z0-9_-]*"  #: what `imgedit train ... --name` accepts (the model is BASE.NAME)


def derive(base: ModelSpec, *, name: str, weight: str, path: Path, sha256: str, summary: str = "",
           latent_shape=None) -> ModelSpec:
    """``base``'s spec with weight entry ``weight`` read from ``path`` (sha256 ``sha256``) and,
    when given, its own ``latent_shape`` (a list of positive ints)."""
    if latent_shape is not None:
        if (not isinstance(latent_shape, (list, tuple)) or not latent_shape
                or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in latent_shape)):
            raise ValueError(f"latent_shape {latent_shape!r} is not a list of positive integers")
        base = replace(base, latent_shape=tuple(latent_shape))
    old = next((w for w in base.weights if w.name == weight), None)
    wf = WeightFile(weight, path.name, sha256, train_command=old.train_command if old else "",
                    licence=old.licence if old else base.licence, search_dirs=(str(path.parent),),
                    card=path.with_suffix(".md").name)
    weights = tuple(w for w in base.weights if w.name != weight) + (wf,)
    if name == base.name:
        return replace(base, weights=weights, base_only=False)
    return replace(base, name=name, weights=weights, tasks={}, base_only=False,
                   summary=summary or f"{base.summary} (user model, base {base.name})", plugin=USER_PLUGIN)


def apply_records(models: dict[str, ModelSpec], folder: Path | None = None) -> list[str]:
    """Add the user models of ``folder`` to ``models`` (in place); returns one line per record
    that could not be used (unknown base, name clash, unreadable)."""
    folder = folder or models_dir()
    problems = []
    for rec, path, problem in read_records(folder):
        if rec is None:
            problems.append(f"{path}: {problem}")
            continue
        base = models.get(rec["base"])
        if base is None:
            problems.append(f"{path}: base model {rec['base']!r} is not installed")
            continue
        name = rec["name"]
        if name != base.name and name in models and models[name].plugin != USER_PLUGIN:
            problems.append(f"{path}: model name {name!r} is already taken by {models[name].plugin}")
            continue
        try:
            spec = derive(base, name=name, weight=rec["weight"], path=folder / rec["file"],
                          sha256=rec["sha256"], summary=str(rec.get("summary") or ""),
                          latent_shape=rec.get("latent_shape"))
        except (ValueError, TypeError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        models[name] = spec
    return problems


def spec_from_file(path: Path, models: Mapping[str, ModelSpec]) -> ModelSpec:
    """The spec of an exported model file given as ``-m FILE.safetensors``."""
    from safetensors import SafetensorError, safe_open

    from imgedit.weights import sha256_file

    if not Path(path).is_file():
        raise ModelNotFoundError(f"model file {path} not found")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise ModelNotFoundError(f"{path}: not a readable safetensors file ({' '.join(str(exc).split())})") from None
    base_name, weight = meta.get("base"), meta.get("weight")
    if not base_name or not weight:
        raise ModelNotFoundError(f"{path}: not a model exported by `imgedit train` (no base model in its metadata)")
    base = models.get(base_name)
    if base is None:
        raise ModelNotFoundError(f"{path}: its base model {base_name!r} is not installed",
                                 hint="install the plugin that provides it (see `imgedit plugins`)")
    name = meta.get("imgedit-model") or path.stem
    name = base.name if name == base.name else name
    return derive(base, name=name, weight=weight, path=Path(path).resolve(), sha256=sha256_file(path),
                  summary=f"model file {Path(path).name} (base {base.name})")
