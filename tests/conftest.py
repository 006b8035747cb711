"""Shared fixtures: backends to run on, skipped cleanly when not installed."""
from __future__ import annotations

import importlib.util

import pytest


def available_backends() -> list[str]:
    """numpy always; torch when installed; cupy when installed and a GPU is present."""
    out = ["numpy"]
    if importlib.util.find_spec("torch") is not None:
        out.append("torch")
    if importlib.util.find_spec("cupy") is not None:
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() > 0:
                out.append("cupy")
        except Exception:
            pass
    return out


@pytest.fixture(params=["numpy", "torch"])
def backend(request):
    """NumPy and PyTorch CPU (skipped when torch is absent)."""
    if request.param not in available_backends():
        pytest.skip(f"{request.param} not installed")
    return request.param
