"""docs/refinement_example.py runs and recovers the perturbed cell length and misset."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "refinement_example.py"


def test_refinement_example_converges():
    spec = importlib.util.spec_from_file_location("refinement_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(size=32, extra_flags="-oversample 1", verbose=False)
    truth, start, refined = out["truth"], out["start"], out["refined"]
    assert abs(start["a_A"] / truth["a_A"] - 1) > 0.004          # it did start off
    assert abs(start["misset_z_deg"] - truth["misset_z_deg"]) > 0.25
    assert abs(refined["a_A"] / truth["a_A"] - 1) < 5e-4        # 0.05 %
    assert abs(refined["misset_z_deg"] - truth["misset_z_deg"]) < 0.01
    assert out["history"][-1][0] < 1e-3 * out["history"][0][0]
