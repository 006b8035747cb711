"""The C library's single-precision ``powf``, bit for bit, in plain double arithmetic.

The reference's ``mosaic_rotation_umat`` (random mosaic domains and ``-misset
random``) scales a rotation angle of up to 90 rad by ``powf(1 - r3^2, 1/3)``;
one unit in the last place of that float moves the ``-misset random`` angles by
~1e-4 deg.  glibc's ``powf`` (2.27 and later, the algorithm of Arm's
optimized-routines) is not correctly rounded: it evaluates log2(x) and 2^(y
log2 x) in double with a relative error of ~2^-26 and rounds that once to
float, so for ~0.06% of inputs it differs from the correctly rounded power, and
NumPy's float32 power (a SIMD routine on some builds) differs for more.  To
give the reference's numbers on any machine, whatever its C library or NumPy,
the same double-precision steps are written out here; Python floats are IEEE
doubles and these operations are not fused, as in glibc's generic build.

Scope: ``x`` and ``y`` float32 values with ``x > 0`` finite (subnormal
included) and ``y`` finite, which covers every call the reference makes;
``x == 0`` and ``y == 0`` give the IEEE results.
"""
from __future__ import annotations

import struct
from decimal import Decimal, localcontext

__all__ = ["powf"]

# log2(x) = log1p(z/c - 1)/ln2 + log2(c) + k on 16 subintervals of [OFF, 2*OFF]:
# (1/c, log2(c)) per subinterval, then the log1p(r)/ln2 polynomial; glibc's
# constants (sysdeps/ieee754/flt-32/e_powf_log2_data.c), which are chosen by a
# search and a minimax fit and cannot be re-derived here.
_LOG2_TABLE = tuple((float.fromhex(a), float.fromhex(b)) for a, b in (
    ("0x1.661ec79f8f3bep+0", "-0x1.efec65b963019p-2"),
    ("0x1.571ed4aaf883dp+0", "-0x1.b0b6832d4fca4p-2"),
    ("0x1.49539f0f010bp+0", "-0x1.7418b0a1fb77bp-2"),
    ("0x1.3c995b0b80385p+0", "-0x1.39de91a6dcf7bp-2"),
    ("0x1.30d190c8864a5p+0", "-0x1.01d9bf3f2b631p-2"),
    ("0x1.25e227b0b8eap+0", "-0x1.97c1d1b3b7afp-3"),
    ("0x1.1bb4a4a1a343fp+0", "-0x1.2f9e393af3c9fp-3"),
    ("0x1.12358f08ae5bap+0", "-0x1.960cbbf788d5cp-4"),
    ("0x1.0953f419900a7p+0", "-0x1.a6f9db6475fcep-5"),
    ("0x1p+0", "0x0p+0"),
    ("0x1.e608cfd9a47acp-1", "0x1.338ca9f24f53dp-4"),
    ("0x1.ca4b31f026aap-1", "0x1.476a9543891bap-3"),
    ("0x1.b2036576afce6p-1", "0x1.e840b4ac4e4d2p-3"),
    ("0x1.9c2d163a1aa2dp-1", "0x1.40645f0c6651cp-2"),
    ("0x1.886e6037841edp-1", "0x1.88e9c2c1b9ff8p-2"),
    ("0x1.767dcf5534862p-1", "0x1.ce0a44eb17bccp-2"),
))
_LOG2_POLY = tuple(float.fromhex(a) for a in (
    "0x1.27616c9496e0bp-2", "-0x1.71969a075c67ap-2", "0x1.ec70a6ca7baddp-2",
    "-0x1.7154748bef6c8p-1", "0x1.71547652ab82bp0"))
_OFF = 0x3F330000

# 2^x = 2^(k/32) * 2^r, |r| <= 1/64: glibc's cubic for 2^r (e_exp2f_data.c)
_EXP2_POLY = tuple(float.fromhex(a) for a in ("0x1.c6af84b912394p-5", "0x1.ebfce50fac4f3p-3",
                                              "0x1.62e42ff0c52d6p-1"))
_EXP2_BITS = 5
_SHIFT = float.fromhex("0x1.8p+52") / (1 << _EXP2_BITS)   # adding it rounds to a multiple of 1/32
_MASK64 = (1 << 64) - 1

