"""Lattice (crystal shape) factors: SQUARE (sincg), ROUND (sinc3), GAUSS, TOPHAT.

Miller indices come as three arrays (h, k, l) of one shape, so that every
per-axis constant (N, origin, strides) is a scalar: NumPy broadcasts a scalar
at full speed but runs a trailing axis of 3 several times slower.
"""
from __future__ import annotations

import math

from ..backends import numpy_backed
from .namespace import array_namespace

# sqrt of the volume ratio between cube and sphere, as the reference uses for ROUND
ROUND_SCALE = 0.723601254558268

# sin(pi x) / x as a polynomial in x^2 on |x| <= 1/2: a least-squares fit in relative error at
# 200 Chebyshev nodes of x^2 in [0, 1/4], solved with mpmath at 50 digits; the fit is within
# 1.4e-16 of the function, and evaluated in float64 within 4e-16 (two Taylor terms fewer
# than the series needs for the same accuracy)
_SINPI_OVER_X = (3.1415926535897927, -5.167712780049753, 2.550164039859758, -0.5992645287752849,
                 0.08214587825182912, -0.007370361044587664, 0.00046597753966745733,
                 -2.1122865974926816e-05)


def sinpi_over_x(x2):
    """sin(pi x) / x from x2 = x^2, for |x| <= 1/2 (relative error < 4e-16 in float64).

    Horner's rule, updating one array in place (the updates keep it in cache):
    on NumPy about twice as fast as ``sin`` of float64, a C library call per
    element.  Used where :func:`~xbragg.backends.numpy_backed` says so.
    """
    p = x2 * _SINPI_OVER_X[-1]
    p += _SINPI_OVER_X[-2]
    for c in _SINPI_OVER_X[-3::-1]:
        p *= x2
        p += c
    return p


def sincg(h, n_cells: float, *, nearest=None, signed: bool = True):
    """Grating factor sin(N pi h)/sin(pi h), with N at integer h (reference ``sincg``).

    ``n_cells`` is the whole number N.  Computed on reduced arguments: with
    n = round(h) and f = h - n, and m = round(N f), g = N f - m,
    sin(N pi h)/sin(pi h) = (-1)^((N-1) n + m) sin(pi g)/sin(pi f), both sines
    on |x| <= 1/2, so that it stays accurate in float32 and at integer h, where
    the reference's direct form divides two rounding errors.  ``nearest``:
    ceil(h - 0.5) when the caller has it.  ``signed=False`` skips the sign
    (intensities only need the square).
    """
    xp = array_namespace(h)
    n = nearest_index(h) if nearest is None else nearest
    # the limit N at f = 0 without a division guard: a tiny offset, far below the spacing
    # of representable f away from 0 (g/f = fl(N e)/e then rounds to N exactly, and both
    # polynomials equal pi)
    f = (h - n) + (1e-300 if h.dtype == xp.float64 else 1e-30)
    Nf = n_cells * f
    m = xp.round(Nf)
    g = Nf - m
    if numpy_backed(xp):
        ratio = (g / f) * (sinpi_over_x(g * g) / sinpi_over_x(f * f))
    else:
        ratio = xp.sin(math.pi * g) / xp.sin(math.pi * f)
    if not signed:
        return ratio
    # whole numbers, exact in the working dtype
    flip = xp.remainder((n_cells - 1.0) * n + m, 2.0) != 0.0
    return xp.where(flip, -ratio, ratio)


def sincg_direct(h, n_cells: float):
    """sin(N pi h)/sin(pi h) evaluated as the reference's ``sincg(M_PI*h, N)`` does, N at h = 0.

    At whole non-zero h and at large |h| this divides rounding errors (see
    :func:`sincg`); ``c_parity`` uses it to reproduce the reference's values there.
    """
    xp = array_namespace(h)
    x = math.pi * h
    zero = x == 0.0
    safe = xp.where(zero, xp.ones_like(x), x)
    return xp.where(zero, xp.full_like(x, n_cells), xp.sin(safe * n_cells) / xp.sin(safe))


def sinc3_direct(x):
    """3 (sin x / x - cos x) / x^2, 1 at x = 0: the reference's ``sinc3`` form (``c_parity``)."""
    xp = array_namespace(x)
    zero = x == 0.0
    safe = xp.where(zero, xp.ones_like(x), x)
    return xp.where(zero, xp.ones_like(x), 3.0 * (xp.sin(safe) / safe - xp.cos(safe)) / (safe * safe))


def sinc3(x):
    """Sphere transform 3 (sin x - x cos x) / x^3, 1 at x = 0 (reference ``sinc3``).

    The reference's direct form 3 (sin x / x - cos x) / x^2 cancels for small x
    (all precision lost below ~1e-8 in float64, ~1e-3 in float32); below
    |x| = 0.1 the Taylor series 1 - x^2/10 + x^4/280 - x^6/15120 + x^8/1330560
    is used instead (truncation error < 1e-14 there).
    """
    xp = array_namespace(x)
    small = xp.abs(x) < 0.1
    safe = xp.where(small, xp.ones_like(x), x)
    direct = 3.0 * (xp.sin(safe) / safe - xp.cos(safe)) / (safe * safe)
    x2 = x * x
    series = 1.0 + x2 * (-1.0 / 10.0 + x2 * (1.0 / 280.0 + x2 * (-1.0 / 15120.0 + x2 / 1330560.0)))
    return xp.where(small, series, direct)


def nearest_index(x):
    """Nearest whole index, rounding halves up: ceil(x - 0.5) as the reference."""
    xp = array_namespace(x)
    return xp.ceil(x - 0.5)


def lattice_factor(hkl: tuple, *, shape: str, Na: float, Nb: float, Nc: float, fudge: float,
                   reciprocal=None, nearest: tuple | None = None, signed: bool = True,
                   direct: bool = False):
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
    xp = array_namespace(*hkl)
    if nearest is None:
        nearest = tuple(nearest_index(x) for x in hkl)
    # the direct forms reproduce the reference's double-precision rounding; in float32 they would
    # only lose accuracy (sin of arguments up to N pi h), so float32 keeps the reduced forms
    direct = direct and hkl[0].dtype == xp.float64
    if shape == "square" and direct:
        fa, fb, fc = (sincg_direct(x, n_cells) if n_cells > 1 else xp.ones_like(x)
                      for x, n_cells in zip(hkl, (Na, Nb, Nc)))
        return fa * fb * fc, (fa, fb, fc)
    if shape == "square":
        # an axis with N <= 1 contributes 1 (the reference skips it)
        fa, fb, fc = (sincg(x, n_cells, nearest=n, signed=signed) if n_cells > 1 else xp.ones_like(x)
                      for x, n, n_cells in zip(hkl, nearest, (Na, Nb, Nc)))
        return fa * fb * fc, (fa, fb, fc)
    dh, dk, dl = (x - n for x, n in zip(hkl, nearest))
    volume = Na * Nb * Nc
    if shape == "round":
        hrad_sqr = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc
        form = sinc3_direct if direct else sinc3
        return volume * ROUND_SCALE * form(math.pi * xp.sqrt(hrad_sqr * fudge)), None
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
