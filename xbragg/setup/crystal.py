"""Unit cell, orientation and crystal size from the flags (reference: the cell block of ``main``).

The crystal is built without mosaicity or structure factors; :func:`~xbragg.setup.experiment.build_experiment`
adds those once they are drawn and read.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..constants import RTD
from ..errors import InputError
from ..io.matrix import read_mosflm_matrix
from ..kernel.vectors import cross3, dot3
from ..models import Crystal
from .geometry import magnitude, misset, orientation_map, real_from_reciprocal, reciprocal_from_cell
from .options import SimulationOptions


def _reciprocal_from_cell(cell: list[float], angles: list[float]) -> tuple[tuple[np.ndarray, ...], float]:
    """Reciprocal vectors and volume of a ``-cell``, refusing an impossible one."""
    with np.errstate(all="ignore"):     # a degenerate cell is refused below, by its values
        vectors, V_cell, lengths = reciprocal_from_cell(np, *cell, *angles)
    if V_cell <= 0.0:
        raise InputError(f"impossible unit cell (volume {float(V_cell):g} A^3)", flag="-cell")
    if any(x <= 0 for x in lengths):
        raise InputError("impossible reciprocal cell lengths from these angles", flag="-cell")
    return vectors, float(V_cell)


def _angle(sin_v: float, cos_v: float) -> float:
    sin_v = min(max(sin_v, -1.0), 1.0)
    if cos_v * cos_v > 1.0:
        cos_v = 1.0
    return math.atan2(sin_v, cos_v)


def build_crystal(opts: SimulationOptions, wavelength_m: float, *,
                  misset_rad: tuple[float, float, float] | None = None) -> Crystal:
    """Cell vectors from ``-cell`` or ``-mat`` (see :func:`_build_crystal`), with degenerate
    input (a singular, overflowing or non-finite matrix or cell) reported as an
    :class:`InputError` naming the flag instead of an arithmetic exception."""
    flag = "-mat" if opts.mat_path is not None else "-cell"
    try:
        crystal = _build_crystal(opts, wavelength_m, misset_rad=misset_rad)
    except (ZeroDivisionError, OverflowError, ValueError) as exc:
        raise InputError(f"the crystal cannot be built from these values ({exc}); the cell or "
                         "matrix is degenerate or out of range", flag=flag) from None
    values = np.concatenate([crystal.real_axes_m.ravel(), crystal.reciprocal_axes_per_A.ravel()])
    lengths = [magnitude(v) for v in crystal.real_axes_m]
    if not np.all(np.isfinite(values)) or not all(x > 0.0 for x in lengths):
        raise InputError("the cell or matrix gives non-finite or zero cell vectors (singular, "
                         "overflowing or NaN input)", flag=flag)
    return crystal


def _build_crystal(opts: SimulationOptions, wavelength_m: float, *,
                   misset_rad: tuple[float, float, float] | None = None) -> Crystal:
    """Cell vectors from ``-cell`` or ``-mat``, misset applied, cell counts from sizes.

    ``misset_rad`` (x, y, z rotations in radians, e.g. drawn for ``-misset random``)
    replaces ``opts.misset_deg`` when given.
    """
    user_cell = opts.cell_A is not None
    if not user_cell and opts.mat_path is None:
        raise InputError("no crystal given: use -cell a b c alpha beta gamma or -mat A.mat",
                         flag="-cell")
    cell = [0.0, 0.0, 0.0]
    angles = [0.0, 0.0, 0.0]
    cell_input = None
    if user_cell:
        given = list(opts.cell_A)
        cell[: len(given)] = given
        if opts.cell_angles_deg is not None:
            for i, v in enumerate(opts.cell_angles_deg):
                angles[i] = v / RTD
        if cell[0] <= 0:
            raise InputError(f"cell length a must be positive, got {cell[0]:g}", flag="-cell")
        if cell[1] <= 0:
            cell[1] = cell[0]
        if cell[2] <= 0:
            cell[2] = cell[0]
        angles = [x if x > 0 else math.pi / 2 for x in angles]
        (a_star, b_star, c_star), V_cell = _reciprocal_from_cell(cell, angles)
        cell_input = (*cell, *(x * RTD for x in angles))
    if opts.mat_path is not None:
        # a matrix replaces the orientation (and, with -cell too, the reciprocal vectors)
        raw = read_mosflm_matrix(opts.mat_path, flag="-mat")
        scale = 1e-10 / wavelength_m
        a_star, b_star, c_star = (np.array([scale * v[i] for i in range(3)]) for v in raw)

    misset_angles = None
    if misset_rad is not None:
        rx, ry, rz = (float(x) for x in misset_rad)
        misset_angles = (rx * RTD, ry * RTD, rz * RTD)
    elif opts.misset_deg is not None:
        misset_angles = tuple(float(x) for x in opts.misset_deg)
        rx, ry, rz = (x / RTD for x in misset_angles)
    # the given cell's lengths and volume are forced on the real axes (reference -cell branch)
    given_cell = dict(cell_A=cell, V_cell=V_cell) if user_cell else {}
    with np.errstate(all="ignore"):     # a singular or overflowing matrix is refused by its values
        if misset_angles is not None:
            a_star, b_star, c_star = misset(np, (a_star, b_star, c_star), rx, ry, rz)
        (a, b, c), (a_star, b_star, c_star), V_cell, V_star = real_from_reciprocal(
            np, a_star, b_star, c_star, **given_cell)
    if V_star == 0.0:
        raise InputError("the orientation matrix is singular (zero reciprocal volume)", flag="-mat")
    V_cell, V_star = float(V_cell), float(V_star)

    crystal = _crystal(opts, (a, b, c), (a_star, b_star, c_star), V_cell, V_star, misset_deg=misset_angles,
                       cell_input=cell_input, from_matrix=opts.mat_path is not None)
    if opts.mat_path is None:
        return crystal
    # the matrix's orientation before the misset, a* b* c* = R_misset U B(cell), kept constant by
    # xbragg.differentiable, whose cell parameters start from this cell
    return replace(crystal, orientation=_orientation(cell_input or crystal.cell_A_deg, (a_star, b_star, c_star),
                                                     misset_angles))


def _orientation(cell_A_deg, reciprocal, misset_deg) -> np.ndarray:
    """The map U with a*, b*, c* = R_misset U B(cell) (:func:`orientation_map`) of a cell (A, deg)."""
    a0, b0, c0, alpha0, beta0, gamma0 = cell_A_deg
    B, _, _ = reciprocal_from_cell(np, np.float64(a0), np.float64(b0), np.float64(c0),
                                   np.float64(alpha0) / RTD, np.float64(beta0) / RTD, np.float64(gamma0) / RTD)
    misset_rad = [x / RTD for x in (misset_deg or (0.0, 0.0, 0.0))]
    with np.errstate(all="ignore"):     # a degenerate matrix is refused by its vectors' values
        return orientation_map(reciprocal, B, misset_rad)


def crystal_from_real_axes(opts: SimulationOptions, real_axes_A: np.ndarray) -> Crystal:
    """A crystal whose orientation and cell are given as lab-frame axes (rows a, b, c in A, (3, 3)),
    for instance by a DIALS experiment list; sizes, shape and F from ``opts`` as for ``-cell``."""
    a, b, c = (np.asarray(v, dtype=np.float64) for v in real_axes_A)
    V = float(dot3(a, cross3(b, c)))
    if not (math.isfinite(V) and V > 0.0):
        raise InputError(f"the crystal's axes span a volume of {V:g} A^3 (a right-handed, non-degenerate "
                         "cell is needed)", flag="-expt")
    reciprocal = (cross3(b, c) / V, cross3(c, a) / V, cross3(a, b) / V)
    (a, b, c), reciprocal, V_cell, V_star = real_from_reciprocal(np, *reciprocal)
    crystal = _crystal(opts, (a, b, c), reciprocal, float(V_cell), float(V_star), misset_deg=None,
                       cell_input=None, from_matrix=True)
    # as for -mat: the orientation a* b* c* = U B(cell), kept constant by xbragg.differentiable
    return replace(crystal, orientation=_orientation(crystal.cell_A_deg, reciprocal, None))


def _crystal(opts: SimulationOptions, real_A: tuple, reciprocal: tuple, V_cell: float, V_star: float, *,
             misset_deg, cell_input, from_matrix: bool) -> Crystal:
    """The :class:`Crystal` of real axes (A) and reciprocal axes (1/A), with the cell counts of ``opts``."""
    a, b, c = real_A
    a_star, b_star, c_star = reciprocal
    la, lb, lc = magnitude(a), magnitude(b), magnitude(c)
    las, lbs, lcs = magnitude(a_star), magnitude(b_star), magnitude(c_star)
    alpha = _angle(las * V_cell / lb / lc, float(dot3(b, c)) / lb / lc)
    beta = _angle(lbs * V_cell / la / lc, float(dot3(a, c)) / la / lc)
    gamma = _angle(lcs * V_cell / la / lb, float(dot3(a, b)) / la / lb)
    alpha_s = _angle(la * V_star / lbs / lcs, float(dot3(b_star, c_star)) / lbs / lcs)
    beta_s = _angle(lb * V_star / las / lcs, float(dot3(a_star, c_star)) / las / lcs)
    gamma_s = _angle(lc * V_star / las / lbs, float(dot3(a_star, b_star)) / las / lbs)

    a_m = np.array([x * 1e-10 for x in a])
    b_m = np.array([x * 1e-10 for x in b])
    c_m = np.array([x * 1e-10 for x in c])

    for name in ("Na", "Nb", "Nc"):
        n = getattr(opts, name)
        if n is not None and (not math.isfinite(float(n)) or float(n) != int(n)):
            raise InputError(f"cell count must be a whole number, got {n}", flag=f"-{name}")
    Na = float(opts.Na) if opts.Na is not None else 1.0
    Nb = float(opts.Nb) if opts.Nb is not None else 1.0
    Nc = float(opts.Nc) if opts.Nc is not None else 1.0
    if opts.sample_x_m > 0:
        Na = math.ceil(opts.sample_x_m / magnitude(a_m))
    if opts.sample_y_m > 0:
        Nb = math.ceil(opts.sample_y_m / magnitude(b_m))
    if opts.sample_z_m > 0:
        Nc = math.ceil(opts.sample_z_m / magnitude(c_m))
    Na, Nb, Nc = (float(max(n, 1.0)) for n in (Na, Nb, Nc))

    cell_A_deg = (la, lb, lc, alpha * RTD, beta * RTD, gamma * RTD)
    return Crystal(
        real_axes_m=np.stack([a_m, b_m, c_m]), reciprocal_axes_per_A=np.stack([a_star, b_star, c_star]),
        orientation=np.eye(3), cell_A_deg=cell_A_deg,
        reciprocal_cell=(las, lbs, lcs, alpha_s * RTD, beta_s * RTD, gamma_s * RTD),
        volume_A3=V_cell, Na=Na, Nb=Nb, Nc=Nc, shape=opts.xtal_shape, fudge=opts.fudge,
        misset_deg=misset_deg, mosaic_spread_rad=0.0, mosaic_umats=np.eye(3)[None],
        structure_factors=None, default_F=opts.default_F, cell_input_A_deg=cell_input,
        from_matrix=from_matrix,
    )
