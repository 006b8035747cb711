"""3-vector helpers and rotations on (..., 3) arrays, in the reference's component and summation order.

The package's only cross product, Rodrigues rotation (``rotate_axis``, and its matrix form
``axis_angle_umat``), x-y-z rotation (``rotate_xyz``) and matrix application
(``rotate_umat``): the kernel, the host set-up (NumPy) and the differentiable model
(PyTorch) all call these.

A zero angle given as a host number (a Python or NumPy float, a constant of the set-up) is
skipped, as the reference's ``rotate`` skips it, so that no signed zero or NaN is introduced
by an identity rotation; an angle given as an array (a parameter, perhaps requiring grad) is
always applied, which gives the same values and keeps the angle differentiable.
"""
from __future__ import annotations

from ..backends import kernel_namespace_of


def dot3(x, y):
    """Dot product over the last axis, summed x0*y0 + x1*y1 + x2*y2 (reference ``dot_product``)."""
    return x[..., 0] * y[..., 0] + x[..., 1] * y[..., 1] + x[..., 2] * y[..., 2]


def cross3(x, y, *, xp=None):
    """Cross product over the last axis (reference ``cross_product``)."""
    xp = kernel_namespace_of(x, y) if xp is None else xp
    return xp.stack([
        x[..., 1] * y[..., 2] - x[..., 2] * y[..., 1],
        x[..., 2] * y[..., 0] - x[..., 0] * y[..., 2],
        x[..., 0] * y[..., 1] - x[..., 1] * y[..., 0],
    ], axis=-1)


def unit3(v, *, xp=None):
    """Unit vectors and lengths of ``v`` (reference ``unitize``: a zero vector stays zero)."""
    xp = kernel_namespace_of(v) if xp is None else xp
    length = xp.sqrt(dot3(v, v))
    safe = xp.where(length == 0.0, xp.ones_like(length), length)
    # component by component: a trailing axis of 3 is slow to broadcast in NumPy
    return xp.stack([v[..., c] / safe for c in range(3)], axis=-1), length


def host_number(x) -> bool:
    """Whether ``x`` is a host number (Python or NumPy float, int), not an array."""
    return isinstance(x, (int, float))


def constant_zero(angle) -> bool:
    """Whether ``angle`` is a host number equal to zero (a rotation to skip, see the module)."""
    return host_number(angle) and angle == 0


def rotate_xyz(xp, v, rotx, roty, rotz):
    """Rotate (..., 3) vectors about x, then y, then z by angles in radians (reference ``rotate``)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    if not constant_zero(rotx):
        c, s = xp.cos(rotx), xp.sin(rotx)
        x, y, z = x, y * c + z * (-s), y * s + z * c
    if not constant_zero(roty):
        c, s = xp.cos(roty), xp.sin(roty)
        x, y, z = x * c + y * 0.0 + z * s, y, x * (-s) + y * 0.0 + z * c
    if not constant_zero(rotz):
        c, s = xp.cos(rotz), xp.sin(rotz)
        x, y, z = x * c + y * (-s), x * s + y * c, z
    return xp.stack([x, y, z], axis=-1)


def rotate_axis(xp, v, axis, angle):
    """Rotate vectors ``v`` (..., 3) about the unit ``axis`` (3,) by ``angle`` (...) radians.

    Rodrigues' formula in the reference's order (``rotate_axis``); never skipped, as there.
    """
    s = xp.sin(angle)
    c = xp.cos(angle)
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    ax, ay, az = axis[0], axis[1], axis[2]
    d = (ax * vx + ay * vy + az * vz) * (1.0 - c)
    return xp.stack([
        ax * d + vx * c + (-az * vy + ay * vz) * s,
        ay * d + vy * c + (az * vx - ax * vz) * s,
        az * d + vz * c + (-ay * vx + ax * vy) * s,
    ], axis=-1)


def axis_angle_umat(xp, axis, angle):
    """The 3x3 matrix (rows, as the reference's ``umat``) of a rotation by ``angle`` radians about
    the unit ``axis`` (3 components).

    Rodrigues' formula in matrix form, in the order of the reference's
    ``mosaic_rotation_umat``; it rounds differently from :func:`rotate_axis`, so each keeps
    the form the reference uses where it uses it.
    """
    v1, v2, v3 = axis[0], axis[1], axis[2]
    t1 = xp.cos(angle)
    t2 = 1.0 - t1
    t6 = t2 * v1
    t7 = t6 * v2
    t8 = xp.sin(angle)
    t9 = t8 * v3
    t11 = t6 * v3
    t12 = t8 * v2
    t19 = t2 * v2 * v3
    t20 = t8 * v1
    return xp.stack([xp.stack([t1 + t2 * (v1 * v1), t7 - t9, t11 + t12]),
                     xp.stack([t7 + t9, t1 + t2 * (v2 * v2), t19 - t20]),
                     xp.stack([t11 - t12, t19 + t20, t1 + t2 * (v3 * v3)])])


def rotate_umat(umat, v, *, xp=None):
    """Apply 3x3 matrices ``umat`` (..., 3, 3) to vectors ``v`` (..., 3), row by row
    (reference ``rotate_umat``: uxx*vx + uxy*vy + uxz*vz, ...)."""
    xp = kernel_namespace_of(umat, v) if xp is None else xp
    return xp.stack([umat[..., i, 0] * v[..., 0] + umat[..., i, 1] * v[..., 1] + umat[..., i, 2] * v[..., 2]
                     for i in range(3)], axis=-1)
