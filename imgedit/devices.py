"""Device and precision selection.

``--device auto`` picks CUDA, then Apple MPS, then the CPU. ``--precision auto`` picks fp16
autocast on CUDA, bf16 autocast on CPUs with native bf16 (AVX-512 BF16 or AMX), and fp32
elsewhere, limited to what the model's spec allows.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from imgedit.errors import UsageError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 instructions (avx512_bf16 or amx_bf16)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def resolve_device(name: str = "auto") -> Any:
    import torch

    if name not in DEVICES and not name.startswith("cuda:"):
        raise UsageError(f"--device {name!r}: choose one of {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available", hint="use --device cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UsageError("--device mps: Apple MPS is not available", hint="use --device cpu")
    return torch.device(name)


@dataclass(frozen=True)
class Precision:
    name: str        #: fp32 | bf16 | fp16
    dtype: Any       #: torch dtype used for autocast, None for fp32


def resolve_precision(name: str, device: Any, allowed: tuple[str, ...] = ("fp32", "bf16", "fp16")) -> Precision:
    import torch

    if name not in PRECISIONS:
        raise UsageError(f"--precision {name!r}: choose one of {', '.join(PRECISIONS)}")
    if name == "auto":
        if device.type == "cuda" and "fp16" in allowed:
            name = "fp16"
        elif device.type == "cpu" and "bf16" in allowed and cpu_has_native_bf16():
            name = "bf16"
        else:
            name = "fp32"
    elif name not in allowed:
        raise UsageError(f"--precision {name}: this model supports only {', '.join(allowed)}")
    if name == "fp16" and device.type == "cpu":
        raise UsageError("--precision fp16 is not supported on the CPU", hint="use bf16 or fp32")
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
    return Precision(name, dtype)


def device_report() -> dict:
    """Devices and their precision support, for ``imgedit info``."""
    import torch

    out: dict[str, Any] = {
        "cpu": {"threads": torch.get_num_threads(), "capability": torch.backends.cpu.get_cpu_capability(),
                "bf16": cpu_has_native_bf16()},
        "cuda": [],
        "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
    }
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out["cuda"].append({"name": torch.cuda.get_device_name(i), "bf16": torch.cuda.is_bf16_supported(),
                                "fp16": True})
    return out
