"""Structure-factor lookup: nearest grid node, and tricubic (Lagrange) interpolation."""
from __future__ import annotations

from array_api_compat import device

from ..backends import kernel_namespace_of


def _flat_index(hi, ki, li, shape):
    return (hi * shape[1] + ki) * shape[2] + li


def sparse_take(keys, values, flat, fill_F: float, *, xp=None):
    """Values of a sparse table at the flat grid indices ``flat`` (any shape), ``fill_F`` where unlisted.

    keys: sorted int64 flat indices of the listed cells; values: their F, same length.
    """
    xp = kernel_namespace_of(keys, flat) if xp is None else xp
    query = xp.reshape(flat, (-1,))
    at = xp.clamp(xp.searchsorted(keys, query), 0, keys.shape[0] - 1)
    found = xp.take(keys, at, axis=0) == query
    got = xp.take(values, at, axis=0)
    return xp.reshape(xp.where(found, got, xp.full_like(got, fill_F)), flat.shape)


def nearest_F(nearest: tuple, F_padded_flat, *, origin: tuple[int, int, int],
              shape: tuple[int, int, int], default_F: float, have_table: bool,
              keys=None, fill_F: float = 0.0, xp=None):
    """F of the nearest node (h0, k0, l0), or ``default_F`` outside the table.

    nearest: (h0, k0, l0), whole-number arrays of one shape (ceil(h - 0.5), ...);
    F_padded_flat: the flattened (h, k, l) grid (C order) with one plane of
    ``default_F`` added on every side (``render.inputs.host_table``): indices are
    clamped into that border, so no separate inside test is needed.  ``shape`` is the unpadded grid shape.
    With ``keys`` (a sparse table, :func:`sparse_take`) ``F_padded_flat`` holds the
    listed values instead, and cells not listed have ``fill_F``.
    Returns an array of the indices' shape.
    """
    xp = kernel_namespace_of(*nearest) if xp is None else xp
    if not have_table:
        return xp.full_like(nearest[0], default_F)
    if keys is not None:
        rel = [xp.astype(xp.clamp(n - float(o), -1.0, float(s)), xp.int64)
               for n, o, s in zip(nearest, origin, shape)]
        inside = None
        for r, s in zip(rel, shape):
            ok = (r >= 0) & (r < s)
            inside = ok if inside is None else inside & ok
        flat = _flat_index(*(xp.clamp(r, 0, s - 1) for r, s in zip(rel, shape)), shape)
        F = sparse_take(keys, F_padded_flat, flat, fill_F, xp=xp)
        return xp.where(inside, F, xp.full_like(F, default_F))
    # clamped while still floating, then whole numbers in int64, exact for any table size
    # and dtype
    rel = [xp.astype(xp.clamp(n - float(o - 1), 0.0, float(s + 1)), xp.int64)
           for n, o, s in zip(nearest, origin, shape)]
    flat = _flat_index(*rel, tuple(s + 2 for s in shape))
    return xp.reshape(xp.take(F_padded_flat, xp.reshape(flat, (-1,)), axis=0), flat.shape)


def interpolation_out_of_range(hkl, *, origin: tuple[int, int, int], shape: tuple[int, int, int]):
    """True where the 4x4x4 neighbourhood leaves the table (the reference's exact test)."""
    out = None
    for axis in range(3):
        x = hkl[..., axis]
        lo, rng = origin[axis], shape[axis]
        bad = ((x - lo + 3) > rng) | ((x - 2) < lo)
        out = bad if out is None else out | bad
    return out


def lagrange_weights(t, *, xp=None):
    """Cubic Lagrange weights at nodes -1, 0, 1, 2 for offsets t = x - floor(x); (..., 4)."""
    xp = kernel_namespace_of(t) if xp is None else xp
    u0, u1, u2, u3 = t + 1.0, t, t - 1.0, t - 2.0
    return xp.stack([
        u1 * u2 * u3 / -6.0,
        u0 * u2 * u3 / 2.0,
        u0 * u1 * u3 / -2.0,
        u0 * u1 * u2 / 6.0,
    ], axis=-1)


def tricubic_F(hkl, F_flat, *, origin: tuple[int, int, int], shape: tuple[int, int, int],
               border: int = 0, keys=None, fill_F: float = 0.0, xp=None):
    """Tricubic interpolation of F on the 4x4x4 nodes around ``hkl`` (reference ``polin3``).

    The nodes are floor(x)-1 .. floor(x)+2 on each axis.  Points whose
    neighbourhood leaves the table get an unspecified value; callers mask
    them with :func:`interpolation_out_of_range`.  ``F_flat``: the flattened grid of
    ``shape`` cells from ``origin``, with ``border`` extra planes on every side (the
    renderer passes the grid :func:`nearest_F` reads, bordered by one plane of default_F,
    so that the device holds the table once).  With ``keys``, ``F_flat`` holds a sparse
    table's values (see :func:`sparse_take`).
    Returns (F, weights (..., 3, 4), node indices (..., 3, 4)).
    """
    xp = kernel_namespace_of(hkl) if xp is None else xp
    flr = xp.floor(hkl)
    w = lagrange_weights(hkl - flr, xp=xp)                                   # (..., 3, 4)
    # made on the device (no host-to-device copy per tile)
    offsets = xp.arange(-1, 3, dtype=xp.int64, device=device(hkl))
    base = xp.astype(flr, xp.int64)
    nodes = base[..., None] + offsets                                 # (..., 3, 4)
    rel = []
    for axis in range(3):
        r = nodes[..., axis, :] - origin[axis]
        rel.append(xp.clamp(r, 0, shape[axis] - 1))
    hi = rel[0][..., :, None, None]
    ki = rel[1][..., None, :, None]
    li = rel[2][..., None, None, :]
    if keys is not None:
        vals = sparse_take(keys, F_flat, _flat_index(hi, ki, li, shape), fill_F, xp=xp)   # (..., 4, 4, 4)
    else:
        flat = _flat_index(hi + border, ki + border, li + border, tuple(s + 2 * border for s in shape))
        vals = xp.reshape(xp.take(F_flat, xp.reshape(flat, (-1,)), axis=0), flat.shape)
    along_l = xp.sum(vals * w[..., 2, None, None, :], axis=-1)        # (..., 4, 4)
    along_k = xp.sum(along_l * w[..., 1, None, :], axis=-1)           # (..., 4)
    F = xp.sum(along_k * w[..., 0, :], axis=-1)
    return F, w, nodes
