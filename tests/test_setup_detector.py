"""Detector set-up (``build_detector``) against values worked out from the reference's formulas.

The expected values are computed here, plainly, from the set-up block of ``main`` in
nanoBragg.c: each convention's vectors and beam-centre mapping, its pivot (BEAM: pix0 from
the beam centre after the rotations; SAMPLE: from the near point before them), the detector
rotations (x, y, z as matrices, two-theta by Rodrigues' formula) and the values derived
afterwards (near point, ORGX/ORGY, beam spot, DIALS origin).  The reference's own printed
values (golden stdout and traces) are checked for the golden cases.
"""
from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest

import xbragg
from xbragg.setup.detector import build_detector, quoted_geometry

from golden import GOLDEN, case
from reference_formulas import rotate_xyz

RTD = 180.0 / math.pi
# the reference's vectors of each named convention: beam, fdet, sdet, odet, two-theta axis
BASIS = {
    "MOSFLM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1)),
    "DENZO": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1)),
    "ADXV": ((0, 0, 1), (1, 0, 0), (0, -1, 0), (0, 0, 1), (-1, 0, 0)),
    "XDS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0)),
    "DIALS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0)),
}
PIVOT = {"MOSFLM": "beam", "DENZO": "beam", "ADXV": "beam", "XDS": "sample", "DIALS": "sample"}

# a detector that is not square, so that a swapped axis shows; rotations about every axis
PIXEL = 0.1e-3
FPIX, SPIX = 100, 80
DETSIZE_F, DETSIZE_S = FPIX * PIXEL, SPIX * PIXEL
ANGLES_DEG = (3.0, -2.0, 5.0, 7.0)                  # rotx, roty, rotz, two-theta
DISTANCE = 0.12
GEOMETRY = (f"-detpixels_f {FPIX} -detpixels_s {SPIX} -pixel 0.1 -distance 120 "
            "-detector_rotx 3 -detector_roty -2 -detector_rotz 5 -twotheta 7")
XBEAM, YBEAM = 4.1 / 1000, 3.3 / 1000                  # the reference reads mm and divides
BEAM_FLAGS = "-Xbeam 4.1 -Ybeam 3.3"
#: metres; the arithmetic here and in xbragg differ in order, by far less than a pixel (1e-4)
ATOL = 1e-14


def build(flags: str) -> SimpleNamespace:
    """The panel, its set-up and the beam-centre forms the reference quotes, under the reference's names."""
    built = build_detector(xbragg.options_from_flags(flags))
    panel, setup = built.panel, built.setup
    quoted = quoted_geometry(panel, built.beam_direction, setup)
    pix0 = panel.origin_m
    return SimpleNamespace(
        convention=setup.convention, pivot=setup.pivot, fdet=panel.fast_axis, sdet=panel.slow_axis,
        odet=panel.normal, pix0=pix0, close_distance_m=panel.close_distance_m, distance_m=quoted.distance_m,
        Xbeam_m=quoted.beam_xy_m[0], Ybeam_m=quoted.beam_xy_m[1], Fbeam_m=quoted.beam_fs_m[0],
        Sbeam_m=quoted.beam_fs_m[1], Fclose_m=quoted.close_fs_m[0], Sclose_m=quoted.close_fs_m[1],
        ORGX=quoted.orgxy[0], ORGY=quoted.orgxy[1],
        dials_origin_mm=1000.0 * np.array([pix0[2], pix0[1], -pix0[0]]))


def beam_fs(convention: str, x: float, y: float) -> tuple[float, float]:
    """(Fbeam, Sbeam) of -Xbeam/-Ybeam as the reference maps them."""
    if convention == "MOSFLM":
        return y + PIXEL / 2, x + PIXEL / 2
    if convention == "DENZO":
        return y, x
    if convention == "ADXV":
        return x, DETSIZE_S - y
    return x, y                                                  # XDS, DIALS, CUSTOM


def rodrigues(v, k, t):
    v, k = np.asarray(v, dtype=float), np.asarray(k, dtype=float)
    return v * math.cos(t) + np.cross(k, v) * math.sin(t) + k * np.dot(k, v) * (1 - math.cos(t))


