"""The hooks a plugin can implement. Each docstring is that hook's documentation.

Implement them in the module your entry point names, decorated with
:data:`imgedit.api.hookimpl`. pluggy checks the signatures when the plugin is registered, so a
typo fails early with the plugin's name in the message (``imgedit plugins`` shows it).
"""
from __future__ import annotations

from typing import Callable

from imgedit.api import ModelSpec, TrainerSpec, hookspec


@hookspec
def imgedit_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register this plugin's models: call ``register(ModelSpec(...))`` once per model.

    Keep this cheap: it runs whenever imgedit lists models. Do not import torch or load weights
    here; name the model class in ``ModelSpec.factory`` and it is imported when first used.
    """


@hookspec
def imgedit_register_trainers(register: Callable[[TrainerSpec], None]) -> None:
    """Register training commands: ``register(TrainerSpec(name, summary, "module:main"))``.

    ``imgedit train NAME ARGS...`` imports ``module`` and calls ``main(ARGS)`` (a list of str),
    which returns an exit code. Same rule: no heavy imports at registration.
    """
