"""The reference's random numbers, reproduced exactly (host side).

nanoBragg draws every random number from ``ran1``, the Numerical Recipes
"minimal standard" multiplicative congruential generator (Park-Miller,
a = 16807, m = 2^31 - 1, Schrage's factorisation) behind a 32-entry
Bays-Durham shuffle table, seeded with a negative integer.  Its Poisson
(``poidev``), Gaussian (``gaussdev``), unit-vector (``uniform3Ddev``) deviates
and its random rotations (``mosaic_rotation_umat``) are built on it.

Reproducing the seeded outputs byte for byte needs the reference's exact
arithmetic, including its precisions: ``ran1``, ``poidev``, ``gaussdev``,
``gammln`` and ``uniform3Ddev`` are declared ``float`` in the C, so their
results and most intermediates are single precision while calls such as
``exp``, ``log``, ``tan`` and ``sqrt`` are double.  Every single-precision
step is written here as an explicit :func:`f32` rounding of the exact double
result, which equals the float32 operation (for ``+ - * /`` and ``sqrt`` the
double rounding 53 -> 24 bits is innocuous).

State.  In the C the shuffle table (``iy``, ``iv``) and the spare Gaussian
deviate are ``static``: one table shared by every seed variable, while each
stream (noise ``seed``, ``mosaic_seed``, ``misset_seed``) is its own
``long idum``.  A negative ``idum`` (every seed the command line produces
from a positive value) re-initialises the shared table; a positive one
continues the table left by the previous stream.  :class:`Ran1` keeps the same
split: ``idum`` per generator, and a :class:`ShuffleTable` that is private
unless passed in (``table=``), so that sharing it reproduces the reference even
for the positive seeds that ``-seed -5`` produces.

The noise image loop (:func:`noise_image`) runs compiled by numba when it is
importable (the optional extra ``xbragg[numba]``) and as plain Python
otherwise; both run the same source and give the same bytes.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as npx
import numpy as np

from ..kernel.vectors import axis_angle_umat, cross3
from .geometry import unitize
from .powf import powf

__all__ = [
    "IA", "IM", "AM", "IQ", "IR", "NTAB", "NDIV", "RNMX",
    "ShuffleTable", "Ran1", "f32", "uniform3Ddev",
    "mosaic_rotation_umat", "umat2misset", "random_misset", "mosaic_umats",
    "noise_image", "numba_available", "clock_seed",
]

# --- ran1 constants (Numerical Recipes in C, 2nd ed., section 7.1) -----------------
IA = 16807
IM = 2147483647
AM = 1.0 / IM
IQ = 127773
IR = 2836
NTAB = 32
NDIV = 1 + (IM - 1) // NTAB
EPS = 1.2e-7
RNMX = 1.0 - EPS

_F32 = struct.Struct("<f")


def f32(x: float) -> float:
    """Round a double to the nearest float32 (returned as a Python float)."""
    try:
        return _F32.unpack(_F32.pack(x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


@dataclass
class ShuffleTable:
    """The reference's ``static`` state: shuffle table, its output, the spare Gaussian.

    ``state`` is ``[iy, iv[0], ..., iv[31]]``; ``gauss`` is ``[iset, gset]``.
    """

    state: list = field(default_factory=lambda: [0] * (NTAB + 1))
    gauss: list = field(default_factory=lambda: [0.0, 0.0])

    def snapshot(self) -> tuple:
        """An immutable copy (to carry the state from set-up to the noise image)."""
        return tuple(self.state), tuple(self.gauss)

    @classmethod
    def from_snapshot(cls, snap: tuple | None) -> "ShuffleTable":
        """Rebuild a table from :meth:`snapshot` (a fresh one for ``None``)."""
        if snap is None:
            return cls()
        return cls(list(snap[0]), list(snap[1]))


# ----------------------------------------------------------------------------------
# Core routines, written once and used both as plain Python and (compiled) by numba.
# ``st`` is [idum, iy, iv0..iv31] (a list, or an int64 array under numba); ``gs`` is
# [iset, gset]; ``F`` rounds to float32.
# ----------------------------------------------------------------------------------


def _make_core(F, jit, EXP, FLOOR):
    """Build ran1, gammln, gaussdev, poidev and the noise loop.

    ``F`` rounds to float32, ``EXP`` and ``FLOOR`` are C ``exp`` and ``floor``
    (infinite and NaN arguments allowed), ``jit`` compiles (or not).
    """

    @jit
    def ran1_st(st):
        # st[0] = idum (this stream), st[1] = iy, st[2:34] = iv
        if st[0] <= 0 or st[1] == 0:
            # first time around (or re-seeded): idum must not be 0
            if -st[0] < 1:
                st[0] = 1
            else:
                st[0] = -st[0]
            for j in range(NTAB + 7, -1, -1):
                k = st[0] // IQ
                st[0] = IA * (st[0] - k * IQ) - IR * k
                if st[0] < 0:
                    st[0] += IM
                if j < NTAB:
                    st[2 + j] = st[0]
            st[1] = st[2]
        k = st[0] // IQ
        st[0] = IA * (st[0] - k * IQ) - IR * k
        if st[0] < 0:
            st[0] += IM
        j = st[1] // NDIV
        st[1] = st[2 + j]
        st[2 + j] = st[0]
        temp = F(AM * st[1])
        if temp > RNMX:
            return F(RNMX)
        return temp

    @jit
    def gammln_f(xx):
        # ln Gamma(xx), Lanczos series in double, returned as float
        x = 1.0 * xx
        y = x
        tmp = x + 5.5
        tmp -= (x + 0.5) * math.log(tmp)
        ser = 1.000000000190015
        y += 1.0
        ser += 76.18009172947146 / y
        y += 1.0
        ser += -86.50532032941677 / y
        y += 1.0
        ser += 24.01409824083091 / y
        y += 1.0
        ser += -1.231739572450155 / y
        y += 1.0
        ser += 0.1208650973866179e-2 / y
        y += 1.0
        ser += -0.5395239384953e-5 / y
        return F(-tmp + math.log(2.5066282746310005 * ser / x))

    @jit
    def gaussdev_st(st, gs):
        if gs[0] == 0:
            v1 = F(0.0)
            v2 = F(0.0)
            rsq = F(0.0)
            while True:
                v1 = F(2.0 * ran1_st(st) - 1.0)
                v2 = F(2.0 * ran1_st(st) - 1.0)
                rsq = F(F(v1 * v1) + F(v2 * v2))
                if not (rsq >= 1.0 or rsq == 0):
                    break
            fac = F(math.sqrt(-2.0 * math.log(rsq) / rsq))
            gs[1] = F(v1 * fac)
            gs[0] = 1
            return F(v2 * fac)
        gs[0] = 0
        return F(gs[1])

    @jit
    def poidev_st(xm, st, gs):
        # xm is a float32 value
        if xm > 1.0e6:
            return F(xm + math.sqrt(xm) * gaussdev_st(st, gs))
        if xm < 12.0:
            # direct method: multiply uniform deviates until below exp(-xm)
            g = F(EXP(-xm))
            em = F(-1.0)
            t = F(1.0)
            while True:
                em = F(em + 1.0)
                t = F(t * ran1_st(st))
                if not (t > g):
                    break
            return em
        # rejection method with a Lorentzian comparison function
        sq = F(math.sqrt(2.0 * xm))
        alxm = F(math.log(xm))
        g = F(F(xm * alxm) - gammln_f(F(xm + 1.0)))
        em = F(0.0)
        while True:
            y = F(0.0)
            while True:
                y = F(math.tan(math.pi * ran1_st(st)))
                em = F(F(sq * y) + xm)
                if not (em < 0.0):
                    break
            em = F(FLOOR(em))
            t = F(0.9 * (1.0 + F(y * y))
                  * EXP(F(F(F(em * alxm) - gammln_f(F(em + 1.0))) - g)))
            if not (ran1_st(st) > t):
                break
        return em

    @jit
    def noise_loop(values, fpixels, spixels, xmin, xmax, ymin, ymax, adc, st, gs, out):
        # values: float32 pixels in raster order; out: int pixels (0..65535) in raster order
        total = 0.0
        overloads = 0
        idx = 0
        for s in range(spixels):
            for f in range(fpixels):
                if f < xmin or f > xmax or s < ymin or s > ymax:
                    idx += 1
                    continue
                test = 1.0 * poidev_st(values[idx], st, gs)
                total += test
                test += adc
                if test > 65535.0:
                    test = 65535.0
                    overloads += 1
                if test != test:
                    out[idx] = 0
                else:
                    out[idx] = int(test) & 0xFFFF
                idx += 1
        return total, overloads

    return ran1_st, gammln_f, gaussdev_st, poidev_st, noise_loop


def _no_jit(fn):
    return fn


def _c_exp(x: float) -> float:
    """C ``exp``: overflow gives infinity instead of raising."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _c_floor(x: float) -> float:
    """C ``floor``: a float result, infinities and NaN passed through."""
    return float(math.floor(x)) if math.isfinite(x) else x


