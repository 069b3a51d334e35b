"""Atomic file output: write to a temporary file in the destination folder, then rename.

A reader never sees a half-written output: the data goes to a hidden temporary file next to the
final path (same folder, hence same filesystem, so :func:`os.replace` is atomic) and is renamed
over the final path only when writing finished without an exception. On any exception —
including :class:`KeyboardInterrupt` — the temporary file is removed and the final path is left
as it was.

Temporary names look like ``.{final.name}.imgedit-tmp-{random}{final.suffix}``: they keep the
final extension so that encoders that choose the format from the file name (FFmpeg, OpenCV,
Pillow) still work. :func:`cleanup_stale_temps` removes leftovers of a killed run.
"""
from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imgedit.errors import OutputError

#: Marker that every temporary file name contains (also listed in .gitignore).
TEMP_MARKER = ".imgedit-tmp-"


def temp_path_for(final: os.PathLike | str) -> Path:
    """Return a fresh temporary path in the same folder as ``final`` (the file is not created)."""
    final = Path(final)
    return final.with_name(f".{final.name}{TEMP_MARKER}{secrets.token_hex(4)}{final.suffix}")


def describe_os_error(err: OSError) -> str:
    """A short human reason for an OS-level write error (used in :class:`OutputError`)."""
    if isinstance(err, PermissionError):
        return "permission denied"
    if err.errno == errno.ENOSPC:
        return "no space left on device"
    if err.errno == errno.EROFS:
        return "read-only file system"
    if isinstance(err, NotADirectoryError):
        return "a parent of the output path is not a folder"
    if isinstance(err, IsADirectoryError):
        return "output path is a folder"
    return f"cannot write ({err.strerror or err})"


def make_parent_dirs(final: os.PathLike | str) -> None:
    """Create the folder of ``final`` (and its parents); :class:`OutputError` on failure."""
    final = Path(final)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(final, f"cannot create folder {final.parent} ({describe_os_error(err)})") from err


def discard_temp(tmp: os.PathLike | str) -> None:
    """Remove a temporary file if it exists; never raises."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


def commit_temp(tmp: os.PathLike | str, final: os.PathLike | str) -> Path:
    """Atomically rename ``tmp`` to ``final``. On failure the temp file is removed and
    :class:`OutputError` is raised."""
    final = Path(final)
    try:
        os.replace(tmp, final)
    except OSError as err:
        discard_temp(tmp)
        raise OutputError(final, describe_os_error(err)) from err
    return final


@contextmanager
def atomic_path(final: os.PathLike | str) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it to ``final`` on normal exit.

    The parent folders of ``final`` are created first. If the body raises (any exception,
    including :class:`KeyboardInterrupt`), the temporary file is deleted and the exception
    re-raised; ``final`` is untouched. If the body finishes without creating the temporary
    file, :class:`OutputError` is raised.
    """
    final = Path(final)
    make_parent_dirs(final)
    tmp = temp_path_for(final)
    try:
        yield tmp
    except BaseException:
        discard_temp(tmp)
        raise
    if not tmp.exists():
        raise OutputError(final, "nothing was written")
    commit_temp(tmp, final)


def atomic_write_bytes(final: os.PathLike | str, data: bytes) -> Path:
    """Write ``data`` to ``final`` atomically; :class:`OutputError` on failure."""
    final = Path(final)
    try:
        with atomic_path(final) as tmp, open(tmp, "wb") as fh:
            fh.write(data)
    except OSError as err:
        raise OutputError(final, describe_os_error(err)) from err
    return final


def cleanup_stale_temps(folder: os.PathLike | str, *, recursive: bool = False,
                        min_age: float = 0.0) -> list[Path]:
    """Delete leftover ``*.imgedit-tmp-*`` files in ``folder`` (e.g. from a killed run).

    With ``min_age=0`` call this only when no other imgedit process is writing into ``folder``;
    the runner passes a day (``min_age=86400``): no live write keeps a temp file untouched that
    long, so another imgedit writing into the same folder is never disturbed. Missing folders
    are ignored. Returns the paths that were removed.
    """
    import time

    cutoff = time.time() - min_age
    folder = Path(folder)
    removed: list[Path] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        pending.append(Path(entry.path))
                elif TEMP_MARKER in entry.name and (min_age <= 0 or entry.stat(follow_symlinks=False).st_mtime < cutoff):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except OSError:
                continue
    return removed
