"""The backend layer: the kernel namespace's helpers on every CPU backend, and no library
names tested outside ``xbragg/backends/``."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from xbragg.backends import FACTS, BACKENDS, kernel_namespace, kernel_namespace_of, to_numpy

PACKAGE = Path(__file__).resolve().parents[1] / "xbragg"
CPU_BACKENDS = ["numpy", "array_api_strict", "torch"]


def _namespace(backend: str):
    pytest.importorskip(backend)
    return kernel_namespace(backend)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_clamp_limits_like_clip(backend):
    xp = _namespace(backend)
    x = np.linspace(-3.0, 3.0, 25)
    np.testing.assert_array_equal(to_numpy(xp.clamp(xp.asarray(x), -1.0, 2.0)), np.clip(x, -1.0, 2.0))
    ints = np.arange(-5, 6)
    np.testing.assert_array_equal(to_numpy(xp.clamp(xp.asarray(ints), 0, 4)), np.clip(ints, 0, 4))


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_sin_pi_ratio_matches_libm(backend):
    xp = _namespace(backend)
    rng = np.random.default_rng(7)
    g, f = rng.uniform(-0.5, 0.5, 1000), rng.uniform(-0.5, 0.5, 1000)
    f = f[np.abs(f) > 1e-6][:900]
    g = g[:900]
    expected = np.sin(math.pi * g) / np.sin(math.pi * f)
    got = to_numpy(xp.sin_pi_ratio(xp.asarray(g), xp.asarray(f)))
    np.testing.assert_allclose(got, expected, rtol=2e-15, atol=0)


def test_strict_takes_numpys_forms_bit_for_bit():
    # array_api_strict wraps NumPy arrays: the same forms keep its images identical to NumPy's
    xs = _namespace("array_api_strict")
    xn = kernel_namespace("numpy")
    g, f = np.linspace(-0.5, 0.5, 101), np.linspace(0.01, 0.5, 101)
    np.testing.assert_array_equal(to_numpy(xs.sin_pi_ratio(xs.asarray(g), xs.asarray(f))),
                                  xn.sin_pi_ratio(xn.asarray(g), xn.asarray(f)))


def test_one_namespace_object_per_backend():
    # torch.compile guards on the namespace it is given: a new object per render would recompile
    assert kernel_namespace("numpy") is kernel_namespace("numpy")
    assert kernel_namespace_of(np.zeros(3)) is kernel_namespace("numpy")
    assert set(FACTS) == set(BACKENDS)


def test_no_library_name_is_tested_outside_the_backend_layer():
    tests = re.compile(r"""[=!]= *["'](numpy|torch|cupy|array_api_strict)["']|["'](numpy|torch|cupy)["'] *[=!]="""
                       r"""|\bis_(numpy|torch|cupy|array_api_strict)_(namespace|array)\b|numpy_backed"""
                       r"""|\bis np\b|type\([^)]*\) is np\.|__module__|__name__ *[=!]= *["'][a-z]""")
    found = [f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py")) if "backends" not in path.relative_to(PACKAGE).parts
             for n, line in enumerate(path.read_text().splitlines(), 1) if tests.search(line)]
    assert not found, "library names tested outside xbragg/backends/:\n" + "\n".join(found)