def _plain_exp(x):
    return math.exp(x)


_ran1_py, _, _gaussdev_py, _poidev_py, _noise_loop_py = _make_core(f32, _no_jit, _c_exp, _c_floor)

_NUMBA: tuple | None = None
_NUMBA_TRIED = False


def _numba_core():
    """The compiled routines, or ``None`` when numba is not importable."""
    global _NUMBA, _NUMBA_TRIED
    if not _NUMBA_TRIED:
        _NUMBA_TRIED = True
        try:
            import numba
        except Exception:
            _NUMBA = None
        else:
            # cache=True: the compiled loop is kept on disk (numba picks a writable cache
            # directory), so only the first run on a machine pays the compilation
            jit = numba.njit(cache=True, nogil=True)
            _NUMBA = _make_core(np.float32, jit, jit(_plain_exp), np.floor)
    return _NUMBA


def numba_available() -> bool:
    """Whether the compiled noise loop can be used."""
    return _numba_core() is not None


# ----------------------------------------------------------------------------------
# Public, object-oriented interface
# ----------------------------------------------------------------------------------


class Ran1:
    """One random stream of the reference: ``long idum`` plus a (possibly shared) table.

    ``Ran1(seed)`` behaves like the C ``long idum = seed`` followed by calls to
    ``ran1(&idum)``: a negative seed (as the command line produces from
    ``-seed N``) loads a fresh shuffle table on the first call.
    """

    def __init__(self, seed: int, table: ShuffleTable | None = None) -> None:
        self.idum = int(seed)
        self.table = table if table is not None else ShuffleTable()

    def _st(self) -> list:
        return [self.idum] + self.table.state

    def _put(self, st) -> None:
        self.idum = int(st[0])
        self.table.state[:] = [int(v) for v in st[1:]]

    def uniform(self) -> float:
        """The next ``ran1`` deviate, a float32 value in (0, 1)."""
        st = self._st()
        value = _ran1_py(st)
        self._put(st)
        return value

    def uniforms(self, n: int) -> np.ndarray:
        """The next ``n`` deviates as a float32 array."""
        st = self._st()
        out = np.empty(n, dtype=np.float32)
        for i in range(n):
            out[i] = _ran1_py(st)
        self._put(st)
        return out

    def poisson(self, mean: float) -> float:
        """The reference's ``poidev(mean)`` (``mean`` is rounded to float32 first)."""
        st = self._st()
        value = _poidev_py(f32(mean), st, self.table.gauss)
        self._put(st)
        return value

    def gauss(self) -> float:
        """The reference's ``gaussdev``: unit-variance normal deviate (float32)."""
        st = self._st()
        value = _gaussdev_py(st, self.table.gauss)
        self._put(st)
        return value

    def unit_vector(self) -> tuple[float, float, float, float]:
        """``uniform3Ddev``: a random unit vector (dx, dy, dz) and the rejected radius."""
        return uniform3Ddev(self)


