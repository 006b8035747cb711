"""Shared fixtures: backends to run on, skipped cleanly when not installed."""
from __future__ import annotations

import pytest


@pytest.fixture(params=["numpy", "torch"])
def backend(request):
    """NumPy and PyTorch CPU (skipped when torch is absent)."""
    if request.param == "torch":
        pytest.importorskip("torch")
    return request.param
