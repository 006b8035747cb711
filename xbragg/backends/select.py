"""Backend selection: a backend's namespace, device and dtype by name, and arrays back to NumPy.

Optional backends are imported only when asked for; a missing one raises a
clear error naming the extra to install.
"""
from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from ..errors import XbraggError

BACKENDS = ("numpy", "torch", "cupy", "array_api_strict")
_EXTRAS = {"torch": "pip install torch==2.13.0  (or: pip install 'xbragg[torch]')",
           "cupy": "pip install 'xbragg[cupy]'",
           "array_api_strict": "pip install 'xbragg[test]'"}


class BackendError(XbraggError):
    """A backend, device or dtype that cannot be used here."""


def namespace(backend: str):
    """The array-API namespace of ``backend`` (compat-wrapped where needed)."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "numpy":
        # NumPy 2.1 and later implement the standard in their own namespace; array_api_compat's
        # wrapper of it costs a tenth of a second of imports (it loads f2py, testing, ma, ...)
        return np
    try:
        importlib.import_module(backend)
    except ImportError as exc:
        raise BackendError(f"backend {backend!r} is not installed: {_EXTRAS[backend]}") from exc
    if backend == "torch":
        import array_api_compat.torch as xp
        return xp
    if backend == "cupy":
        import array_api_compat.cupy as xp
        return xp
    import array_api_strict as xp
    return xp


def backend_of(xp) -> str:
    """The backend name of an array namespace (the inverse of :func:`namespace`)."""
    from array_api_compat import (is_array_api_strict_namespace, is_cupy_namespace, is_numpy_namespace,
                                  is_torch_namespace)
    for name, test in (("numpy", is_numpy_namespace), ("torch", is_torch_namespace),
                       ("cupy", is_cupy_namespace), ("array_api_strict", is_array_api_strict_namespace)):
        if test(xp):
            return name
    raise BackendError(f"no xbragg backend for the array namespace {xp!r}")


def resolve_dtype(xp, dtype: str):
    """The namespace's dtype object for ``"float64"`` or ``"float32"``."""
    if dtype not in ("float64", "float32"):
        raise BackendError(f"unknown dtype {dtype!r}; choose float64 or float32")
    return getattr(xp, dtype)


def resolve_device(xp, backend: str, device: str | None) -> Any:
    """A device object for ``device`` (None: the backend's default, CPU for torch).

    Raises :class:`BackendError` for a device the backend cannot use.
    """
    try:
        return _device(xp, backend, device)
    except (RuntimeError, ValueError, TypeError) as exc:   # e.g. torch.device("nosuch")
        raise BackendError(f"cannot use device {device!r} with backend {backend}: {exc}") from None


def _device(xp, backend: str, device: str | None) -> Any:
    if backend == "torch":
        import torch
        dev = torch.device(device or "cpu")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise BackendError("device 'cuda' requested but PyTorch sees no CUDA device")
        return dev
    if backend == "array_api_strict":
        if device is None:
            return None
        return xp.Device(device)
    if backend == "cupy":
        import cupy
        return cupy.cuda.Device(int(device.split(":")[-1]) if device and ":" in device else 0)
    if device not in (None, "cpu"):
        raise BackendError(f"backend numpy runs on the CPU only, not on {device!r}")
    return None


def to_numpy(array) -> np.ndarray:
    """Copy any supported backend's array to a host NumPy array (edges only)."""
    mod = type(array).__module__
    if mod.startswith("torch"):
        return array.detach().cpu().numpy()
    if mod.startswith("cupy"):
        return array.get()
    if mod.startswith("array_api_strict"):
        import array_api_strict as xs
        return np.asarray(xs.asarray(array, device=xs.Device("CPU_DEVICE")) if hasattr(xs, "Device") else array)
    return np.asarray(array)
