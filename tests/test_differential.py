"""Differential test: random nanoBragg flag combinations, the reference program against xbragg.

Needs the reference binary: NB_C_BIN=/path/to/nanoBragg (built outside the repository);
skipped otherwise.  XB_DIFF_EXAMPLES sets the number of examples (default 25).  Each
example runs both programs (xbragg with ``--c-parity``: every known reference behaviour) in a
fresh scratch directory holding the golden input files and compares the float images at the
golden tolerances.

The generator only writes commands that mean the same under the reference's substring flag
matching (``strstr``) as under xbragg's exact matching:
- ``-misset_seed`` and ``-mosaic_seed`` come before ``-misset`` and ``-mosaic`` (the
  reference also reads ``-misset_seed S`` as ``-misset S ...``);
- ``-mosaic_domains`` comes before ``-mosaic`` for the same reason;
- ``-oversample_thick/_polar/_omega`` come before ``-oversample N`` (the reference also reads
  each as ``-oversample <next value>``), and ``-oversample N`` is then always given;
- ``-twotheta_axis`` comes before ``-twotheta A`` (also read as ``-twotheta <x>``), which is
  then always given.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from golden import compare, needs_reference, run_reference, stage_inputs, within_tolerance
from xbragg.cli.main import run

pytestmark = pytest.mark.differential

EXAMPLES = int(os.environ.get("XB_DIFF_EXAMPLES", "25"))

#: what makes xbragg reproduce the reference's own behaviours (docs/reference-behaviour.md)
C_PARITY_FLAGS = ["--c-parity"]

CONVENTIONS = ("MOSFLM", "XDS", "DIALS", "ADXV", "DENZO", "CUSTOM")


def _num(draw, lo: float, hi: float, digits: int = 3) -> str:
    return f"{draw(st.floats(lo, hi)):.{digits}f}"


def _unit_near(draw, axis: tuple[float, float, float], spread: float = 0.15) -> list[str]:
    v = np.array(axis, dtype=float) + np.array([draw(st.floats(-spread, spread)) for _ in range(3)])
    return [f"{c:.6f}" for c in v / np.linalg.norm(v)]


@st.composite
def commands(draw) -> list[str]:
    """A nanoBragg command (without output flags) over a 16-64 pixel detector."""
    flags: list[str] = []
    # --- crystal ---------------------------------------------------------------------------
    if draw(st.integers(0, 5)) == 0:
        flags += ["-mat", "A.mat"]
    else:
        abc = [_num(draw, 40.0, 120.0, 2) for _ in range(3)]
        angles = ["90", "90", "90"] if draw(st.booleans()) else [_num(draw, 75.0, 105.0, 2) for _ in range(3)]
        flags += ["-cell", *abc, *angles]
    misset = draw(st.sampled_from(["none", "angles", "random"]))
    if misset == "angles":
        flags += ["-misset", *(_num(draw, -180.0, 180.0) for _ in range(3))]
    elif misset == "random":
        flags += ["-misset_seed", str(draw(st.integers(1, 10**6))), "-misset", "random"]
    if draw(st.booleans()):
        flags += ["-N", str(draw(st.integers(1, 8)))]
    else:
        for axis in ("-Na", "-Nb", "-Nc"):
            flags += [axis, str(draw(st.integers(1, 8)))]
    shape = draw(st.sampled_from(["square", "round", "gauss", "tophat", "default"]))
    if shape != "default":
        flags.append("-tophat_spots" if shape == "tophat" else f"-{shape}_xtal")
        if shape != "square" and draw(st.booleans()):
            flags += ["-fudge", _num(draw, 0.5, 2.0)]
    if draw(st.integers(0, 2)) == 0:
        if draw(st.booleans()):
            flags += ["-mosaic_domains", str(draw(st.integers(1, 4)))]
        flags += ["-mosaic_seed", str(draw(st.integers(1, 10**6))), "-mosaic", _num(draw, 0.05, 2.0)]
    # --- structure factors ---------------------------------------------------------------------
    flags += ["-default_F", _num(draw, 1.0, 300.0, 1)]
    hkl = draw(st.sampled_from([None, "pattern.hkl", "grid3.hkl"]))
    if hkl is not None:
        flags += ["-hkl", hkl]
        interp = draw(st.sampled_from([None, "-interpolate", "-nointerpolate"]))
        if interp is not None:
            flags.append(interp)
    # --- beam ----------------------------------------------------------------------------------
    if draw(st.booleans()):
        flags += ["-lambda", _num(draw, 0.7, 2.5)]
    elif draw(st.booleans()):
        flags += ["-energy", _num(draw, 6000.0, 15000.0, 1)]
    sources = draw(st.sampled_from(["one", "divergence", "dispersion", "both", "file"]))
    if sources in ("divergence", "both"):
        if draw(st.booleans()):
            flags += ["-divergence", _num(draw, 0.05, 2.0)]
        else:
            flags += ["-hdivrange", _num(draw, 0.05, 2.0), "-vdivrange", _num(draw, 0.05, 2.0)]
        flags += ["-divsteps", str(draw(st.integers(1, 3)))]
        if draw(st.booleans()):
            flags.append(draw(st.sampled_from(["-square_div", "-round_div"])))
    if sources in ("dispersion", "both"):
        if draw(st.integers(0, 3)):
            flags += ["-dispersion", _num(draw, 0.05, 3.0)]
        if draw(st.booleans()):
            flags += ["-dispsteps", str(draw(st.integers(1, 3)))]
    if sources == "file":
        flags += ["-sourcefile", "sources.txt"]
    if draw(st.integers(0, 4)) == 0:
        flags.append("-nopolar")
    elif draw(st.booleans()):
        flags += ["-polar", _num(draw, 0.0, 1.0)]
    fluence = draw(st.sampled_from(["none", "fluence", "flux"]))
    if fluence == "fluence":
        flags += ["-fluence", f"{draw(st.floats(1e20, 1e30)):.4e}"]
    elif fluence == "flux":
        flags += ["-flux", f"{draw(st.floats(1e10, 1e14)):.4e}", "-exposure", _num(draw, 0.1, 10.0),
                  "-beamsize", _num(draw, 0.01, 0.5)]
    if draw(st.integers(0, 5)) == 0:
        flags += ["-water", _num(draw, 1.0, 200.0, 1)]
    # --- detector ------------------------------------------------------------------------------
    header = draw(st.sampled_from([None, None, None, None, "-img", "-mask"]))
    if header is not None:
        flags += [header, "header.img" if header == "-img" else "mask.img"]
    else:
        if draw(st.booleans()):
            flags += ["-detpixels", str(draw(st.integers(16, 64)))]
        else:
            flags += ["-detpixels_f", str(draw(st.integers(16, 64))),
                      "-detpixels_s", str(draw(st.integers(16, 64)))]
        flags += ["-pixel", _num(draw, 0.05, 0.3)]
    convention = draw(st.sampled_from(CONVENTIONS))
    if convention == "CUSTOM":
        flags += ["-fdet_vector", *_unit_near(draw, (0, 0, 1)), "-sdet_vector", *_unit_near(draw, (0, -1, 0)),
                  "-odet_vector", *_unit_near(draw, (1, 0, 0)), "-beam_vector", *_unit_near(draw, (1, 0, 0), 0.02)]
    elif convention != "MOSFLM" or draw(st.booleans()):
        flags.append(f"-{convention.lower()}")
    distance = draw(st.sampled_from(["-distance", "-close_distance", None]))
    if distance is not None:
        flags += [distance, _num(draw, 40.0, 300.0, 2)]
    beam = draw(st.sampled_from(["none", "beam", "close", "org"]))
    if beam == "beam":
        flags += ["-Xbeam", _num(draw, 0.0, 6.0), "-Ybeam", _num(draw, 0.0, 6.0)]
    elif beam == "close":
        flags += ["-Xclose", _num(draw, 0.0, 6.0), "-Yclose", _num(draw, 0.0, 6.0)]
    elif beam == "org":
        flags += ["-ORGX", _num(draw, 0.0, 64.0, 2), "-ORGY", _num(draw, 0.0, 64.0, 2)]
    if draw(st.booleans()):
        for r in ("-detector_rotx", "-detector_roty", "-detector_rotz"):
            if draw(st.booleans()):
                flags += [r, _num(draw, -8.0, 8.0)]
    if draw(st.integers(0, 2)) == 0:
        if draw(st.booleans()):
            flags += ["-twotheta_axis", *_unit_near(draw, (0, 0, -1), 0.5)]
        flags += ["-twotheta", _num(draw, -25.0, 25.0)]
    if draw(st.integers(0, 3)) == 0:
        flags += ["-pivot", draw(st.sampled_from(["beam", "sample"]))]
    if draw(st.integers(0, 5)) == 0:
        flags.append("-curved_det")
    if draw(st.integers(0, 5)) == 0:
        flags.append("-point_pixel")
    if draw(st.integers(0, 3)) == 0:
        sensor = [["-detector_thick", _num(draw, 20.0, 400.0, 1)],
                  ["-detector_abs", draw(st.sampled_from(["inf", "0", _num(draw, 50.0, 1000.0, 1)]))]]
        if draw(st.booleans()):
            sensor.append(["-detector_thicksteps", str(draw(st.integers(1, 3)))])
        for i in draw(st.permutations(range(len(sensor)))):
            flags += sensor[i]
    switches = [s for s in ("-oversample_thick", "-oversample_polar", "-oversample_omega")
                if draw(st.integers(0, 4)) == 0]
    flags += switches
    if switches or draw(st.booleans()):
        flags += ["-oversample", str(draw(st.integers(1, 3)))]
    if draw(st.integers(0, 5)) == 0:
        flags += ["-dmin", _num(draw, 1.0, 10.0)]
    if draw(st.integers(0, 4)) == 0:
        x0, y0 = draw(st.integers(0, 20)), draw(st.integers(0, 20))
        flags += ["-roi", str(x0), str(x0 + draw(st.integers(0, 30))), str(y0), str(y0 + draw(st.integers(0, 30)))]
    # --- spindle -------------------------------------------------------------------------------
    phi = draw(st.sampled_from(["none", "start", "osc", "steps"]))
    if phi != "none":
        flags += ["-phi", draw(st.sampled_from(["0", _num(draw, -90.0, 90.0)]))]
    if phi in ("osc", "steps"):
        flags += ["-osc", _num(draw, 0.0, 3.0)]
    if phi == "steps":
        flags += ["-phisteps", str(draw(st.integers(1, 4)))]
    return flags


def run_xbragg(flags: list[str], workdir: Path) -> np.ndarray:
    """xbragg's float image for ``flags`` with :data:`C_PARITY_FLAGS`, in ``workdir``."""
    (workdir / "Fdump.bin").unlink(missing_ok=True)
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        status = run([*flags, *C_PARITY_FLAGS, "-floatfile", "x.bin", "-nonoise", "-nopgm", "-noprogress"])
    finally:
        os.chdir(cwd)
    assert status == 0
    return np.fromfile(workdir / "x.bin", dtype="<f4")


def differences(flags: list[str]) -> dict | None:
    """None when both programs agree within the golden tolerances, else the metrics."""
    with tempfile.TemporaryDirectory(prefix="xb-diff-") as tmp:
        workdir = Path(tmp)
        stage_inputs(workdir)
        ref, _ = run_reference(flags, workdir)
        ours = run_xbragg(flags, workdir)
    if ours.shape != ref.shape:
        return {"sizes": (ours.size, ref.size)}
    if np.array_equal(ours, ref, equal_nan=True):
        # also when both overflow to inf in the same pixels, which the metrics count as a failure
        return None
    m = compare(ours.reshape(-1, 1), ref.reshape(-1, 1))
    return None if within_tolerance(m) else m


@needs_reference
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(flags=commands())
def test_xbragg_matches_the_reference(flags):
    result = differences(flags)
    assert result is None, f"{' '.join(flags)}: {result}"
