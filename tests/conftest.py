"""Shared fixtures: backends to run on (skipped cleanly when not installed), a scratch directory."""
from __future__ import annotations

import pytest


@pytest.fixture(params=["numpy", "torch"])
def backend(request):
    """NumPy and PyTorch CPU (skipped when torch is absent)."""
    if request.param == "torch":
        pytest.importorskip("torch")
    return request.param


@pytest.fixture
def scratch_directory(tmp_path, monkeypatch):
    """Run in ``tmp_path``: for runs that write into the working directory (the Fdump.bin cache)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
