import math
import random
import struct

import numpy as np
import pytest

from xbragg.io.cformat import format_e, format_f, format_g, format_lg


@pytest.mark.parametrize("value, text", [
    (0.1, "0.1"), (1e-10, "1e-10"), (123456789, "1.23457e+08"), (0.0001, "0.0001"),
    (0.00001, "1e-05"), (-0.0, "-0"), (0.0, "0"), (float("nan"), "nan"),
    (float("inf"), "inf"), (float("-inf"), "-inf"), (100000, "100000"),
    (1000000, "1e+06"), (1e100, "1e+100"), (2.5, "2.5"), (0.5e-300, "5e-301"),
    (6.2e-10, "6.2e-10"), (55000 / 3, "18333.3"), (999999.5, "1e+06"),
])
def test_format_g_examples(value, text):
    assert format_g(value) == text
    assert format_lg(value) == text


def test_negative_nan_prints_like_glibc():
    negative_nan = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000000))[0]
    assert math.isnan(negative_nan)
    assert format_g(negative_nan) == "-nan"
    assert format_f(negative_nan, 3) == "-nan"
    with np.errstate(invalid="ignore"):
        produced = np.float64(np.inf) - np.inf
    assert format_g(produced) == ("-nan" if np.signbit(produced) else "nan")


def test_format_g_matches_python_percent_g():
    rng = random.Random(1234)
    values = [0.0, 1.0, -1.0, 9.999995, 9.9999949, 0.000123456789, 1e-5, 1e5, 1e6,
              123456.5, 1234567.0, 5e-324, 1.7976931348623157e308]
    for _ in range(3000):
        mantissa = rng.uniform(-10, 10)
        values.append(mantissa * 10.0 ** rng.randint(-30, 30))
        values.append(round(rng.uniform(-1e4, 1e4), rng.randint(0, 6)))
    for value in values:
        assert format_g(value) == "%g" % value, value
        for precision in (1, 3, 12):
            assert format_g(value, precision) == "%.*g" % (precision, value)


def test_numpy_scalars_are_widened():
    x = np.float32(0.1)
    assert format_g(x) == "%g" % float(x) == "0.1"
    assert format_g(np.float32(1) / np.float32(3)) == "0.333333"
    assert format_g(np.int64(42)) == "42"


def test_format_f_and_e():
    assert format_f(1.23456789, 3) == "1.235"
    assert format_f(2.5, 0) == "2"
    assert format_f(-0.0, 2) == "-0.00"
    assert format_f(float("inf"), 2) == "inf"
    assert format_f(1.0) == "1.000000"
    assert format_e(12345.678, 2) == "1.23e+04"