def uniform3Ddev(gen: Ran1) -> tuple[float, float, float, float]:
    """A unit vector in a random direction, by cutting a sphere out of a cube.

    Returns ``(dx, dy, dz, dr)`` with ``dr`` the accepted radius in [0.01, 1],
    all float32 values, like the reference's ``uniform3Ddev``.
    """
    dr = 0.0
    dx = dy = dz = 0.0
    while dr > 1 or dr < 1e-2:
        dx = f32(2.1 * (gen.uniform() - 0.5))
        dy = f32(2.1 * (gen.uniform() - 0.5))
        dz = f32(2.1 * (gen.uniform() - 0.5))
        dr = f32(math.sqrt(f32(f32(f32(dx * dx) + f32(dy * dy)) + f32(dz * dz))))
    return f32(dx / dr), f32(dy / dr), f32(dz / dr), dr


def mosaic_rotation_umat(mosaicity: float, gen: Ran1) -> np.ndarray:
    """A random rotation on a spherical cap, the reference's ``mosaic_rotation_umat``.

    Three deviates pick an axis uniformly on the sphere and an angle
    ``rot = mosaicity * (1 - r3^2)^(1/3)`` (radians; ``mosaicity`` is a C
    ``float`` parameter, so it is rounded to float32, and the angle factor is a
    float ``powf``, glibc's to the last bit: :func:`xbragg.setup.powf.powf`).
    Returns the 3x3 matrix, row-major as the C ``umat[9]``.
    """
    r1 = 2.0 * gen.uniform() - 1.0
    r2 = 2.0 * gen.uniform() - 1.0
    r3 = 2.0 * gen.uniform() - 1.0
    xyrad = math.sqrt(1.0 - r2 * r2)
    rot = f32(f32(mosaicity) * powf(f32(1.0 - r3 * r3), f32(1.0 / 3.0)))
    v1 = xyrad * math.sin(math.pi * r1)
    v2 = xyrad * math.cos(math.pi * r1)
    v3 = r2
    return axis_angle_umat(npx, (v1, v2, v3), rot)


