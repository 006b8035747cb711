"""Lattice (crystal shape) factors: SQUARE (sincg), ROUND (sinc3), GAUSS, TOPHAT.

Miller indices come as three arrays (h, k, l) of one shape, so that every
per-axis constant (N, origin, strides) is a scalar: NumPy broadcasts a scalar
at full speed but runs a trailing axis of 3 several times slower.
"""
from __future__ import annotations

import math

from ..backends import kernel_namespace_of

# sqrt of the volume ratio between cube and sphere, as the reference uses for ROUND
ROUND_SCALE = 0.723601254558268


def sincg(h, n_cells: float, *, nearest=None, signed: bool = True, xp=None):
    """Grating factor sin(N pi h)/sin(pi h), with N at integer h (reference ``sincg``).

    ``n_cells`` is the whole number N.  Computed on reduced arguments: with
    n = round(h) and f = h - n, and m = round(N f), g = N f - m,
    sin(N pi h)/sin(pi h) = (-1)^((N-1) n + m) sin(pi g)/sin(pi f), both sines
    on |x| <= 1/2, so that it stays accurate in float32 and at integer h, where
    the reference's direct form divides two rounding errors.  ``nearest``:
    ceil(h - 0.5) when the caller has it.  ``signed=False`` skips the sign
    (intensities only need the square).
    """
    xp = kernel_namespace_of(h) if xp is None else xp
    n = nearest_index(h, xp=xp) if nearest is None else nearest
    # the limit N at f = 0 without a division guard: a tiny offset, far below the spacing
    # of representable f away from 0 (g/f = fl(N e)/e then rounds to N exactly, and both
    # polynomials equal pi)
    f = (h - n) + (1e-300 if h.dtype == xp.float64 else 1e-30)
    Nf = n_cells * f
    m = xp.round(Nf)
    g = Nf - m
    ratio = xp.sin_pi_ratio(g, f)
    if not signed:
        return ratio
    # whole numbers, exact in the working dtype
    flip = xp.remainder((n_cells - 1.0) * n + m, 2.0) != 0.0
    return xp.where(flip, -ratio, ratio)


def sincg_direct(h, n_cells: float, *, xp=None):
    """sin(N pi h)/sin(pi h) evaluated as the reference's ``sincg(M_PI*h, N)`` does, N at h = 0.

    At whole non-zero h and at large |h| this divides rounding errors (see
    :func:`sincg`); ``c_parity`` uses it to reproduce the reference's values there.
    """
    xp = kernel_namespace_of(h) if xp is None else xp
    x = math.pi * h
    zero = x == 0.0
    safe = xp.where(zero, xp.ones_like(x), x)
    return xp.where(zero, xp.full_like(x, n_cells), xp.sin(safe * n_cells) / xp.sin(safe))


def sinc3_direct(x, *, xp=None):
    """3 (sin x / x - cos x) / x^2, 1 at x = 0: the reference's ``sinc3`` form (``c_parity``)."""
    xp = kernel_namespace_of(x) if xp is None else xp
    zero = x == 0.0
    return xp.where(zero, xp.ones_like(x), _sinc3_form(xp.where(zero, xp.ones_like(x), x), xp=xp))


def _sinc3_form(x, *, xp):
    """3 (sin x / x - cos x) / x^2 as the reference writes it, for ``x`` != 0."""
    return 3.0 * (xp.sin(x) / x - xp.cos(x)) / (x * x)


def sinc3(x, *, xp=None):
    """Sphere transform 3 (sin x - x cos x) / x^3, 1 at x = 0 (reference ``sinc3``).

    The reference's direct form 3 (sin x / x - cos x) / x^2 cancels for small x
    (all precision lost below ~1e-8 in float64, ~1e-3 in float32); below
    |x| = 0.1 the Taylor series 1 - x^2/10 + x^4/280 - x^6/15120 + x^8/1330560
    is used instead (truncation error < 1e-14 there).
    """
    xp = kernel_namespace_of(x) if xp is None else xp
    small = xp.abs(x) < 0.1
    direct = _sinc3_form(xp.where(small, xp.ones_like(x), x), xp=xp)
    x2 = x * x
    series = 1.0 + x2 * (-1.0 / 10.0 + x2 * (1.0 / 280.0 + x2 * (-1.0 / 15120.0 + x2 / 1330560.0)))
    return xp.where(small, series, direct)


def nearest_index(x, *, xp=None):
    """Nearest whole index, rounding halves up: ceil(x - 0.5) as the reference."""
    xp = kernel_namespace_of(x) if xp is None else xp
    return xp.ceil(x - 0.5)


def lattice_factor(hkl: tuple, *, shape: str, Na: float, Nb: float, Nc: float, fudge: float,
                   reciprocal=None, nearest: tuple | None = None, signed: bool = True,
                   direct: bool = False, xp=None):
    """Lattice factor F_latt for fractional Miller indices ``hkl`` = (h, k, l), arrays of one shape.

    ``reciprocal`` (3, 3) holds a*, b*, c* as rows (1/A) and is needed by GAUSS
    and TOPHAT, which measure the distance to the nearest node in reciprocal
    space scaled by Na Nb Nc (reference units kept).
    ``nearest``: (ceil(h - 0.5), ...) when the caller has them; ``signed=False`` lets
    SQUARE skip the sign of each factor (intensities need only the square).
    ``direct``: the reference's own forms of sincg and sinc3 (:func:`sincg_direct`,
    :func:`sinc3_direct`), less accurate where they cancel, for ``c_parity``; float64 only.
    Returns (F_latt, (F_latt_a, F_latt_b, F_latt_c) or None), each of the indices' shape.
    """
    xp = kernel_namespace_of(*hkl) if xp is None else xp
    if nearest is None:
        nearest = tuple(nearest_index(x, xp=xp) for x in hkl)
    # the direct forms reproduce the reference's double-precision rounding; in float32 they would
    # only lose accuracy (sin of arguments up to N pi h), so float32 keeps the reduced forms
    direct = direct and hkl[0].dtype == xp.float64
    if shape == "square":
        def grating(x, n, n_cells):
            # an axis with N <= 1 contributes 1 (the reference skips it)
            if n_cells <= 1:
                return xp.ones_like(x)
            if direct:
                return sincg_direct(x, n_cells, xp=xp)
            return sincg(x, n_cells, nearest=n, signed=signed, xp=xp)
        fa, fb, fc = (grating(x, n, n_cells) for x, n, n_cells in zip(hkl, nearest, (Na, Nb, Nc)))
        return fa * fb * fc, (fa, fb, fc)
    dh, dk, dl = (x - n for x, n in zip(hkl, nearest))
    volume = Na * Nb * Nc
    if shape == "round":
        hrad_sqr = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc
        form = sinc3_direct if direct else sinc3
        return volume * ROUND_SCALE * form(math.pi * xp.sqrt(hrad_sqr * fudge), xp=xp), None
    r = reciprocal
    dx = dh * r[0, 0] + dk * r[1, 0] + dl * r[2, 0]
    dy = dh * r[0, 1] + dk * r[1, 1] + dl * r[2, 1]
    dz = dh * r[0, 2] + dk * r[1, 2] + dl * r[2, 2]
    rad_star_sqr = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc
    if shape == "gauss":
        return volume * xp.exp(-(rad_star_sqr / 0.63 * fudge)), None
    if shape == "tophat":
        inside = rad_star_sqr * fudge < 0.3969
        h = hkl[0]
        return xp.where(inside, xp.full_like(h, volume), xp.zeros_like(h)), None
    raise ValueError(f"unknown crystal shape {shape!r}")
