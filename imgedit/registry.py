"""Model registry: model name -> :class:`~imgedit.api.ModelSpec`, trainers, task resolution.

Built from the plugins' registration hooks on first use and cached for the process. Listing
models imports registration modules only; :func:`build_model` imports a model's class.
"""
from __future__ import annotations

import functools
from pathlib import Path
from dataclasses import dataclass, field, replace

from imgedit.api import Capability, ModelSpec, TrainerSpec
from imgedit.errors import ModelNotFoundError, PluginError
from imgedit.plugins import PluginRecord, call_per_plugin, discover


@dataclass
class Registry:
    models: dict[str, ModelSpec] = field(default_factory=dict)
    trainers: dict[str, TrainerSpec] = field(default_factory=dict)
    plugins: list[PluginRecord] = field(default_factory=list)
    clashes: dict[str, list[str]] = field(default_factory=dict)  #: name -> packages that clash
    user_model_problems: list[str] = field(default_factory=list)  #: user models that could not be used

    # -- lookups -----------------------------------------------------------------------------
    def get(self, name: str) -> ModelSpec:
        if name in self.clashes:
            pkgs = " and ".join(self.clashes[name])
            raise PluginError(f"model name {name!r} is registered by both {pkgs}",
                              hint="uninstall one of them or restrict with IMGEDIT_PLUGINS")
        if name.endswith(".safetensors"):
            from imgedit.usermodels import spec_from_file

            return spec_from_file(Path(name).expanduser(), self.models)
        spec = self.models.get(name)
        if spec is not None:
            if spec.base_only:
                trained = sorted(n for n, s in self.models.items() if n.startswith(name + ".") and not s.base_only)
                raise ModelNotFoundError(
                    f"{name!r} is the base of models you train, not a model itself",
                    hint=f"train one with `{spec.weights[0].train_command if spec.weights else 'imgedit train ' + name}`"
                         + (f", or use {', '.join(trained)}" if trained else ""))
            return spec
        close = [m for m in self.models if (name in m or m in name) and not self.models[m].base_only]
        hint = f"did you mean {', '.join(sorted(close))}?" if close else "see `imgedit models`"
        unusable = [p for p in self.user_model_problems if f"/{name}.json:" in p or f"{name!r}" in p]
        if unusable:
            hint = f"a user model of that name could not be used: {unusable[0]}"
        raise ModelNotFoundError(f"no model named {name!r} is installed", hint=hint)

    def for_task(self, task: str) -> list[ModelSpec]:
        """Models serving ``task``, best first (priority, then name)."""
        specs = [s for s in self.models.values() if task in s.tasks]
        return sorted(specs, key=lambda s: (-s.tasks[task], s.name))

    def resolve(self, task: str | None, model: str | None, capability: Capability) -> ModelSpec:
        """The model to run: ``model`` if given, else the best model for ``task``."""
        if model:
            return self.get(model)
        if task is None:
            raise ModelNotFoundError("no model given", hint="pass --model NAME (see `imgedit models`)")
        wanted = {capability}
        if capability == Capability.EDIT:
            wanted.add(Capability.EDIT_SEQUENCE)
        candidates = [s for s in self.for_task(task) if wanted & set(s.capabilities)]
        if not candidates:
            broken = [p.package for p in self.plugins if p.status == "broken"]
            extra = f"; broken plugins: {', '.join(broken)} (see `imgedit plugins`)" if broken else ""
            raise ModelNotFoundError(
                f"no installed plugin provides `{task}`{extra}",
                hint=f"install a plugin that registers a model for the '{task}' task "
                     f"(e.g. the first-party imgedit-{_TASK_PLUGIN.get(task, task)}), then check "
                     "`imgedit models`" + _TASK_FALLBACK.get(task, ""))
        return candidates[0]

    def trainer(self, name: str) -> TrainerSpec:
        try:
            return self.trainers[name]
        except KeyError:
            avail = ", ".join(sorted(self.trainers)) or "none installed"
            raise ModelNotFoundError(f"no trainer named {name!r} (available: {avail})") from None


_TASK_PLUGIN = {"stylize": "style", "interpolate": "interp"}
_TASK_FALLBACK = {"interpolate": "; plain frame blending is available with --model classic.blend"}


def _collect() -> Registry:
    pm, records = discover()
    reg = Registry(plugins=records)
    owners: dict[str, str] = {}

    def model_register(rec: PluginRecord):
        def register(spec: ModelSpec) -> None:
            if not isinstance(spec, ModelSpec):
                raise TypeError(f"register() takes a ModelSpec, got {type(spec).__name__}")
            ns = rec.name.lower()
            if spec.name != ns and not spec.name.startswith(ns + "."):
                raise PluginError(f"model name {spec.name!r}: the models of plugin {rec.name!r} are named "
                                  f"{ns!r} or {ns}.MODEL (e.g. {ns}.{spec.name.rpartition('.')[2]})")
            spec = replace(spec, plugin=rec.package)
            if spec.name in owners and owners[spec.name] != rec.package:
                reg.clashes.setdefault(spec.name, [owners[spec.name]]).append(rec.package)
                rec.error = (rec.error + "; " if rec.error else "") + \
                    f"model name {spec.name!r} clashes with {owners[spec.name]}"
                other = next(p for p in records if p.package == owners[spec.name])
                other.error = (other.error + "; " if other.error else "") + \
                    f"model name {spec.name!r} clashes with {rec.package}"
                reg.models.pop(spec.name, None)
                return
            if spec.name in reg.clashes:
                reg.clashes[spec.name].append(rec.package)
                return
            owners[spec.name] = rec.package
            reg.models[spec.name] = spec
            rec.models.append(spec.name)
        return register

    def trainer_register(rec: PluginRecord):
        def register(spec: TrainerSpec) -> None:
            if not isinstance(spec, TrainerSpec):
                raise TypeError(f"register() takes a TrainerSpec, got {type(spec).__name__}")
            if spec.name in reg.trainers:
                raise PluginError(f"trainer {spec.name!r} is registered by both "
                                  f"{reg.trainers[spec.name].plugin} and {rec.package}")
            reg.trainers[spec.name] = replace(spec, plugin=rec.package)
            rec.trainers.append(spec.name)
        return register

    call_per_plugin(pm, records, "imgedit_register_models", model_register)
    call_per_plugin(pm, records, "imgedit_register_trainers", trainer_register)
    # a plugin that broke half-way must not leave half its models behind
    for rec in records:
        if rec.status == "broken":
            for name in rec.models:
                reg.models.pop(name, None)
            for name in rec.trainers:
                reg.trainers.pop(name, None)
    from imgedit.usermodels import apply_records

    reg.user_model_problems = apply_records(reg.models)  # models users trained (no source edited)
    return reg


@functools.lru_cache(maxsize=1)
def get_registry() -> Registry:
    return _collect()


def reload() -> Registry:
    """Forget the cached registry (after installing a plugin in-process, and in tests)."""
    get_registry.cache_clear()
    return get_registry()
