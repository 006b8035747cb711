"""3-vector helpers on (..., 3) arrays, in the reference's component and summation order."""
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
