"""imgedit: batch image and video editing with model plugins.

Python API (the same engine as the CLI)::

    import imgedit
    m = imgedit.load_model("classic.adjust")           # any installed model
    out = m.edit(pil_image_or_tensor, saturation=1.5)   # tensors (B,3,H,W) in [0,1] or PIL
    summary = imgedit.process(["photos/"], "out/", model="classic.sharpen", options={"amount": 1})

Importing this package is cheap: torch and the plugins load on first use.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# OpenMP threads that spin while waiting make torch collapse when another process is busy on the
# same cores: measured on 2 cores next to a training job, a 2-photo stylize took > 10 min with the
# default (active) policy and 17 s with PASSIVE. It must be set before torch loads; users can
# still override it in their environment.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from imgedit.engine import LoadedModel, load_model
    from imgedit.registry import Registry
    from imgedit.runner import RunConfig, Summary, process

__all__ = ["__version__", "load_model", "process", "list_models", "RunConfig"]


def list_models() -> list:
    """The registered :class:`~imgedit.api.ModelSpec` objects, sorted by name."""
    from imgedit.registry import get_registry

    reg = get_registry()
    return [reg.models[n] for n in sorted(reg.models)]


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from imgedit.engine import load_model

        return load_model
    if name in ("process", "RunConfig", "Summary"):
        from imgedit import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'imgedit' has no attribute {name!r}")
