"""The set-up geometry, written once: detector frame and pix0, cell vectors, phi x mosaic cells.

Array-API functions taking ``xp``, with the reference's formulas in its order of operations
(the set-up block of ``main`` in nanoBragg.c).  The host set-up (``xbragg.setup.detector``,
``xbragg.setup.crystal``, ``xbragg.setup.experiment``) validates its inputs and calls them
with NumPy float64, so its vectors agree with the reference's to the last bit;
``xbragg.differentiable`` calls the same functions with PyTorch tensors that require grad.

Angles are radians.  A zero angle given as a host number is skipped, as the reference skips
it; an angle given as an array is always applied (see :mod:`xbragg.kernel.vectors`).  The
functions do not check their inputs: degenerate values give inf or NaN, which the host
set-up turns into a clear error.
"""
from __future__ import annotations

import math

import numpy as npx
import numpy as np
from array_api_compat import device

from ..constants import DBL_MIN
from ..kernel.vectors import cross3, dot3, host_number, rotate_axis, rotate_umat, rotate_xyz


# --- host lengths --------------------------------------------------------------------------------

def magnitude(v) -> float:
    """Euclidean length of a host 3-vector, summed in the reference's order (Python floats: an
    overflow gives inf, without NumPy's warning)."""
    x, y, z = float(v[0]), float(v[1]), float(v[2])
    return math.sqrt(x * x + y * y + z * z)


def unitize(v) -> tuple[np.ndarray, float]:
    """Unit host 3-vector and the original length; a zero vector stays zero (reference ``unitize``).

    A finite vector whose squared length overflows is scaled down first, so it keeps its
    direction (the reference's would become zero); one with non-finite components gives
    NaN components. No NumPy warning either way.
    """
    mag = magnitude(v)
    x, y, z = float(v[0]), float(v[1]), float(v[2])
    if math.isinf(mag) and all(math.isfinite(c) for c in (x, y, z)):
        largest = max(abs(x), abs(y), abs(z))
        x, y, z = x / largest, y / largest, z / largest
        norm = magnitude((x, y, z))
        return np.array([x / norm, y / norm, z / norm], dtype=np.float64), mag
    if mag != 0.0:
        return np.array([x / mag, y / mag, z / mag], dtype=np.float64), mag
    return np.zeros(3), mag


# --- detector --------------------------------------------------------------------------------------

def beam_centre_fs(convention: str, Xbeam, Ybeam, pixel: float, detsize_s: float):
    """(Fbeam, Sbeam) along fast and slow (m) from the convention's -Xbeam/-Ybeam (m).

    MOSFLM adds half a pixel and swaps the axes; DENZO swaps them; ADXV counts Y from
    the far edge; XDS, DIALS and CUSTOM take them as they are.
    """
    if convention == "ADXV":
        return Xbeam, detsize_s - Ybeam
    if convention == "MOSFLM":
        return Ybeam + 0.5 * pixel, Xbeam + 0.5 * pixel
    if convention == "DENZO":
        return Ybeam, Xbeam
    return Xbeam, Ybeam


def detector_ratio(xp, beam, odet, rotx, roty, rotz):
    """``beam . odet'``, odet after the x, y, z detector rotations (not two-theta); an exact
    zero becomes DBL_MIN, as in the reference (it divides by this ratio)."""
    ratio = dot3(beam, rotate_xyz(xp, odet, rotx, roty, rotz))
    return xp.where(ratio == 0.0, xp.full_like(ratio, DBL_MIN), ratio)


def rotate_detector(xp, v, *, rotx, roty, rotz, twotheta_axis, twotheta):
    """A detector vector (3,) after the x, y, z rotations and then two-theta about its axis."""
    return rotate_axis(xp, rotate_xyz(xp, v, rotx, roty, rotz), twotheta_axis, twotheta)


def detector_frame(xp, basis, beam, twotheta_axis, *, rotx, roty, rotz, twotheta, pivot: str, ratio,
                   distance_m, close_distance_m=None, beam_fs_m=None, close_fs_m=None):
    """fdet, sdet, odet (unit, (3,)), pix0 (m, (3,)), close distance and distance (m) of the rotated detector.

    ``basis``: fdet, sdet, odet before the rotations; ``ratio``: :func:`detector_ratio`.
    SAMPLE pivot: pix0 = -Fclose*fdet - Sclose*sdet + close_distance*odet before the
    rotations, then rotated with the basis (``close_fs_m`` = (Fclose, Sclose);
    ``close_distance_m`` defaults to ``ratio * distance_m``).  BEAM pivot: pix0 =
    -Fbeam*fdet' - Sbeam*sdet' + distance*beam after them (``beam_fs_m`` = (Fbeam, Sbeam),
    see :func:`beam_centre_fs`).  The close distance returned is pix0 . odet', the distance
    that over ``ratio``.
    """
    rotations = dict(rotx=rotx, roty=roty, rotz=rotz, twotheta_axis=twotheta_axis, twotheta=twotheta)
    fdet, sdet, odet = basis
    if pivot == "sample":
        Fclose, Sclose = close_fs_m
        close = ratio * distance_m if close_distance_m is None else close_distance_m
        pix0 = rotate_detector(xp, -Fclose * fdet - Sclose * sdet + close * odet, **rotations)
    fdet, sdet, odet = (rotate_detector(xp, v, **rotations) for v in basis)
    if pivot == "beam":
        Fbeam, Sbeam = beam_fs_m
        pix0 = -Fbeam * fdet - Sbeam * sdet + distance_m * beam
    close = dot3(pix0, odet)
    return fdet, sdet, odet, pix0, close, close / ratio