def expected(basis, pivot, beam_fs_m, near_fs_m, *, close_distance=None):
    """The reference's rotated detector: vectors, pix0, and the values derived from them."""
    beam, f0, s0, o0, axis = (np.asarray(v, dtype=float) for v in basis)
    rx, ry, rz, twotheta = (a / RTD for a in ANGLES_DEG)

    def turn(v):
        return rodrigues(rotate_xyz(v, rx, ry, rz), axis, twotheta)
    ratio = np.dot(beam, rotate_xyz(o0, rx, ry, rz))             # two-theta not included
    if close_distance is None:
        close_distance = abs(ratio * DISTANCE)
    distance = close_distance / ratio
    f, s, o = turn(f0), turn(s0), turn(o0)
    if pivot == "beam":
        pix0 = -beam_fs_m[0] * f - beam_fs_m[1] * s + distance * beam
    else:
        pix0 = turn(-near_fs_m[0] * f0 - near_fs_m[1] * s0 + close_distance * o0)
    close = np.dot(pix0, o)
    impact = close / ratio * beam - pix0
    return dict(fdet=f, sdet=s, odet=o, pix0=pix0, close_distance_m=close, distance_m=close / ratio,
                Fclose_m=-np.dot(pix0, f), Sclose_m=-np.dot(pix0, s), Fbeam_m=np.dot(f, impact),
                Sbeam_m=np.dot(s, impact), dials_origin_mm=1000.0 * np.array([pix0[2], pix0[1], -pix0[0]]))


def assert_detector(det, want):
    for name, value in want.items():
        atol = 1e-11 if name.endswith("_mm") else ATOL
        np.testing.assert_allclose(getattr(det, name), value, rtol=0, atol=atol, err_msg=name)
    assert det.ORGX == pytest.approx(want["Fclose_m"] / PIXEL + 0.5, rel=0, abs=1e-9)
    assert det.ORGY == pytest.approx(want["Sclose_m"] / PIXEL + 0.5, rel=0, abs=1e-9)


@pytest.mark.parametrize("convention", list(BASIS))
def test_named_convention_maps_the_beam_centre_and_pivots(convention):
    det = build(f"-{convention.lower()} {BEAM_FLAGS} {GEOMETRY}")
    assert det.convention == convention and det.pivot == PIVOT[convention]
    assert (det.Xbeam_m, det.Ybeam_m) == (XBEAM, YBEAM)
    # no -ORGX/-Xclose: the near point of a SAMPLE pivot is the detector's centre, whatever
    # -Xbeam says (the reference ignores -Xbeam there)
    want = expected(BASIS[convention], PIVOT[convention], beam_fs(convention, XBEAM, YBEAM),
                    (DETSIZE_F / 2, DETSIZE_S / 2))
    assert_detector(det, want)
    if PIVOT[convention] == "sample":      # the pivot keeps what it pivots about
        assert (det.Fclose_m, det.Sclose_m) == pytest.approx((DETSIZE_F / 2, DETSIZE_S / 2), abs=ATOL)


@pytest.mark.parametrize("convention, default_xy", [
    ("MOSFLM", ((DETSIZE_S + PIXEL) / 2, (DETSIZE_F + PIXEL) / 2)),
    ("DENZO", ((DETSIZE_S + PIXEL) / 2, (DETSIZE_F + PIXEL) / 2)),
    ("ADXV", ((DETSIZE_F + PIXEL) / 2, (DETSIZE_S - PIXEL) / 2)),
    ("XDS", (DETSIZE_F / 2, DETSIZE_S / 2)),
    ("DIALS", (DETSIZE_F / 2, DETSIZE_S / 2)),
])
def test_default_beam_centre_of_each_convention(convention, default_xy):
    det = build(f"-{convention.lower()} -detpixels_f {FPIX} -detpixels_s {SPIX} -pixel 0.1 -distance 120")
    assert (det.Xbeam_m, det.Ybeam_m) == pytest.approx(default_xy, rel=0, abs=ATOL)
    # no rotation: the beam spot along fast and slow is the mapped beam centre
    assert (det.Fbeam_m, det.Sbeam_m) == pytest.approx(beam_fs(convention, *default_xy), rel=0, abs=ATOL)
    if convention == "MOSFLM":     # one pixel past the centre, as the reference's cubic_default trace shows
        assert (det.Fbeam_m, det.Sbeam_m) == pytest.approx((DETSIZE_F / 2 + PIXEL, DETSIZE_S / 2 + PIXEL))


def test_explicit_pivot_with_a_named_convention():
    near = (DETSIZE_F / 2, DETSIZE_S / 2)
    mosflm = beam_fs("MOSFLM", XBEAM, YBEAM)
    # honoured (a documented difference) ...
    det = build(f"-mosflm -pivot sample {BEAM_FLAGS} {GEOMETRY}")
    assert det.pivot == "sample"
    assert_detector(det, expected(BASIS["MOSFLM"], "sample", mosflm, near))
    det = build(f"-xds -pivot beam {BEAM_FLAGS} {GEOMETRY}")
    assert det.pivot == "beam"
    assert_detector(det, expected(BASIS["XDS"], "beam", beam_fs("XDS", XBEAM, YBEAM), near))
    # ... and overwritten by the convention under --c-parity, as the reference does
    det = build(f"-mosflm -pivot sample {BEAM_FLAGS} {GEOMETRY} --c-parity")
    assert det.pivot == "beam"
    assert_detector(det, expected(BASIS["MOSFLM"], "beam", mosflm, near))