def _unit_if_positive(v: np.ndarray) -> tuple[np.ndarray, float]:
    """``v`` divided by its length when that is > 0, else ``v`` unchanged; and the length.

    As ``umat2misset``'s inline ``if(m>0)`` in the C: unlike :func:`unitize`
    alone, a zero (or NaN) length leaves the vector as it was, signed zeros
    included.
    """
    unit, mag = unitize(v)
    return (unit if mag > 0 else v), mag


def _normalise_rows(u: list[np.ndarray]) -> list[float]:
    """Normalise the rows of ``u`` in place (see :func:`_unit_if_positive`); their lengths."""
    mags = []
    for i, row in enumerate(u):
        u[i], mag = _unit_if_positive(row)
        mags.append(mag)
    return mags


def _crosses(u: list[np.ndarray]) -> list[np.ndarray]:
    """Normalised x cross y, y cross z and z cross x of the rows of ``u``."""
    return [_unit_if_positive(cross3(a, b))[0] for a, b in ((u[0], u[1]), (u[1], u[2]), (u[2], u[0]))]


def umat2misset(umat: np.ndarray) -> tuple[float, float, float]:
    """Misset angles (rotx, roty, rotz) in radians of a rotation matrix (reference ``umat2misset``).

    Rows are normalised, a missing row is replaced by the cross product of the
    other two (twice, as in the C), rows are normalised again, then
    ``rotx = atan2(uzy, uzz)``, ``roty = atan2(-uzx, sqrt(uzy^2 + uzz^2))``,
    ``rotz = atan2(uyx, uxx)`` (with the reference's fallback when uzx^2 >= 1).
    """
    u = [row.copy() for row in np.asarray(umat, dtype=np.float64).reshape(3, 3)]
    mx, my, mz = _normalise_rows(u)
    if mx >= 0 and my <= 0 and mz <= 0:
        u[1] = np.array([0.0, 1.0, 0.0])
        u[2] = np.array([0.0, 0.0, 1.0])
    if mx <= 0 and my >= 0 and mz <= 0:
        u[0] = np.array([1.0, 0.0, 0.0])
        u[2] = np.array([0.0, 0.0, 1.0])
    if mx <= 0 and my <= 0 and mz >= 0:
        u[0] = np.array([1.0, 0.0, 0.0])
        u[1] = np.array([0.0, 1.0, 0.0])
    for _ in range(2):
        xcy, ycz, zcx = _crosses(u)
        if mx <= 0:
            u[0] = ycz
        if my <= 0:
            u[1] = zcx
        if mz <= 0:
            u[2] = xcy
    _normalise_rows(u)
    (uxx, uxy, _), (uyx, uyy, _), (uzx, uzy, uzz) = (row.tolist() for row in u)
    if uzx * uzx < 1.0:
        rotx = math.atan2(uzy, uzz)
        roty = math.atan2(-uzx, math.sqrt(uzy * uzy + uzz * uzz))
        rotz = math.atan2(uyx, uxx)
    else:
        rotx = math.atan2(1, 1) * 4
        roty = math.atan2(1, 1) * 2
        rotz = math.atan2(uxy, -uyy)
    return rotx, roty, rotz


