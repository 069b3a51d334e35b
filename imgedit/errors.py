"""Errors that imgedit turns into one-line messages (no traceback unless IMGEDIT_DEBUG=1).

Every error a user can cause derives from :class:`ImgeditError`. The CLI prints ``str(err)``
on one line and exits with ``err.exit_code``. Plugins may raise these too (they are re-exported
from :mod:`imgedit.api`).
"""
from __future__ import annotations

import os


class ImgeditError(Exception):
    """Base class: a problem the user can fix. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:  # one line, always
        msg = " ".join(str(self.args[0]).split()) if self.args else self.__class__.__name__
        return f"{msg} (hint: {self.hint})" if self.hint else msg


class UsageError(ImgeditError):
    """Bad command line or bad option value (exit code 2)."""

    exit_code = 2


class InputError(ImgeditError):
    """One input file could not be read or decoded. Names the file and the reason."""

    def __init__(self, path: os.PathLike | str, reason: str, *, hint: str | None = None):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}", hint=hint)


class OutputError(ImgeditError):
    """An output could not be written."""

    def __init__(self, path: os.PathLike | str, reason: str, *, hint: str | None = None):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}", hint=hint)


class PluginError(ImgeditError):
    """A plugin failed to import or register, or two plugins clash."""


class ModelNotFoundError(UsageError):
    """No installed plugin provides the requested model or task."""


class CapabilityError(UsageError):
    """The model does not implement the requested capability."""


class OptionError(UsageError):
    """A model option is unknown or has an invalid value."""


class WeightsError(ImgeditError):
    """A weight file is missing, unsafe or does not match its sha256."""


def debug_enabled() -> bool:
    """True when IMGEDIT_DEBUG is set to a true value: show tracebacks."""
    return os.environ.get("IMGEDIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