_F = struct.Struct("<f")
_I = struct.Struct("<I")
_D = struct.Struct("<d")
_Q = struct.Struct("<Q")


def _float_bits(x: float) -> int:
    return _I.unpack(_F.pack(x))[0]


def _bits_float(i: int) -> float:
    return _F.unpack(_I.pack(i & 0xFFFFFFFF))[0]


def _double_bits(x: float) -> int:
    return _Q.unpack(_D.pack(x))[0]


def _bits_double(i: int) -> float:
    return _D.unpack(_Q.pack(i & _MASK64))[0]


def _exp2_table() -> tuple[int, ...]:
    """Bits of 2^(i/32) rounded to double, less i/32 in the exponent field."""
    out = []
    with localcontext() as ctx:
        ctx.prec = 60
        for i in range(1 << _EXP2_BITS):
            value = float(Decimal(2) ** (Decimal(i) / (1 << _EXP2_BITS)))   # correctly rounded
            out.append((_double_bits(value) - (i << (52 - _EXP2_BITS))) & _MASK64)
    return tuple(out)


_EXP2_TABLE = _exp2_table()


def _log2(ix: int) -> float:
    """log2 of the float with bits ``ix`` (subnormals pre-normalised to a negative exponent)."""
    tmp = (ix - _OFF) & 0xFFFFFFFF
    i = (tmp >> (23 - 4)) % 16
    top = tmp & 0xFF800000
    z = _bits_float(ix - top)
    k = (top - (1 << 32) if top >= 1 << 31 else top) >> 23      # arithmetic shift of an int32
    invc, logc = _LOG2_TABLE[i]
    a0, a1, a2, a3, a4 = _LOG2_POLY
    r = z * invc - 1.0
    y0 = logc + k
    r2 = r * r
    y = a0 * r + a1
    p = a2 * r + a3
    r4 = r2 * r2
    q = a4 * r + y0
    q = p * r2 + q
    return y * r4 + q


def _exp2(xd: float) -> float:
    """2^xd in double."""
    kd = xd + _SHIFT
    ki = _double_bits(kd)
    kd -= _SHIFT
    r = xd - kd
    t = _EXP2_TABLE[ki % (1 << _EXP2_BITS)]
    t = (t + (ki << (52 - _EXP2_BITS))) & _MASK64
    s = _bits_double(t)
    c0, c1, c2 = _EXP2_POLY
    z = c0 * r + c1
    r2 = r * r
    y = c2 * r + 1.0
    y = z * r2 + y
    return y * s


def powf(x: float, y: float) -> float:
    """C ``powf(x, y)`` as glibc computes it; ``x`` and ``y`` are rounded to float32 first.

    Returns the float32 result as a Python float.  Raises ValueError outside the
    scope of the module docstring (negative, infinite or NaN ``x``, non-finite ``y``).
    """
    ix, iy = _float_bits(x), _float_bits(y)
    if iy & 0x7FFFFFFF == 0 or ix == 0x3F800000:
        return 1.0
    if ix & 0x80000000 or ix >= 0x7F800000 or iy & 0x7F800000 == 0x7F800000:
        raise ValueError(f"powf({x!r}, {y!r}): only finite x >= 0 and finite y are reproduced")
    if ix == 0:
        return 0.0 if not iy & 0x80000000 else float("inf")
    if ix < 0x00800000:
        # subnormal x: normalise, leaving a negative biased exponent (wraps as uint32)
        ix = ((_float_bits(x * 2.0 ** 23) & 0x7FFFFFFF) - (23 << 23)) & 0xFFFFFFFF
    ylogx = _bits_float(iy) * _log2(ix)
    if (_double_bits(ylogx) >> 47 & 0xFFFF) >= _double_bits(126.0) >> 47:
        # |y log2 x| >= 126: glibc's overflow and underflow branches
        if ylogx > float.fromhex("0x1.fffffffd1d571p+6"):
            return float("inf")
        if ylogx <= -150.0:
            return 0.0
    try:
        return _F.unpack(_F.pack(_exp2(ylogx)))[0]
    except OverflowError:
        return float("inf")
