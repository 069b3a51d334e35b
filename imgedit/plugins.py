"""Plugin discovery: entry points in the ``imgedit.plugins`` group, loaded with pluggy.

Each entry point names a module holding hook implementations. A plugin that fails to import,
fails pluggy's validation or raises while registering is recorded as *broken* with its error,
and every other plugin keeps working. ``IMGEDIT_PLUGINS=a,b`` loads only the plugins whose entry
point name or distribution name is listed (``IMGEDIT_PLUGINS=`` with an empty value loads none).

Only registration modules are imported here: never a model class, never torch.
"""
from __future__ import annotations

import importlib
import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from imgedit import hookspecs
from imgedit.api import ENTRY_POINT_GROUP, PROJECT
from imgedit.errors import debug_enabled

ENV_RESTRICT = "IMGEDIT_PLUGINS"


@dataclass
class PluginRecord:
    """One discovered plugin. ``status`` is ``"ok"``, ``"broken"`` or ``"disabled"``."""

    name: str                  #: entry point name
    package: str               #: distribution name
    version: str
    module: str                #: entry point value (the registration module)
    status: str = "ok"
    error: str | None = None
    models: list[str] = field(default_factory=list)
    trainers: list[str] = field(default_factory=list)
    obj: Any = None            #: the imported module (None unless loaded)

    def as_dict(self) -> dict:
        return {"name": self.name, "package": self.package, "version": self.version,
                "module": self.module, "status": self.status, "error": self.error,
                "models": list(self.models), "trainers": list(self.trainers)}


def _format_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    if debug_enabled():
        text += "\n" + "".join(traceback.format_exception(exc))
    return text


def _restriction() -> set[str] | None:
    raw = os.environ.get(ENV_RESTRICT)
    if raw is None:
        return None
    return {p.strip().lower() for p in raw.split(",") if p.strip()}


def _entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    # several installs of one distribution (e.g. a stale egg-info) can list it twice
    seen: dict[tuple[str, str], metadata.EntryPoint] = {}
    for ep in eps:
        seen.setdefault((ep.name, ep.value), ep)
    return sorted(seen.values(), key=lambda e: (e.name, e.value))


def discover() -> tuple[pluggy.PluginManager, list[PluginRecord]]:
    """Import every allowed plugin's registration module and register it with pluggy."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    allowed = _restriction()
    records: list[PluginRecord] = []
    for ep in _entry_points():
        dist = ep.dist
        package = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        rec = PluginRecord(name=ep.name, package=package, version=version, module=ep.value)
        records.append(rec)
        if allowed is not None and ep.name.lower() not in allowed and package.lower() not in allowed:
            rec.status = "disabled"
            continue
        try:
            obj = ep.load()
        except BaseException as exc:  # noqa: BLE001 - any import failure isolates the plugin
            if isinstance(exc, KeyboardInterrupt):
                raise
            rec.status, rec.error = "broken", "import failed: " + _format_error(exc)
            continue
        try:
            pm.register(obj, name=f"{package}:{ep.name}")
        except Exception as exc:  # pluggy validation (wrong hook signature, unknown hook)
            rec.status, rec.error = "broken", "invalid hooks: " + _format_error(exc)
            continue
        rec.obj = obj
    return pm, records


def call_per_plugin(pm: pluggy.PluginManager, records: list[PluginRecord], hook_name: str,
                    make_register) -> None:
    """Call hook ``hook_name`` on each plugin separately, so one failure breaks only its plugin.

    ``make_register(record)`` returns the ``register`` callback handed to that plugin.
    """
    by_obj = {id(r.obj): r for r in records if r.obj is not None}
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        rec = by_obj.get(id(impl.plugin))
        if rec is None or rec.status != "ok":
            continue
        try:
            impl.function(register=make_register(rec))
        except Exception as exc:  # noqa: BLE001
            rec.status, rec.error = "broken", f"{hook_name} failed: " + _format_error(exc)


def import_object(path: str) -> Any:
    """Import ``"module:attr.sub"`` lazily (model factories, trainer entries)."""
    module_name, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
