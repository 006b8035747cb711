"""xbragg.setup.powf reproduces glibc's powf, which is not correctly rounded."""
from __future__ import annotations

import ctypes
import ctypes.util
import platform
import struct

import numpy as np
import pytest

from xbragg.setup.powf import powf

THIRD = struct.unpack("<f", struct.pack("<f", 1.0 / 3.0))[0]

# x, glibc 2.36's powf(x, (float)(1.0/3.0)): inputs where it is one unit in the last place away
# from the correctly rounded power (found by running every float32 x in (0, 1] through both)
GLIBC_CUBE_ROOTS = [
    ("0x1.801d1ep-7", "0x1.d13a92p-3"),
    ("0x1.254a1ep-5", "0x1.517f04p-2"),
    ("0x1.70d80cp-5", "0x1.6c4b04p-2"),
    ("0x1.b33758p-4", "0x1.e501e0p-2"),
    ("0x1.a67552p-3", "0x1.2e8536p-1"),
    ("0x1.2abb0ap-1", "0x1.abd4fcp-1"),
    ("0x1.034edap-126", "0x1.011906p-42"),
]


@pytest.mark.parametrize("x, expected", GLIBC_CUBE_ROOTS)
def test_glibc_results_where_it_is_not_correctly_rounded(x, expected):
    x, expected = float.fromhex(x), float.fromhex(expected)
    correctly_rounded = float(np.float32(x ** THIRD))
    assert correctly_rounded != expected
    assert powf(x, THIRD) == expected


def test_special_values():
    assert powf(0.0, THIRD) == 0.0
    assert powf(0.0, -2.0) == float("inf")
    assert powf(0.3, 0.0) == 1.0 and powf(1.0, 7.5) == 1.0
    assert powf(0.5, 300.0) == 0.0 and powf(2.0, 200.0) == float("inf")
    for bad in ((-0.5, THIRD), (float("nan"), 1.0), (0.5, float("inf"))):
        with pytest.raises(ValueError):
            powf(*bad)


def _libm_powf():
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the C library is not glibc")
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    libm.powf.restype = ctypes.c_float
    libm.powf.argtypes = [ctypes.c_float, ctypes.c_float]
    return libm.powf


def test_agrees_with_the_c_library_powf():
    c_powf = _libm_powf()
    rng = np.random.default_rng(16)
    # every bit pattern of (0, 1] is as likely: subnormal, tiny and mosaic-range bases alike
    xs = rng.integers(1, 0x3F800001, 20000, dtype=np.uint32).view(np.float32).astype(float)
    ys = rng.uniform(-30.0, 30.0, xs.size).astype(np.float32).astype(float)
    mismatches = [(x, y) for x, y in zip(xs.tolist(), ys.tolist()) for y in (y, THIRD)
                  if powf(x, y) != c_powf(x, y)]
    assert mismatches == []
