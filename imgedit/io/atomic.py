"""Atomic file output: write to a temporary file in the destination folder, then rename.

A reader never sees a half-written output: the data goes to a hidden temporary file next to the
final path (same folder, hence same filesystem, so :func:`os.replace` is atomic) and is renamed
over the final path only when writing finished without an exception. On any exception —
including :class:`KeyboardInterrupt` — the temporary file is removed and the final path is left
as it was.

Temporary names look like ``.{final.name}.imgedit-tmp-{pid}-{host}-{random}{final.suffix}``
(``pid``: the writing process, ``host``: 6 hex digits of a hash of its host name): they keep the
final extension so that encoders that choose the format from the file name (FFmpeg, OpenCV,
Pillow) still work. Temporary folders (frames folders being written) are named the same way,
without the extension. :func:`cleanup_stale_temps` removes leftovers of a killed run: those whose
process is gone (never those of a live process), and untagged or other hosts' ones by age.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imgedit.errors import OutputError

#: Marker that every temporary file name contains (also listed in .gitignore).
TEMP_MARKER = ".imgedit-tmp-"


#: ``{pid}-{host}-`` right after TEMP_MARKER: who is writing that temp.
_OWNER = re.compile(re.escape(TEMP_MARKER) + r"(\d+)-([0-9a-f]{6})-")


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def temp_path_for(final: os.PathLike | str, *, folder: bool = False) -> Path:
    """Return a fresh temporary path in the same folder as ``final`` (nothing is created), named
    after the writing process (``folder=True``: without ``final``'s extension, for a folder)."""
    final = Path(final)
    suffix = "" if folder else final.suffix
    return final.with_name(f".{final.name}{TEMP_MARKER}{os.getpid()}-{_host_tag()}-{secrets.token_hex(4)}{suffix}")


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
        _plain_mode(tmp)
        os.replace(tmp, final)
    except OSError as err:
        discard_temp(tmp)
        raise OutputError(final, describe_os_error(err)) from err
    return final


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _plain_mode(tmp: os.PathLike | str) -> None:
    """Give a finished temp file the mode a plain ``open(path, "w")`` would have given it
    (0666 minus the umask): writers such as safetensors create theirs 0600, which the rename
    would otherwise carry onto the output."""
    if os.path.isfile(tmp) and not os.path.islink(tmp):
        os.chmod(tmp, 0o666 & ~_umask())


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


def _owner_gone(name: str, mtime: float) -> bool | None:
    """Whether the process that wrote temp ``name`` has exited: True / False, or None when the
    name does not say (written by an older imgedit, or on another host) or this system cannot
    tell (Windows). A pid now used by a process that started after the temp was last written
    (pid reuse, a rerun in a fresh container) counts as gone."""
    match = _OWNER.search(name)
    if match is None or match.group(2) != _host_tag() or sys.platform == "win32":
        return None
    pid = int(match.group(1))
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    except OSError:
        return None
    started = _process_start_time(pid)
    return started is not None and started > mtime + 2.0  # (boot time has a 1 s resolution)


def _process_start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), on Linux; else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as fh:
            boot = next(float(line.split()[1]) for line in fh if line.startswith(b"btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time in ticks
    except (OSError, IndexError, ValueError, StopIteration):
        return None


def cleanup_stale_temps(folder: os.PathLike | str, *, recursive: bool = False,
                        min_age: float = 0.0) -> list[Path]:
    """Delete leftover ``*.imgedit-tmp-*`` files and folders in ``folder`` (e.g. from a killed
    run).

    A temp named after its process (see :func:`temp_path_for`) is removed when that process is
    gone, whatever its age, and never while it runs. Any other temp (an older imgedit's, another
    host's) is removed when it is older than ``min_age`` seconds: with ``min_age=0`` call this
    only when no other imgedit process is writing into ``folder``; the runner passes a day
    (``min_age=86400``): no live write keeps a temp file untouched that long. Missing folders
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
                is_dir = entry.is_dir(follow_symlinks=False)
                if TEMP_MARKER not in entry.name:
                    if is_dir and recursive:
                        pending.append(Path(entry.path))
                    continue
                mtime = entry.stat(follow_symlinks=False).st_mtime
                gone = _owner_gone(entry.name, mtime)
                if gone is False or (gone is None and min_age > 0 and mtime >= cutoff):
                    continue
                if is_dir:
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                continue
    return removed
