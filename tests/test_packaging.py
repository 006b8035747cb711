"""Packaging and first-run hygiene: pyproject's metadata, the warning filters, .gitignore."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pyproject():
    tomllib = pytest.importorskip("tomllib")        # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_an_spdx_string(pyproject):
    # a {text = ...} table is deprecated by setuptools; the string form needs setuptools >= 77
    assert pyproject["project"]["license"] == "BSD-3-Clause"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]


def test_warning_filters_ignore_only_third_party_warnings(pyproject):
    for entry in pyproject["tool"]["pytest"]["ini_options"]["filterwarnings"]:
        action, _message, category, module = entry.split(":")[:4]
        assert action == "ignore" and category and module, entry
        assert not module.startswith(("xbragg", "tests", "property_tests")), entry


def test_torch_jit_deprecation_is_filtered(tmp_path):
    """The filter matches the warning PyTorch really emits (and only with it is the run clean)."""
    pytest.importorskip("torch")
    (tmp_path / "test_import.py").write_text("def test_import():\n    import torch.utils.mkldnn\n")

    def warnings_summary(config: Path) -> str:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(config),
                               "--rootdir", str(tmp_path), str(tmp_path / "test_import.py")],
                              capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    bare = tmp_path / "bare.toml"
    bare.write_text("[tool.pytest.ini_options]\n")
    assert "torch.jit.script_method` is deprecated" in warnings_summary(bare)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert "warning" not in warnings_summary(tmp_path / "pyproject.toml").lower()


@pytest.mark.parametrize("path, ignored", [
    ("floatimage.bin", True), ("intimage.img", True), ("noiseimage.img", True), ("Fdump.bin", True),
    ("image.pgm", True), ("sub/dir/x.pgm", True),
    ("tests/reference/outputs_scaled/image.pgm", False), ("tests/reference/cubic_default/float.bin", False),
    ("tests/reference/outputs_scaled/int.img", False),
])
def test_gitignore_covers_what_a_first_run_writes(path, ignored):
    in_work_tree = shutil.which("git") and not subprocess.run(["git", "rev-parse"], cwd=ROOT,
                                                              capture_output=True).returncode
    if not in_work_tree:
        pytest.skip("not a git work tree")
    done = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
    assert done.returncode == (0 if ignored else 1), path