@pytest.mark.parametrize("pivot", ["beam", "sample"])
def test_custom_vectors_take_the_beam_centre_as_given(pivot):
    # CUSTOM: no half pixel, no swap; -Xbeam/-Ybeam are also the near point of a SAMPLE pivot
    basis = ((0, 0.6, 0.8), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 1, 0))
    # CUSTOM takes the last pivot-setting flag: -twotheta (in GEOMETRY) sets SAMPLE, -pivot after it wins
    flags = ("-beam_vector 0 0.6 0.8 -fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 1 0 0 "
             f"-twotheta_axis 0 1 0 {BEAM_FLAGS} {GEOMETRY} -pivot {pivot}")
    det = build(flags)
    assert det.convention == "CUSTOM" and det.pivot == pivot
    assert_detector(det, expected(basis, pivot, (XBEAM, YBEAM), (XBEAM, YBEAM)))


def test_custom_odet_is_fast_cross_slow_when_not_a_unit_vector():
    det = build(f"-fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 2 0 0 -pivot beam {GEOMETRY}")
    rx, ry, rz, twotheta = (a / RTD for a in ANGLES_DEG)
    o = rodrigues(rotate_xyz(np.cross((0, 0, 1), (0, -1, 0)), rx, ry, rz), (0, 1, 0), twotheta)
    np.testing.assert_allclose(det.odet, o, rtol=0, atol=ATOL)


def test_orgx_orgy_and_close_distance_place_the_near_point():
    det = build(f"-xds -ORGX 60 -ORGY 70 -close_distance 90 {GEOMETRY}")
    near = ((60 - 0.5) * PIXEL, (70 - 0.5) * PIXEL)
    want = expected(BASIS["XDS"], "sample", beam_fs("XDS", *near), near, close_distance=0.09)
    assert_detector(det, want)
    assert (det.ORGX, det.ORGY, det.close_distance_m) == pytest.approx((60, 70, 0.09), rel=0, abs=1e-9)


# --- the reference's own numbers ------------------------------------------------------------------

def _printed(text: str, label: str) -> list[float]:
    """Numbers after ``label`` on the line that has it (the reference prints with %g)."""
    line = next(ln for ln in text.splitlines() if label in ln)
    return [float(x) for x in re.match(r"\s*((?:[-+]?[0-9.]+(?:e[-+]?[0-9]+)?\s*)+)",
                                       line.split(label, 1)[1]).group(1).split()]


def _trace(text: str, key: str) -> np.ndarray:
    line = next(ln for ln in text.splitlines() if ln.startswith(f"TRACE_C: {key} "))
    return np.array([float(x) for x in line.split()[2:]])


@pytest.mark.parametrize("name", ["cubic_default", "tilted_detector", "conv_xds", "conv_adxv", "conv_denzo",
                                  "conv_dials", "pivot_orgx", "pivot_sample_close", "custom_vectors",
                                  "supervisor_roi"])
def test_detector_matches_the_reference_printout(name):
    det = build(case(name)["args"])
    out = (GOLDEN / name / "stdout.txt").read_text()

    def close(value, printed):      # 6 significant digits printed; a printed 0 may be ~1e-17
        np.testing.assert_allclose(value, printed, rtol=1e-5, atol=1e-9, err_msg=name)
    close(det.fdet, _printed(out, "DIRECTION_OF_DETECTOR_X-AXIS="))
    close(det.sdet, _printed(out, "DIRECTION_OF_DETECTOR_Y-AXIS="))
    close(det.odet, _printed(out, "DIRECTION_OF_DETECTOR_Z-AXIS="))
    close([det.Xbeam_m, det.Ybeam_m], _printed(out, "Xbeam=")[:1] + _printed(out, "Ybeam="))
    close([det.Fbeam_m, det.Sbeam_m], _printed(out, "Fbeam=")[:1] + _printed(out, "Sbeam="))
    close([det.Fclose_m, det.Sclose_m], _printed(out, "Fclose=")[:1] + _printed(out, "Sclose="))
    close(det.distance_m, _printed(out, "distance=")[0])
    close(det.dials_origin_mm, _printed(out, "dials origin="))


@pytest.mark.parametrize("name", ["cubic_default", "tilted_detector", "supervisor_roi"])
def test_pix0_and_axes_match_the_reference_trace(name):
    det = build(case(name)["args"])
    trace = (GOLDEN / name / "trace.txt").read_text()
    # %.15g in the trace
    np.testing.assert_allclose(det.pix0, _trace(trace, "pix0_vector_meters"), rtol=2e-14, atol=1e-17)
    np.testing.assert_allclose(det.fdet, _trace(trace, "fdet_vec"), rtol=2e-14, atol=1e-17)
    np.testing.assert_allclose(det.sdet, _trace(trace, "sdet_vec"), rtol=2e-14, atol=1e-17)
