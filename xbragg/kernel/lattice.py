"""Lattice (crystal shape) factors: SQUARE (sincg), ROUND (sinc3), GAUSS, TOPHAT."""
from __future__ import annotations

import math

from array_api_compat import array_namespace, device

# sqrt of the volume ratio between cube and sphere, as the reference uses for ROUND
ROUND_SCALE = 0.723601254558268


def sincg(h, n_cells, *, nearest=None, signed: bool = True):
    """Grating factor sin(N pi h)/sin(pi h), with N at integer h (reference ``sincg``).

    ``n_cells`` is a float or an array broadcastable against ``h`` (one N per
    axis when ``h`` is (..., 3)).  Computed on the range-reduced fraction
    f = h - n, n the nearest whole number (``nearest``, when the caller has it),
    with the sign (-1)^((N-1) n), so that it stays accurate in float32 and at
    integer h, where the reference's direct form divides two rounding errors.
    N must be a whole number.  ``signed=False`` skips the sign (intensities
    only need the square).
    """
    xp = array_namespace(h)
    n = nearest_index(h) if nearest is None else nearest
    # the limit N at f = 0 without a division guard: a tiny offset, far below the spacing
    # of representable f away from 0, makes 0/0 into sin(N pi e)/sin(pi e) = N, while the
    # ratio near f = 0 depends on f only to second order
    f = (h - n) + (1e-300 if h.dtype == xp.float64 else 1e-30)
    ratio = xp.sin((math.pi * n_cells) * f) / xp.sin(math.pi * f)
    if not signed:
        return ratio
    # (-1)^((N-1) n): only even N flip the sign, and only on odd n (n/2 then has a fraction)
    half = n * 0.5
    odd_n = xp.floor(half) != half
    if isinstance(n_cells, (int, float)):
        if n_cells % 2 != 0:
            return ratio
        flip = odd_n
    else:
        flip = odd_n & (xp.remainder(n_cells, 2.0) == 0.0)
    return xp.where(flip, -ratio, ratio)


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


def lattice_factor(hkl, *, shape: str, Na: float, Nb: float, Nc: float, fudge: float,
                   reciprocal=None, nearest=None, signed: bool = True):
    """Lattice factor F_latt for fractional Miller indices ``hkl`` (..., 3).

    ``reciprocal`` (3, 3) holds a*, b*, c* as rows (1/A) and is needed by GAUSS
    and TOPHAT, which measure the distance to the nearest node in reciprocal
    space scaled by Na Nb Nc (reference units kept).
    ``nearest``: ceil(hkl - 0.5) when the caller has it; ``signed=False`` lets
    SQUARE skip the sign of each factor (intensities need only the square).
    Returns (F_latt, (F_latt_a, F_latt_b, F_latt_c) or None), each of shape (...).
    """
    xp = array_namespace(hkl)
    h, k, l = hkl[..., 0], hkl[..., 1], hkl[..., 2]
    if shape == "square":
        # all three axes in one pass over the contiguous (..., 3) array; an axis with
        # N <= 1 contributes 1 (the reference skips it)
        n_vec = xp.asarray([Na, Nb, Nc], dtype=hkl.dtype, device=device(hkl))
        factors = sincg(hkl, n_vec, nearest=nearest, signed=signed)
        if min(Na, Nb, Nc) <= 1:
            factors = xp.where(n_vec > 1.0, factors, xp.ones_like(factors))
        fa, fb, fc = factors[..., 0], factors[..., 1], factors[..., 2]
        return fa * fb * fc, (fa, fb, fc)
    n = nearest_index(hkl) if nearest is None else nearest
    dh, dk, dl = h - n[..., 0], k - n[..., 1], l - n[..., 2]
    volume = Na * Nb * Nc
    if shape == "round":
        hrad_sqr = dh * dh * Na * Na + dk * dk * Nb * Nb + dl * dl * Nc * Nc
        return volume * ROUND_SCALE * sinc3(math.pi * xp.sqrt(hrad_sqr * fudge)), None
    r = reciprocal
    dx = dh * r[0, 0] + dk * r[1, 0] + dl * r[2, 0]
    dy = dh * r[0, 1] + dk * r[1, 1] + dl * r[2, 1]
    dz = dh * r[0, 2] + dk * r[1, 2] + dl * r[2, 2]
    rad_star_sqr = (dx * dx + dy * dy + dz * dz) * Na * Na * Nb * Nb * Nc * Nc
    if shape == "gauss":
        return volume * xp.exp(-(rad_star_sqr / 0.63 * fudge)), None
    if shape == "tophat":
        inside = rad_star_sqr * fudge < 0.3969
        return xp.where(inside, xp.full_like(h, volume), xp.zeros_like(h)), None
    raise ValueError(f"unknown crystal shape {shape!r}")
