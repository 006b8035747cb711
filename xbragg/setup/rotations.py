"""Host-side rotations, written to give the reference's numbers bit for bit.

The reference applies rotations component by component (``rotate``,
``rotate_axis``, ``rotate_umat`` in nanoBragg.c); the same operation order is
kept here so that set-up vectors agree to the last bit and parity traces line up.
"""
from __future__ import annotations

import math

import numpy as np


def rotate_xyz(v: np.ndarray, rotx_rad: float, roty_rad: float, rotz_rad: float) -> np.ndarray:
    """Rotate a 3-vector about x, then y, then z (reference ``rotate``).

    A zero angle skips that rotation entirely, as the reference does, so that
    no rounding is introduced by an identity rotation.
    """
    x, y, z = (float(c) for c in v)
    if rotx_rad != 0:
        c, s = math.cos(rotx_rad), math.sin(rotx_rad)
        x, y, z = x, y * c + z * (-s), y * s + z * c
    if roty_rad != 0:
        c, s = math.cos(roty_rad), math.sin(roty_rad)
        x, y, z = x * c + y * 0.0 + z * s, y, x * (-s) + y * 0.0 + z * c
    if rotz_rad != 0:
        c, s = math.cos(rotz_rad), math.sin(rotz_rad)
        x, y, z = x * c + y * (-s), x * s + y * c, z
    return np.array([x, y, z])


def rotate_axis(v: np.ndarray, axis: np.ndarray, phi_rad: float) -> np.ndarray:
    """Rotate a 3-vector by ``phi_rad`` about a unit ``axis`` (reference ``rotate_axis``)."""
    s, c = math.sin(phi_rad), math.cos(phi_rad)
    ax, ay, az = (float(q) for q in axis)
    vx, vy, vz = (float(q) for q in v)
    dot = (ax * vx + ay * vy + az * vz) * (1.0 - c)
    return np.array([
        ax * dot + vx * c + (-az * vy + ay * vz) * s,
        ay * dot + vy * c + (+az * vx - ax * vz) * s,
        az * dot + vz * c + (-ay * vx + ax * vy) * s,
    ])


def rotate_umat(v: np.ndarray, umat: np.ndarray) -> np.ndarray:
    """Apply a 3x3 rotation matrix (row-major, as the reference's 9-element ``umat``)."""
    u = np.asarray(umat, dtype=np.float64).reshape(3, 3)
    vx, vy, vz = (float(q) for q in v)
    return np.array([u[i, 0] * vx + u[i, 1] * vy + u[i, 2] * vz for i in range(3)])


def magnitude(v: np.ndarray) -> float:
    """Euclidean length, summed in the reference's order (Python floats: an overflow gives inf,
    without NumPy's warning)."""
    x, y, z = float(v[0]), float(v[1]), float(v[2])
    return math.sqrt(x * x + y * y + z * z)


def unitize(v: np.ndarray) -> tuple[np.ndarray, float]:
    """Unit vector and the original length; a zero vector stays zero (reference ``unitize``).

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


def cross(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross product in the reference's component order."""
    return np.array([
        x[1] * y[2] - x[2] * y[1],
        x[2] * y[0] - x[0] * y[2],
        x[0] * y[1] - x[1] * y[0],
    ], dtype=np.float64)


def dot(x: np.ndarray, y: np.ndarray) -> float:
    """Dot product in the reference's order."""
    return float(x[0] * y[0] + x[1] * y[1] + x[2] * y[2])
