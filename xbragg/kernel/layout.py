"""Axis layouts of the kernel's arrays, and reductions whose order never depends on the tile.

The per-pixel geometry is laid out (P, T, S, N, ...) and the per-evaluation
arrays (T, S, N, R, P), pixels last (see :mod:`xbragg.kernel.intensity`).
"""
from __future__ import annotations


def c_order(x, *, xp):
    """``x`` materialized in C order (a copy only when it is a transposed view).

    Reshaping to one axis forces the copy that a bare transpose would leave to
    later operations, which would then run along the short axes.
    """
    return xp.reshape(xp.reshape(x, (-1,)), x.shape)


def pixel_last(x, *, xp):
    """(P, ...) -> (..., P) in C order."""
    return c_order(xp.permute_dims(x, (*range(1, x.ndim), 0)), xp=xp)


def loop_order(x, *, xp):
    """(T, S, N, R, P, ...) -> (P, T, S, N, R, ...): the reference's loop order (for records)."""
    return xp.permute_dims(x, (4, 0, 1, 2, 3, *range(5, x.ndim)))


def sum_leading(x):
    """Sum over axis 0 by pairwise halving, one elementwise add per level.

    The order of the additions depends only on the length of axis 0, never on
    the other axes (a library reduction may switch order when a tile has one
    pixel) nor on the backend, so tiling never changes a bit.
    """
    n = x.shape[0]
    rest = None
    while n > 1:
        if n % 2:
            n -= 1
            rest = x[n, ...] if rest is None else x[n, ...] + rest
        half = n // 2
        x = x[:half, ...] + x[half:n, ...]
        n = half
    return x[0, ...] if rest is None else x[0, ...] + rest


def first_true(flags, *, xp):
    """Boolean array marking the first True along the last axis."""
    as_int = xp.astype(flags, xp.int32)
    return flags & (xp.cumulative_sum(as_int, axis=-1) == 1)
