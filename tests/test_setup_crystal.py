"""Cell vectors from ``-cell`` and from ``-mat`` (``build_crystal``) against the reference's formulas.

The expected vectors are worked out here, plainly, from the cell block of ``main`` in
nanoBragg.c: reciprocal lengths and angles from the cell (with its sin(gamma*) =
c V*/(a* b*)), the default orientation (a* along x, b* in the x-y plane), or the MOSFLM
matrix divided by the wavelength; the misset rotation; real space a = V (b* x c*) with the
given cell's lengths forced; reciprocal vectors re-derived from real space.  The
reference's printed vectors (golden stdout, 8 decimals) are checked for the golden cases.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import xbragg
from xbragg.errors import InputError
from xbragg.setup.crystal import build_crystal

from golden import GOLDEN, case
from reference_formulas import rotate_xyz

RTD = 180.0 / math.pi
MATRIX = GOLDEN / "inputs" / "A.mat"


def crystal(flags: str, wavelength_A: float = 1.0):
    return build_crystal(xbragg.options_from_flags(flags), wavelength_A * 1e-10)


def reciprocal_of_cell(a, b, c, alpha_deg, beta_deg, gamma_deg):
    """The reference's default orientation of a cell: a*, b*, c* (1/A) and the volume (A^3)."""
    al, be, ga = (x / RTD for x in (alpha_deg, beta_deg, gamma_deg))
    V = a * b * c * math.sqrt(1 - math.cos(al) ** 2 - math.cos(be) ** 2 - math.cos(ga) ** 2
                              + 2 * math.cos(al) * math.cos(be) * math.cos(ga))
    las, lbs, lcs = b * c * math.sin(al) / V, c * a * math.sin(be) / V, a * b * math.sin(ga) / V
    cos_as = (math.cos(be) * math.cos(ga) - math.cos(al)) / (math.sin(be) * math.sin(ga))
    cos_bs = (math.cos(ga) * math.cos(al) - math.cos(be)) / (math.sin(ga) * math.sin(al))
    cos_gs = (math.cos(al) * math.cos(be) - math.cos(ga)) / (math.sin(al) * math.sin(be))
    sin_gs = c / V / las / lbs                # the reference's expression (c V* / a* / b*)
    a_s = np.array([las, 0.0, 0.0])
    b_s = np.array([lbs * cos_gs, lbs * sin_gs, 0.0])
    c_s = np.array([lcs * cos_bs, lcs * (cos_as - cos_bs * cos_gs) / sin_gs, lcs * V / (a * b * c * sin_gs)])
    return (a_s, b_s, c_s), V


def real_and_reciprocal(a_s, b_s, c_s, lengths=None, V=None):
    """Real a, b, c (A) from reciprocal vectors, lengths forced when given; reciprocal re-derived."""
    bxc, cxa, axb = np.cross(b_s, c_s), np.cross(c_s, a_s), np.cross(a_s, b_s)
    if lengths is None:
        V = 1.0 / np.dot(a_s, bxc)
    else:
        bxc, cxa, axb = (n / V * u / np.linalg.norm(u) for n, u in zip(lengths, (bxc, cxa, axb)))
    a, b, c = V * bxc, V * cxa, V * axb
    return (a, b, c), (np.cross(b, c) / V, np.cross(c, a) / V, np.cross(a, b) / V)


def assert_crystal(cr, real_A, reciprocal):
    for got, want in zip(cr.real_axes_m, real_A):
        np.testing.assert_allclose(got, want * 1e-10, rtol=1e-12, atol=1e-22)
    for got, want in zip(cr.reciprocal_axes_per_A, reciprocal):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("cell, misset", [
    ((100, 100, 100, 90, 90, 90), None),
    ((50, 60, 70, 90, 105, 90), None),                 # monoclinic
    ((70, 80, 90, 75, 85, 95), (10, 20, 30)),          # triclinic, misset
    ((40, 40, 120, 90, 90, 120), (0, -7, 0)),          # hexagonal, one misset angle
])
def test_cell_from_cell_flag(cell, misset):
    flags = "-cell " + " ".join(map(str, cell))
    if misset is not None:
        flags += " -misset " + " ".join(map(str, misset))
    cr = crystal(flags)
    recip, V = reciprocal_of_cell(*cell)
    if misset is not None:
        recip = [rotate_xyz(v, *(m / RTD for m in misset)) for v in recip]
    real, recip = real_and_reciprocal(*recip, lengths=cell[:3], V=V)
    assert_crystal(cr, real, recip)
    # the given lengths and volume hold whatever the angles
    assert cr.cell_A_deg[:3] == pytest.approx(cell[:3], rel=1e-13)
    assert cr.volume_A3 == pytest.approx(V, rel=1e-12)
    assert cr.misset_deg == (None if misset is None else tuple(map(float, misset)))


def _matrix_reciprocal(wavelength_A):
    rows = np.loadtxt(MATRIX, max_rows=3)
    # the file's rows are x, y, z; its columns a*, b*, c*, with the wavelength in them
    return [rows[:, k] / wavelength_A for k in range(3)]


def test_cell_from_matrix():
    cr = crystal(f"-mat {MATRIX}", wavelength_A=0.9768)
    real, recip = real_and_reciprocal(*_matrix_reciprocal(0.9768))
    assert_crystal(cr, real, recip)
    assert cr.from_matrix and cr.cell_input_A_deg is None


def test_matrix_with_cell_keeps_the_orientation_and_forces_the_lengths():
    cell = (27.0, 31.0, 34.0, 90, 90, 90)
    cr = crystal(f"-mat {MATRIX} -cell " + " ".join(map(str, cell)) + " -misset 0 0 4", wavelength_A=0.9768)
    recip = [rotate_xyz(v, 0, 0, 4 / RTD) for v in _matrix_reciprocal(0.9768)]
    real, recip = real_and_reciprocal(*recip, lengths=cell[:3], V=reciprocal_of_cell(*cell)[1])
    assert_crystal(cr, real, recip)
    assert cr.cell_A_deg[:3] == pytest.approx(cell[:3], rel=1e-13)


def test_singular_matrix_is_refused_naming_mat(tmp_path):
    path = tmp_path / "flat.mat"
    path.write_text("1 2 3\n2 4 6\n0 0 1\n")
    with pytest.raises(InputError, match="-mat"):
        crystal(f"-mat {path}")


# --- the reference's own numbers ------------------------------------------------------------------

def _printed_vectors(text: str, header: str) -> np.ndarray:
    """The three rows X, Y, Z printed under ``header``, as columns a, b, c (the reference's %.8f)."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(header))
    rows = [[float(x) for x in lines[start + 2 + k].split()[1:]] for k in range(3)]
    return np.array(rows).T


@pytest.mark.parametrize("name, wavelength_A", [("cubic_default", 6.2), ("triclinic_misset", 1.5),
                                                ("supervisor_roi", 0.9768)])
def test_cell_matches_the_reference_printout(name, wavelength_A, monkeypatch):
    monkeypatch.chdir(GOLDEN / "inputs")                # -mat A.mat
    cr = crystal(case(name)["args"], wavelength_A)
    out = (GOLDEN / name / "stdout.txt").read_text()
    np.testing.assert_allclose(cr.real_axes_m * 1e10,
                               _printed_vectors(out, "real-space cell vectors"), rtol=0, atol=6e-9)
    np.testing.assert_allclose(cr.reciprocal_axes_per_A,
                               _printed_vectors(out, "reciprocal-space cell vectors"), rtol=0, atol=6e-9)
