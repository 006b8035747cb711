"""Reference parity: the command line on every golden case this release covers.

Each case runs through ``xbragg.cli.main.run`` in a scratch directory holding
the golden inputs, and the float image is held to golden/README.md's tolerances.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

from golden import CARRYOVER, FULL_FRAME, cases, compare, parity_args, reference_image, stage_inputs, within_tolerance
from xbragg.cli.main import run

COVERED = [c for c in cases() if c["name"] not in FULL_FRAME]


def test_case_count():
    # 48 cases, the full supervisor frame (tests/test_supervisor.py) aside
    assert len(cases()) == 48
    assert len(COVERED) == 48 - len(FULL_FRAME)


def _run_case(c, backend, tmp_path, monkeypatch, dtype="float64"):
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = parity_args(c) + ["-floatfile", "float.bin", "-noprogress", "-nonoise", "-nopgm",
                                "--backend", backend, "--dtype", dtype]
    if c["name"] in CARRYOVER:
        args.append("--phi-carryover")
    out = io.StringIO()
    assert run(args, out=out) == 0
    ours = np.fromfile(tmp_path / "float.bin", dtype="<f4").reshape(c["spixels"], c["fpixels"])
    return ours, out.getvalue()


@pytest.mark.parametrize("c", COVERED, ids=[c["name"] for c in COVERED])
def test_parity(c, backend, tmp_path, monkeypatch):
    ours, _ = _run_case(c, backend, tmp_path, monkeypatch)
    metrics = compare(ours, reference_image(c))
    assert within_tolerance(metrics), metrics


STATS_CASES = ["cubic_default", "triclinic_misset", "mask", "roi", "oversample3_last_value"]


@pytest.mark.parametrize("name", STATS_CASES)
def test_statistics_lines_match_reference(name, tmp_path, monkeypatch):
    c = next(c for c in COVERED if c["name"] == name)
    _, printed = _run_case(c, "numpy", tmp_path, monkeypatch)
    from golden import GOLDEN
    ref_lines = (GOLDEN / name / "stdout.txt").read_text().splitlines()
    for prefix in ("max_I = ", "mean= "):
        ref = next(line for line in ref_lines if line.startswith(prefix))
        ours = next(line for line in printed.splitlines() if line.startswith(prefix))
        assert ours == ref