def random_misset(gen: Ran1) -> tuple[float, float, float]:
    """``-misset random``: misset angles (radians) as the reference draws them.

    The reference calls ``mosaic_rotation_umat(90.0, umat, &misset_seed)``; its
    comment says "mosaic = 90 deg is a full sphere", but the function uses its
    argument as an angle in RADIANS (``cos(rot)``, ``sin(rot)`` with
    ``rot = 90 * (1 - r3^2)^(1/3)``), so the rotation angle about the random
    axis runs over 0..90 rad, some fourteen turns, and wraps: a random
    orientation, though not exactly uniform over rotations.  xbragg copies this
    (90 as radians) because the point of ``-misset random -misset_seed N`` is
    to give the reference's crystal orientation for the same seed.  The
    matrix is then converted to x, y, z misset angles (:func:`umat2misset`),
    which the caller applies like ``-misset`` (``rotate`` of the reciprocal
    vectors), as the reference does.
    """
    return umat2misset(mosaic_rotation_umat(90.0, gen))


def mosaic_umats(spread_rad: float, domains: int, gen: Ran1) -> np.ndarray:
    """Rotation matrices of the mosaic domains, shape ``(domains, 3, 3)``.

    One :func:`mosaic_rotation_umat` per domain, in order, from one stream;
    domain 0 is drawn too (it consumes its three deviates) and then forced to
    the identity, as the reference does.
    """
    out = np.empty((domains, 3, 3))
    for m in range(domains):
        out[m] = mosaic_rotation_umat(spread_rad, gen)
        if m == 0:
            out[m] = np.eye(3)
    return out


#: below this many ROI pixels the plain loop is quicker than loading the compiled one
NUMBA_MIN_PIXELS = 250_000


def noise_image(image32: np.ndarray, roi: tuple[int, int, int, int], adc: float, gen: Ran1,
                *, use_numba: bool | None = None) -> tuple[np.ndarray, float, int]:
    """The reference's Poisson noise image.

    For each pixel inside the inclusive ``roi`` (xmin, xmax, ymin, ymax), in
    raster order (masked pixels included: they are rendered as 0 and still draw
    one deviate), ``poidev`` of the float32 pixel value, plus ``adc``, clipped at
    65535 (counted as an overload) and truncated to uint16; pixels outside the
    ROI stay 0.  Returns ``(image uint16, photons, overloads)`` where photons is
    the sum of the deviates before the offset.  ``use_numba``: ``None`` uses the
    compiled loop when numba is importable and the ROI is large enough to repay
    loading it (:data:`NUMBA_MIN_PIXELS`); both give the same bytes.
    """
    values = np.ascontiguousarray(image32, dtype=np.float32)
    spixels, fpixels = values.shape
    xmin, xmax, ymin, ymax = (int(v) for v in roi)
    required = use_numba is True
    if use_numba is None:
        use_numba = (xmax - xmin + 1) * (ymax - ymin + 1) >= NUMBA_MIN_PIXELS
    core = _numba_core() if use_numba else None
    if required and core is None:
        raise RuntimeError("numba is not installed")
    flat = values.ravel()
    if core is not None:
        st = np.array([gen.idum] + gen.table.state, dtype=np.int64)
        gs = np.array(gen.table.gauss, dtype=np.float64)
        *_, noise_loop = core                 # (ran1, gammln, gaussdev, poidev, noise loop)
        out = np.zeros(flat.size, dtype=np.int64)
        total, overloads = noise_loop(flat, fpixels, spixels, xmin, xmax, ymin, ymax, float(adc), st, gs, out)
        gen._put([int(v) for v in st])
        gen.table.gauss[:] = [int(gs[0]), float(gs[1])]
    else:
        st = gen._st()
        out_list = [0] * flat.size
        total, overloads = _noise_loop_py(flat.tolist(), fpixels, spixels, xmin, xmax, ymin, ymax,
                                          float(adc), st, gen.table.gauss, out_list)
        gen._put(st)
        out = np.asarray(out_list, dtype=np.int64)
    return out.astype(np.uint16).reshape(spixels, fpixels), float(total), int(overloads)


def clock_seed() -> int:
    """The reference's default seed, from the clock: ``seed = -time(0)`` is ``Ran1(-clock_seed())``."""
    import time
    return int(time.time())
