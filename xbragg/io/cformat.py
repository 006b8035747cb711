"""C ``printf`` number formats (``%g``, ``%lg``, ``%.Nf``) reproduced exactly.

Python's ``%`` operator rounds correctly like glibc's printf; the one
difference handled here is glibc printing a NaN whose sign bit is set as
``-nan`` (what ``0.0/0.0`` produces on x86).
"""
from __future__ import annotations

import math

__all__ = ["format_g", "format_lg", "format_f", "format_e"]


def _nonfinite(x: float) -> str | None:
    """glibc spelling of ``x`` when it is NaN or infinite, else ``None``."""
    if math.isnan(x):
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return None


def format_g(x: float, precision: int = 6) -> str:
    """C ``printf("%g", x)``: ``precision`` significant digits (default 6).

    Exponent form (``1.23457e+08``, at least two exponent digits) when the
    decimal exponent is below -4 or at least ``precision``; trailing zeros
    and a bare decimal point are removed. ``-0.0`` gives ``"-0"``. ``x`` may be
    any real number convertible to a Python float (NumPy scalars included;
    a float32 is widened exactly, as C does for variadic arguments).
    """
    value = float(x)
    special = _nonfinite(value)
    if special is not None:
        return special
    return "%.*g" % (precision, value)


def format_lg(x: float, precision: int = 6) -> str:
    """C ``printf("%lg", x)``: identical to :func:`format_g` (``l`` has no effect on doubles)."""
    return format_g(x, precision)


def format_f(x: float, prec: int = 6) -> str:
    """C ``printf("%.<prec>f", x)``: fixed notation with ``prec`` decimals."""
    value = float(x)
    special = _nonfinite(value)
    if special is not None:
        return special
    return "%.*f" % (prec, value)


def format_e(x: float, prec: int = 6) -> str:
    """C ``printf("%.<prec>e", x)``: exponent notation with ``prec`` decimals."""
    value = float(x)
    special = _nonfinite(value)
    if special is not None:
        return special
    return "%.*e" % (prec, value)
