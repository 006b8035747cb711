"""tests/reference/ is an exact copy of ../shared/golden (less the full frame), and
tests/reference/sync.py makes one."""
from __future__ import annotations

import importlib.util
import json

import pytest

from golden import FULL_FRAME, GOLDEN, SHARED_GOLDEN, cases


def _sync_module():
    spec = importlib.util.spec_from_file_location("reference_sync", GOLDEN / "sync.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_copy_matches_shared_golden():
    if not (SHARED_GOLDEN / "cases.json").is_file():
        pytest.skip(f"{SHARED_GOLDEN.resolve()} is absent: nothing to compare the copy with")
    lines = _sync_module().differences(SHARED_GOLDEN, GOLDEN)
    assert not lines, "tests/reference differs from ../shared/golden (run tests/reference/sync.py):\n" + \
        "\n".join(lines[:20])


def test_copy_holds_every_case_but_the_full_frame():
    names = {c["name"] for c in cases()}
    assert FULL_FRAME <= names
    for name in names - FULL_FRAME:
        c = next(c for c in cases() if c["name"] == name)
        for stored in c["files"].values():
            assert (GOLDEN / name / stored).is_file(), (name, stored)
    for name in FULL_FRAME:
        assert not (GOLDEN / name).exists()


def test_sync_copies_everything_but_the_full_frame_and_removes_stale_files(tmp_path):
    sync = _sync_module()
    source = tmp_path / "golden"
    (source / "inputs").mkdir(parents=True)
    (source / "cases.json").write_text(json.dumps([{"name": "small"}]))
    (source / "README.md").write_text("the source's own description")
    (source / "inputs" / "A.mat").write_text("1 0 0\n")
    for name in ("small", *FULL_FRAME):
        (source / name).mkdir()
        (source / name / "float.bin").write_bytes(bytes(range(8)))
    target = tmp_path / "copy"
    (target / "gone").mkdir(parents=True)
    (target / "gone" / "float.bin").write_bytes(b"stale")
    (target / "README.md").write_text("the copy's own description")
    assert sync.differences(source, target)
    sync.sync(source, target)
    assert sync.differences(source, target) == []
    assert (target / "small" / "float.bin").read_bytes() == bytes(range(8))
    assert (target / "inputs" / "A.mat").read_text() == "1 0 0\n"
    assert (target / "README.md").read_text() == "the copy's own description"
    assert not (target / "gone").exists()
    assert not any((target / name).exists() for name in FULL_FRAME)
    (source / "inputs" / "A.mat").write_text("0 1 0\n")
    assert sync.differences(source, target) == ["differs: inputs/A.mat"]


def test_only_golden_py_reaches_outside_the_repository():
    # a test that reads ../shared/golden itself passes here and fails on a fresh clone
    # (it happened: two tests read their inputs from there); golden.py decides what may
    from pathlib import Path
    PATTERN = '"shared"' + " / "     # written in two parts so that this file does not match
    root = Path(__file__).resolve().parents[1]
    offenders = [str(p.relative_to(root)) for folder in ("tests", "property_tests", "benchmarks")
                 for p in (root / folder).rglob("*.py")
                 if p.name not in ("golden.py", "sync.py") and PATTERN in p.read_text()]
    assert not offenders, f"read the reference data through tests/golden.py: {offenders}"
