"""The namespace the kernel calls: the array API plus xbragg's helpers, in each backend's fastest form.

The kernel calls ``xp.clamp`` and ``xp.sin_pi_ratio`` like any other namespace
function.  On NumPy (and array_api_strict, which wraps NumPy arrays, so that it
stays bit-identical to NumPy) they take the forms NumPy runs fastest: ``sin`` is a
C library call per element (10-20 ns per float64, where a polynomial in whole-array
operations costs about 4 ns; PyTorch and CuPy vectorize it), and array_api_compat's
``clip`` copies and assigns through masks (10x slower than ``maximum`` then
``minimum``, which torch.compile fuses half as well as ``clip``).

The renderer looks the namespace up once per render and passes it down as the
keyword ``xp``; :func:`kernel_namespace_of` serves direct callers of kernel functions.
"""
from __future__ import annotations

import functools
import math
import types

import numpy as np
from array_api_compat import array_namespace

from .select import backend_of, namespace

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
    on NumPy about twice as fast as ``sin`` of float64.
    """
    p = x2 * _SINPI_OVER_X[-1]
    p += _SINPI_OVER_X[-2]
    for c in _SINPI_OVER_X[-3::-1]:
        p *= x2
        p += c
    return p


def _polynomial_forms(xp) -> dict:
    """NumPy's forms of the helpers (see the module docstring)."""
    def clamp(x, low, high):
        """``x`` limited to [low, high]."""
        return xp.minimum(xp.maximum(x, low), high)

    def sin_pi_ratio(g, f):
        """sin(pi g) / sin(pi f) for |g|, |f| <= 1/2, f != 0."""
        return (g / f) * (sinpi_over_x(g * g) / sinpi_over_x(f * f))
    return {"clamp": clamp, "sin_pi_ratio": sin_pi_ratio}


def _library_forms(xp) -> dict:
    """The libraries' own forms of the helpers (PyTorch, CuPy)."""
    def clamp(x, low, high):
        """``x`` limited to [low, high]."""
        return xp.clip(x, low, high)

    def sin_pi_ratio(g, f):
        """sin(pi g) / sin(pi f) for |g|, |f| <= 1/2, f != 0."""
        return xp.sin(math.pi * g) / xp.sin(math.pi * f)
    return {"clamp": clamp, "sin_pi_ratio": sin_pi_ratio}


_FORMS = {"numpy": _polynomial_forms, "array_api_strict": _polynomial_forms,
          "torch": _library_forms, "cupy": _library_forms}


@functools.cache
def kernel_namespace(backend: str) -> types.ModuleType:
    """``backend``'s array-API namespace with ``clamp`` and ``sin_pi_ratio`` added (one object per backend)."""
    xp = namespace(backend)
    extended = types.ModuleType(xp.__name__, xp.__doc__)
    extended.__dict__.update(vars(xp))
    extended.__dict__.update(_FORMS[backend](xp))
    return extended


def kernel_namespace_of(*arrays) -> types.ModuleType:
    """:func:`kernel_namespace` of the backend that ``arrays`` belong to."""
    if all(isinstance(a, (np.ndarray, np.generic)) for a in arrays):
        # NumPy's own namespace: array_namespace would import array_api_compat's wrapper of it
        return kernel_namespace("numpy")
    return kernel_namespace(backend_of(array_namespace(*arrays)))
