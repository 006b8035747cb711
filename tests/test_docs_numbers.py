"""Numbers the documentation quotes agree with the code that defines them.

Each check finds a number in a doc by the words around it and compares it with the
constant (or the behaviour) it describes; a doc reworded so that a pattern no longer
matches fails too, so the check is updated with the words.
"""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import golden
from xbragg.backends import COMPILE_MIN_EVALUATIONS, FACTS
from xbragg.constants import DEFAULT_FLUENCE, WATER_F, WATER_MW
from xbragg.cli.flags import flag_index
from xbragg.cli.parse import help_text
from xbragg.io.smv import SMV_HEADER_BYTES
from xbragg.outputs import OutputPlan, auto_int_scale, auto_pgm_scale
from xbragg.tools import compare, trace_diff

plan = importlib.import_module("xbragg.render.plan")
ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MIB = 2**20


def _module_constants(path: Path) -> dict:
    """The literal module-level constants of a file that tests cannot import (property_tests/)."""
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)}


BACKEND_TOLERANCES = _module_constants(ROOT / "property_tests" / "test_backends.py")

# (doc, pattern with one group per number, the values those numbers must equal)
CHECKS = [
    ("user-guide.md", r"compiles only renders of at least (\S+) evaluations", [COMPILE_MIN_EVALUATIONS]),
    ("performance.md", r"only for renders of at least (\S+) evaluations", [COMPILE_MIN_EVALUATIONS]),
    ("user-guide.md", r"(\d+) MiB for NumPy, which runs fastest when a tile stays in cache, and (\d+) MiB",
     [FACTS["numpy"].tile_bytes / MIB, FACTS["torch"].tile_bytes / MIB]),
    ("performance.md", r"cap: (\d+) MiB per tile for NumPy, (\d+) MiB for the",
     [FACTS["numpy"].tile_bytes / MIB, FACTS["torch"].tile_bytes / MIB]),
    ("performance.md", r"`--memory-budget`,\s+(\d+) MiB by default", [plan.DEFAULT_MEMORY_BUDGET_BYTES / MIB]),
    ("user-guide.md", r"`--memory-budget MIB` \(default (\d+)\)", [plan.DEFAULT_MEMORY_BUDGET_BYTES / MIB]),
    ("user-guide.md", r"memory_budget_bytes=(\d+) MiB", [plan.DEFAULT_MEMORY_BUDGET_BYTES / MIB]),
    ("user-guide.md", r"an estimate: (\d+) bytes, or (\d+) bytes with\s+tricubic",
     [plan._BYTES_PER_EVALUATION, plan._BYTES_PER_EVALUATION_INTERP]),
    ("user-guide.md", r"renders of at least ([\d ]+) evaluations and renders smaller",
     [plan.PROCESS_MIN_EVALUATIONS]),
    ("performance.md", r"at least (\S+) evaluations\. Threads", [plan.PROCESS_MIN_EVALUATIONS]),
    ("tools.md", r"\| `--rtol R` \| [^|]* \| `(\S+)` \|", [trace_diff.DEFAULT_RTOL]),
    ("tools.md", r"\| `--threshold T` \| [^|]* \| `(\S+)` \|", [compare.DEFAULT_THRESHOLD]),
    ("tools.md", r"`rel_floor` = (\S+) ×", [compare.REL_FLOOR]),
    ("tools.md", r"correlation ≥ (\S+),\s+relative error ≤ (\S+) above the floor, and sum ratio "
                 r"within (\S+) of 1",
     [golden.MIN_CORRELATION, golden.REL_TOL, golden.SUM_RATIO_TOL]),
    ("user-guide.md", r"`-scale` defaults to `(\d+) / max_I`", [auto_int_scale(0.0, 1.0)]),
    ("user-guide.md", r"`-pgmscale` defaults to `(\d+) / \((\d+) \* rmsd\)`",
     [auto_pgm_scale(0.0, 1.0, 1.0) * 5, 5]),
    ("user-guide.md", r"`-adc` \(default (\d+)\)", [OutputPlan.adc]),
    ("user-guide.md", r"The SMV header is (\d+) bytes", [SMV_HEADER_BYTES]),
    ("reference-behaviour.md", r"The integer and noise images have a (\d+)-byte header", [SMV_HEADER_BYTES]),
    ("reference-behaviour.md", r"relative error of at most (\S+) on pixels above (\S+) of the",
     [golden.REL_TOL, compare.REL_FLOOR]),
    ("reference-behaviour.md", r"\(F_bg = (\S+), MW = (\d+)\)", [WATER_F, WATER_MW]),
    ("reference-behaviour.md", r"\((\S+) photons/m\^2\)", [float(f"{DEFAULT_FLUENCE:.5e}")]),
    ("performance.md", r"\((\S+) relative on pixels above (\S+) of the\s+maximum, (\S+) of the maximum anywhere\)",
     [BACKEND_TOLERANCES[k] for k in ("FLOAT32_RTOL", "SIGNAL", "FLOAT32_ATOL")]),
]


def _number(text: str) -> float:
    return float(text.replace(" ", "").rstrip(".,"))


@pytest.mark.parametrize("doc, pattern, values", CHECKS, ids=[f"{d}:{p[:40]}" for d, p, _ in CHECKS])
def test_documented_number_matches_the_code(doc, pattern, values):
    text = (DOCS / doc).read_text()
    found = re.findall(pattern, text)
    assert found, f"{doc}: no text matches {pattern!r} (reworded? update the check)"
    for match in found:
        numbers = [_number(n) for n in ((match,) if isinstance(match, str) else match)]
        assert numbers == pytest.approx([float(v) for v in values], rel=1e-12), (doc, pattern)


def test_flag_table_defaults_match_the_code():
    assert float(flag_index()["--memory-budget"].default) == plan.DEFAULT_MEMORY_BUDGET_BYTES / MIB
    assert float(flag_index()["-adc"].default) == OutputPlan.adc


def test_cli_reference_lists_the_help_text():
    """docs/cli.md's flag list is ``xbragg -h`` verbatim (regenerate it as cli.md says)."""
    doc = (DOCS / "cli.md").read_text()
    block = re.search(r"## Flags\n\n```text\n(.*?)```", doc, re.S)
    assert block and block.group(1).rstrip("\n") == help_text().rstrip("\n")
