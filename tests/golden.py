"""Access to the reference parity data: the in-repo copy tests/reference/ (see its README.md),
and the runs of the reference program and of xbragg's command line that tests compare with it.

The full-frame case (FULL_FRAME) is too large for the repository: it is read from
../shared/golden, and its tests are skipped when that is absent.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xbragg.cli.main import run
from xbragg.tools.compare import image_metrics, relative_differences
from xbragg.tools.trace_diff import DEFAULT_RTOL, Entry, compare_entries, format_table, parse_lines

#: the in-repo copy of ../shared/golden (refreshed by tests/reference/sync.py)
GOLDEN = Path(__file__).resolve().parent / "reference"
#: the original golden data beside the project (may be absent, as on a fresh clone)
SHARED_GOLDEN = Path(__file__).resolve().parents[1] / ".." / "shared" / "golden"
#: reference outputs beyond the golden cases (see its README.md)
EXTRA = Path(__file__).resolve().parent / "reference_extra"
#: the reference program, built outside the repository; the tests that run it skip without it
NB_C_BIN = os.environ.get("NB_C_BIN")
needs_reference = pytest.mark.skipif(not NB_C_BIN, reason="set NB_C_BIN to the reference nanoBragg binary")

# cases the reference rendered with its phi carry-over: run with --phi-carryover
CARRYOVER = {"phi_from_zero", "supervisor_roi", "supervisor_full"}
# full-frame cases: rendered by tests/test_supervisor.py, not in the per-backend parity loop
FULL_FRAME = {"supervisor_full"}

# cases whose stored image is not what the flags mean in xbragg, with the flags that give it.
# misset_random: the binary that made the data matched flags by substring (as nanoBragg.c's
# strstr(argv[i], "-misset") does), so "-misset_seed 777 -floatfile float.bin" was ALSO read
# as "-misset 777 <atof('-floatfile')=0> <atof('float.bin')=0>", which replaced the random
# misset by a 777-degree rotation about x (checked: the reference run with "-misset 777 0 0"
# gives the stored image bit for bit).  gs_nanoBragg.c itself (exact strcmp for -misset) draws
# the random orientation, which tests/test_random.py holds xbragg to.
REFERENCE_READING = {
    "misset_random": ("-misset random -misset_seed 777", "-misset 777 0 0"),
}


def parity_args(c: dict) -> list[str]:
    """The case's flags as the reference that made the stored data read them."""
    args = c["args"]
    if c["name"] in REFERENCE_READING:
        given, read = REFERENCE_READING[c["name"]]
        assert given in args
        args = args.replace(given, read)
    return args.split()

# relative error on pixels above REL_FLOOR (xbragg.tools.compare) of the maximum, correlation,
# sum ratio
REL_TOL = 1e-5
MIN_CORRELATION = 0.999999
SUM_RATIO_TOL = 1e-6


def cases() -> list[dict]:
    """Every case of cases.json."""
    return json.loads((GOLDEN / "cases.json").read_text())


def extra_image(name: str, size: int) -> np.ndarray:
    """A stored reference image of tests/reference_extra/, (size, size) float32."""
    raw = gzip.decompress((EXTRA / name / "float.bin.gz").read_bytes())
    return np.frombuffer(raw, dtype="<f4").reshape(size, size)


def case(name: str) -> dict:
    """One case by name."""
    return next(c for c in cases() if c["name"] == name)


def case_dir(name: str) -> Path:
    """The directory of a case's stored outputs; skips the calling test when a full-frame
    case is wanted and ../shared/golden does not hold it."""
    if name not in FULL_FRAME:
        return GOLDEN / name
    path = SHARED_GOLDEN / name
    if not path.is_dir():
        pytest.skip(f"{name}: the full-frame reference (23 MB) is kept out of the repository; "
                    f"it needs {SHARED_GOLDEN.resolve() / name}, which is absent")
    return path


def reference_image(c: dict) -> np.ndarray:
    """The reference float image, (spixels, fpixels) float32."""
    path = case_dir(c["name"]) / c["files"]["float"]
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return np.frombuffer(raw, dtype="<f4").reshape(c["spixels"], c["fpixels"])


def stage_inputs(workdir: Path) -> None:
    """Copy the input files into a scratch working directory (the run writes Fdump.bin there)."""
    for f in (GOLDEN / "inputs").iterdir():
        shutil.copy(f, workdir / f.name)


def run_reference(flags: list[str], workdir: Path) -> tuple[np.ndarray, str]:
    """Run the reference program (NB_C_BIN) single-threaded in ``workdir`` with ``flags`` and
    ``-nonoise -nopgm``; (its float image, flat float32; its standard output).  It reads and
    writes Fdump.bin in ``workdir``."""
    done = subprocess.run([NB_C_BIN, *flags, "-floatfile", "ref.bin", "-nonoise", "-nopgm"], cwd=workdir,
                          check=True, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    return np.fromfile(workdir / "ref.bin", dtype="<f4"), done.stdout


def run_xbragg(flags: list[str], workdir: Path) -> tuple[np.ndarray, str]:
    """Run xbragg's command line in this process with ``flags`` and ``-nonoise -nopgm
    -noprogress``, its images to ``workdir``/x.bin and x.img, asserting exit status 0;
    (the float image, flat float32; the standard output)."""
    out = io.StringIO()
    assert run([*flags, "-floatfile", str(workdir / "x.bin"), "-intfile", str(workdir / "x.img"),
                "-nonoise", "-nopgm", "-noprogress"], out) == 0
    return np.fromfile(workdir / "x.bin", dtype="<f4"), out.getvalue()


def note_lines(stdout: str) -> list[str]:
    """The ``note: `` lines of a run's standard output."""
    return [line for line in stdout.splitlines() if line.startswith("note: ")]


def compare(ours: np.ndarray, ref: np.ndarray) -> dict:
    """Parity metrics of golden/README.md: ``xbragg compare``'s, and ``n_bad``, the pixels
    above the relative-error floor whose relative error exceeds REL_TOL."""
    metrics = image_metrics(ours, ref)
    metrics["n_bad"] = int((relative_differences(ours, ref) > REL_TOL).sum())
    return metrics


def within_tolerance(m: dict) -> bool:
    """True when the metrics meet every golden tolerance."""
    return (m["max_rel_diff"] <= REL_TOL and m["correlation"] >= MIN_CORRELATION
            and abs(m["sum_ratio"] - 1) <= SUM_RATIO_TOL)


def per_pixel_trace(text: str, prefix: str) -> list[Entry]:
    """The quantities of a trace's ``prefix`` lines from ``pix0_vector_meters`` on (the
    per-pixel chain), parsed and numbered by ``xbragg trace-diff``'s reader."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if line.startswith(f"{prefix}: pix0_vector_meters")), len(lines))
    return list(parse_lines(line for line in lines[start:] if line.startswith(prefix)))


def assert_trace_matches(ref: list[Entry], ours: list[Entry], rtol: float = DEFAULT_RTOL) -> None:
    """Every quantity of ``ref`` is in ``ours`` and none diverges by ``xbragg trace-diff``'s
    rules (quantities only in ours are allowed)."""
    cmp = compare_entries(ref, ours, rtol=rtol)
    missing = [cmp.label(row) for row in cmp.rows if row.status == "only_ref"]
    assert not cmp.diverges and not missing, f"missing {missing}\n" + format_table(cmp)
