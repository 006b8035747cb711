"""Detector frame and crystal cells as array-API functions of the continuous parameters.

The same formulas, in the same order, as the host set-up (``xbragg.setup.detector``,
``xbragg.setup.crystal``, ``xbragg.setup.rotations``), written with ``xp`` operations on
0-d arrays so that PyTorch can differentiate them (and NumPy can check them).  The
discrete choices (convention, pivot, basis vectors, phi step, mosaic rotations) come
resolved from the host :class:`~xbragg.setup.experiment.Experiment`.

A zero rotation angle is applied rather than skipped as on the host: with cos = 1 and
sin = 0 the formulas return their input exactly, and the angle stays differentiable.
"""
from __future__ import annotations

from array_api_compat import device

from ..constants import DBL_MIN, RTD
from ..kernel.detector import rotate_about_axes
from ..kernel.vectors import cross3, dot3, unit3
from ..setup.detector import beam_centre_fs


def rotate_xyz(xp, v, rotx, roty, rotz):
    """Rotate (..., 3) vectors about x, then y, then z by 0-d angles in radians (reference ``rotate``)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    c, s = xp.cos(rotx), xp.sin(rotx)
    x, y, z = x, y * c + z * (-s), y * s + z * c
    c, s = xp.cos(roty), xp.sin(roty)
    x, y, z = x * c + y * 0.0 + z * s, y, x * (-s) + y * 0.0 + z * c
    c, s = xp.cos(rotz), xp.sin(rotz)
    x, y, z = x * c + y * (-s), x * s + y * c, z
    return xp.stack([x, y, z], axis=-1)


def detector_frame(xp, det, *, distance_mm, beam_x_mm, beam_y_mm, rotx_deg, roty_deg, rotz_deg,
                   twotheta_deg, beam, twotheta_axis, basis0):
    """fdet, sdet, odet, pix0 (m), close distance and distance (m) of the rotated detector.

    ``det``: the host :class:`~xbragg.setup.detector.DetectorGeometry` (convention, pivot,
    pixel size); ``beam``, ``twotheta_axis`` and ``basis0`` (fdet, sdet, odet before the
    rotations): its vectors, already in the working namespace.
    ``beam_x_mm``/``beam_y_mm`` are -Xbeam/-Ybeam of the convention (BEAM pivot) or the
    near point along fast and slow before the rotations (SAMPLE pivot).
    """
    tt_axis = twotheta_axis
    fdet, sdet, odet = basis0
    rx, ry, rz, tt = rotx_deg / RTD, roty_deg / RTD, rotz_deg / RTD, twotheta_deg / RTD
    ratio = dot3(beam, rotate_xyz(xp, odet, rx, ry, rz))
    ratio = xp.where(ratio == 0.0, xp.full_like(ratio, DBL_MIN), ratio)
    distance = distance_mm / 1000.0
    if det.pivot == "sample":
        close = ratio * distance
        pix0 = -(beam_x_mm / 1000.0) * fdet - (beam_y_mm / 1000.0) * sdet + close * odet
        pix0 = rotate_about_axes(xp, rotate_xyz(xp, pix0, rx, ry, rz), tt_axis, tt)
    fdet, sdet, odet = (rotate_about_axes(xp, rotate_xyz(xp, v, rx, ry, rz), tt_axis, tt)
                        for v in (fdet, sdet, odet))
    if det.pivot == "beam":
        Fbeam, Sbeam = beam_centre_fs(det.convention, beam_x_mm / 1000.0, beam_y_mm / 1000.0,
                                      det.pixel_size_m, det.detsize_s_m)
        pix0 = -Fbeam * fdet - Sbeam * sdet + distance * beam
    close = dot3(pix0, odet)
    return fdet, sdet, odet, pix0, close, close / ratio


def reciprocal_from_cell(xp, a, b, c, alpha, beta, gamma):
    """Reciprocal vectors a*, b*, c* (1/A, reference frame) and the cell volume (A^3).

    Lengths in Angstrom and angles in radians as 0-d arrays; the reference's clamps of the
    reciprocal angles are kept (host ``_reciprocal_from_cell``, without its input checks).
    """
    aavg = (alpha + beta + gamma) / 2
    skew = xp.abs(xp.sin(aavg) * xp.sin(aavg - alpha) * xp.sin(aavg - beta) * xp.sin(aavg - gamma))
    V_cell = 2.0 * a * b * c * xp.sqrt(skew)
    V_star = 1.0 / V_cell
    a_star = b * c * xp.sin(alpha) * V_star
    b_star = c * a * xp.sin(beta) * V_star
    c_star = a * b * xp.sin(gamma) * V_star
    ca, cb, cg = xp.cos(alpha), xp.cos(beta), xp.cos(gamma)
    sa, sb, sg = xp.sin(alpha), xp.sin(beta), xp.sin(gamma)

    def clamp_cos(x):
        return xp.where(x * x > 1.0, xp.ones_like(x), x)
    cos_alpha_star = clamp_cos((cb * cg - ca) / (sb * sg))
    cos_beta_star = clamp_cos((cg * ca - cb) / (sg * sa))
    cos_gamma_star = clamp_cos((ca * cb - cg) / (sa * sb))
    sin_gamma_star = xp.clip(c * V_star / a_star / b_star, -1.0, 1.0)
    zero = xp.zeros_like(a_star)
    as_ = xp.stack([a_star, zero, zero])
    bs_ = xp.stack([b_star * cos_gamma_star, b_star * sin_gamma_star, zero])
    cs_ = xp.stack([c_star * cos_beta_star,
                    c_star * (cos_alpha_star - cos_beta_star * cos_gamma_star) / sin_gamma_star,
                    c_star * V_cell / (a * b * c * sin_gamma_star)])
    return as_, bs_, cs_, V_cell


def crystal_vectors(xp, *, a_A, b_A, c_A, alpha_deg, beta_deg, gamma_deg, misset_deg, orientation=None):
    """Real-space a, b, c (m) and reciprocal a*, b*, c* (1/A) of the oriented cell, each (3,).

    As the host ``build_crystal`` for ``-cell``: reciprocal vectors from the cell, the
    optional constant ``orientation`` (3, 3) (from ``-mat``), the misset rotation (x, y,
    z in degrees), then real space with the given lengths forced and the reciprocal
    vectors re-derived from it.
    """
    a_s, b_s, c_s, V_cell = reciprocal_from_cell(xp, a_A, b_A, c_A, alpha_deg / RTD, beta_deg / RTD,
                                                 gamma_deg / RTD)
    if orientation is not None:
        a_s, b_s, c_s = (xp.sum(orientation * v, axis=-1) for v in (a_s, b_s, c_s))
    rx, ry, rz = (m / RTD for m in misset_deg)
    a_s, b_s, c_s = (rotate_xyz(xp, v, rx, ry, rz) for v in (a_s, b_s, c_s))

    def rescale(v, length):
        return (length / unit3(v)[1]) * v
    b_x_c = rescale(cross3(b_s, c_s), a_A / V_cell)
    c_x_a = rescale(cross3(c_s, a_s), b_A / V_cell)
    a_x_b = rescale(cross3(a_s, b_s), c_A / V_cell)
    V_star = 1.0 / V_cell
    V_cell = 1.0 / V_star
    a, b, c = V_cell * b_x_c, V_cell * c_x_a, V_cell * a_x_b
    a_s, b_s, c_s = V_star * cross3(b, c), V_star * cross3(c, a), V_star * cross3(a, b)
    return (a * 1e-10, b * 1e-10, c * 1e-10), (a_s, b_s, c_s)


def rotated_cells(xp, cell, *, phi0_deg, phistep_rad: float, phisteps: int, spindle, umats=None):
    """Cell vectors of every (phi step, mosaic domain), (phisteps, domains, 3[a, b, c], 3[xyz]) (m).

    Step i rotates by phi0 + i*phistep about ``spindle`` (reference ``rotate_axis``), then
    each mosaic domain applies its constant rotation matrix ``umats`` (domains, 3, 3)
    (``None``: one domain, no rotation).
    """
    abc = xp.stack(list(cell))                                             # (3, 3)
    steps = xp.arange(phisteps, dtype=abc.dtype, device=device(abc))
    angles = phi0_deg / RTD + phistep_rad * steps                          # (phisteps,)
    rotated = rotate_about_axes(xp, abc[None, :, :], spindle, angles[:, None])  # (phisteps, 3, 3)
    if umats is None:
        return rotated[:, None, :, :]
    v = rotated[:, None, :, None, :]                                       # (phisteps, 1, 3, 1, 3)
    u = umats[None, :, None, :, :]                                         # (1, D, 1, 3, 3)
    return u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1] + u[..., 2] * v[..., 2]