# --- crystal ---------------------------------------------------------------------------------------

def reciprocal_from_cell(xp, a, b, c, alpha, beta, gamma):
    """Reciprocal vectors (a*, b*, c*) (1/A, each (3,)), the cell volume (A^3) and the reciprocal
    lengths (a*, b*, c*) of a cell (lengths in A, angles in radians).

    The reference's construction: a* along x, b* in the x-y plane; the cosines of the
    reciprocal angles clamped as there (a square above 1 gives +1) and sin(gamma*) to [-1, 1].
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
    return (as_, bs_, cs_), V_cell, (a_star, b_star, c_star)


def _rescale(xp, v, length):
    """``v`` scaled to ``length`` (reference ``vector_rescale``: a zero ``v`` counts as of length 1)."""
    old = xp.sqrt(dot3(v, v))
    old = xp.where(old <= 0.0, xp.ones_like(old), old)
    return (length / old) * v


def real_from_reciprocal(xp, a_star, b_star, c_star, *, cell_A=None, V_cell=None):
    """Real-space a, b, c (A) and the re-derived a*, b*, c* (1/A) of reciprocal vectors (3,).

    a = V_cell (b* x c*) and so on, then a* = V_star (b x c) and so on.  With ``cell_A``
    (lengths a, b, c in A) and ``V_cell`` (A^3) of a given cell, the real axes are forced to
    those lengths and that volume (the reference's ``-cell`` branch); otherwise V_star =
    a* . (b* x c*).  Returns ((a, b, c), (a*, b*, c*), V_cell, V_star).
    """
    b_x_c, c_x_a, a_x_b = cross3(b_star, c_star), cross3(c_star, a_star), cross3(a_star, b_star)
    if cell_A is None:
        V_star = dot3(a_star, b_x_c)
    else:
        b_x_c = _rescale(xp, b_x_c, cell_A[0] / V_cell)
        c_x_a = _rescale(xp, c_x_a, cell_A[1] / V_cell)
        a_x_b = _rescale(xp, a_x_b, cell_A[2] / V_cell)
        V_star = 1.0 / V_cell
    V_cell = 1.0 / V_star
    a, b, c = V_cell * b_x_c, V_cell * c_x_a, V_cell * a_x_b
    reciprocal = (V_star * cross3(b, c), V_star * cross3(c, a), V_star * cross3(a, b))
    return (a, b, c), reciprocal, V_cell, V_star


def misset(xp, vectors, rotx, roty, rotz):
    """Vectors (each (3,)) after the misset rotations about x, then y, then z (reference ``rotate``)."""
    return tuple(rotate_xyz(xp, v, rotx, roty, rotz) for v in vectors)


def orientation_map(reciprocal, B_reciprocal, misset_rad) -> np.ndarray:
    """The (3, 3) map U with (a*, b*, c*) = R_misset U B, on the host.

    ``reciprocal``: the crystal's a*, b*, c*; ``B_reciprocal``: those of its cell from
    :func:`reciprocal_from_cell`; ``misset_rad``: x, y, z misset angles.  (The reference's
    construction is not an exact B matrix for oblique cells, so U is a general linear map,
    close to a rotation.)
    """
    A = np.stack(reciprocal, axis=1)
    B = np.stack(B_reciprocal, axis=1)
    R = np.stack(misset(npx, np.eye(3), *misset_rad), axis=1)
    return R.T @ A @ np.linalg.inv(B)


def rotated_cells(xp, cell, *, phi0_rad, phistep_rad: float, phisteps: int, spindle, umats=None):
    """Cell vectors of every (phi step, mosaic domain), (phisteps, domains, 3[a, b, c], 3[xyz]).

    ``cell``: a, b, c (each (3,)).  Step i rotates by phi0 + i*phistep about ``spindle``
    (reference ``rotate_axis``), then each mosaic domain applies its rotation matrix
    ``umats`` (domains, 3, 3) (reference ``rotate_umat``; ``None``: one domain, no rotation).
    With a host-number ``phi0_rad``, a step at exactly zero keeps the unrotated cell, as the
    reference's phi loop does (``if( phi != 0.0 )``).
    """
    abc = xp.stack(list(cell))                                             # (3, 3)
    steps = xp.arange(phisteps, dtype=abc.dtype, device=device(abc))
    angles = phi0_rad + phistep_rad * steps                                # (phisteps,)
    rotated = rotate_axis(xp, abc[None, :, :], spindle, angles[:, None])   # (phisteps, 3, 3)
    if host_number(phi0_rad):
        rotated = xp.where((angles == 0.0)[:, None, None], abc[None, :, :], rotated)
    if umats is None:
        return rotated[:, None, :, :]
    return rotate_umat(umats[None, :, None, :, :], rotated[:, None, :, :])
