"""Weight files: safetensors only, located by name, verified by sha256, never unpickled.

A model declares :class:`~imgedit.api.WeightFile` entries in its spec. :func:`locate` searches
``$IMGEDIT_WEIGHTS_DIR``, the plugin's ``search_dirs``, the folder of the installed package the
file ships in (``WeightFile.package``) and the ``pretrained/`` folder of a source checkout;
:func:`load_bytes` returns a checked non-safetensors file (ONNX) as bytes; :func:`load` checks the sha256 and reads tensors with ``safetensors`` (which cannot run
code). A missing or mismatching file is a :class:`WeightsError` naming the file and the command
that trains it.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from imgedit.api import ModelSpec, WeightFile
from imgedit.errors import WeightsError

ENV_DIR = "IMGEDIT_WEIGHTS_DIR"
_verified: dict[tuple[str, int, int], str] = {}


def source_pretrained_dir() -> Path:
    """``pretrained/`` beside the imgedit package in a source checkout (may not exist)."""
    return Path(__file__).resolve().parent.parent / "pretrained"


def search_path(wf: WeightFile) -> list[Path]:
    dirs = []
    if os.environ.get(ENV_DIR):
        dirs.extend(Path(p) for p in os.environ[ENV_DIR].split(os.pathsep) if p)
    dirs.extend(Path(d) for d in wf.search_dirs)
    if wf.package:
        folder = package_dir(wf.package)
        if folder is not None:
            dirs.append(folder)
    dirs.append(source_pretrained_dir())
    return dirs


def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (``None``: not installed)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _hint(wf: WeightFile) -> str:
    return f"train it with `{wf.train_command}`" if wf.train_command else "reinstall the plugin that ships it"


def locate(wf: WeightFile) -> Path:
    """The first existing copy of ``wf`` on the search path."""
    looked = search_path(wf)
    for d in looked:
        p = d / wf.filename
        if p.is_file():
            return p
    raise WeightsError(f"weight file {wf.filename} not found (looked in: {', '.join(str(d) for d in looked)})",
                       hint=_hint(wf))


def verify(wf: WeightFile, path: Path) -> None:
    """Check the sha256 (cached per path, size and mtime for this process)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    digest = _verified.get(key) or sha256_file(path)
    if digest != wf.sha256:
        raise WeightsError(f"weight file {path} has sha256 {digest[:12]}…, expected {wf.sha256[:12]}… "
                           "(corrupt, edited or from another version)", hint=_hint(wf))
    _verified[key] = digest


def weight_file(spec: ModelSpec, name: str) -> WeightFile:
    for wf in spec.weights:
        if wf.name == name:
            return wf
    raise WeightsError(f"model {spec.name} declares no weight file named {name!r}")


def load(spec: ModelSpec, name: str, device: str | object = "cpu") -> dict:
    """Load the tensors of weight file ``name`` of ``spec`` after checking its sha256."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    wf = weight_file(spec, name)
    if not wf.filename.endswith(".safetensors"):
        raise WeightsError(f"model {spec.name}: weight file {wf.filename} is not safetensors: read it with "
                           "ctx.load_weight_bytes()")
    path = locate(wf)
    verify(wf, path)
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"weight file {path} could not be read: {exc}", hint=_hint(wf)) from None


def load_bytes(spec: ModelSpec, name: str) -> bytes:
    """The bytes of weight file ``name`` of ``spec`` (any declared format), sha256-checked on
    the very bytes returned (a file swapped after a cached check is still caught)."""
    wf = weight_file(spec, name)
    path = locate(wf)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"weight file {path} could not be read: {exc}", hint=_hint(wf)) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != wf.sha256:
        raise WeightsError(f"weight file {path} has sha256 {digest[:12]}…, expected {wf.sha256[:12]}… "
                           "(corrupt, edited or from another version)", hint=_hint(wf))
    return data


def read_metadata(path: Path) -> dict[str, str]:
    """The ``__metadata__`` strings of a safetensors file, read from its JSON header alone (no
    tensors, no torch): ``{}`` when there are none or the file is not readable."""
    import json
    import struct

    try:
        with open(path, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            if n > 100_000_000:
                return {}
            header = json.loads(fh.read(n))
        meta = header.get("__metadata__") or {}
        return {str(k): str(v) for k, v in meta.items()}
    except (OSError, ValueError, struct.error):
        return {}


def status(spec: ModelSpec) -> list[dict]:
    """Per weight file: where it is and whether its sha256 matches (for ``imgedit models``)."""
    out = []
    for wf in spec.weights:
        row = {"name": wf.name, "file": wf.filename, "sha256": wf.sha256, "licence": wf.licence,
               "train_command": wf.train_command}
        try:
            p = locate(wf)
            row["path"] = str(p)
            verify(wf, p)
            row["status"] = "ok"
            directions = read_metadata(p).get("directions")
            if directions:
                row["directions"] = directions.split(",")
        except WeightsError as exc:
            row["status"] = "missing" if "not found" in str(exc) else "mismatch"
        out.append(row)
    return out
