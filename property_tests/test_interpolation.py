"""Tricubic interpolation (``xbragg.kernel.structure_factor.tricubic_F``), on every CPU backend.

- At integer Miller indices it returns the grid value exactly (the Lagrange weights
  are exactly 0, 1, 0, 0 there), anywhere in the table, edges included.
- It reproduces any polynomial of degree at most 3 in each of h, k, l, wherever
  the 4 x 4 x 4 neighbourhood lies inside the table, to rounding.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xbragg.backends import namespace, to_numpy
from xbragg.kernel.structure_factor import tricubic_F

BACKENDS = [b for b in ("numpy", "torch", "array_api_strict") if importlib.util.find_spec(b) is not None]

origins = st.tuples(st.integers(-6, 2), st.integers(-6, 2), st.integers(-6, 2))


@st.composite
def grids(draw, min_side=1):
    origin = draw(origins)
    shape = tuple(draw(st.integers(min_side, 8)) for _ in range(3))
    F = draw(arrays(np.float64, shape, elements=st.floats(-1e6, 1e6, allow_subnormal=False)))
    return origin, shape, F


def _run(backend, hkl, F, origin, shape):
    xp = namespace(backend)
    h = xp.asarray(hkl, dtype=xp.float64)
    f = xp.asarray(F.reshape(-1), dtype=xp.float64)
    out, _, _ = tricubic_F(h, f, origin=origin, shape=shape)
    return to_numpy(out)


@pytest.mark.parametrize("backend", BACKENDS)
@given(grid=grids(), data=st.data())
def test_grid_values_at_integer_indices(backend, grid, data):
    origin, shape, F = grid
    n = data.draw(st.integers(1, 20))
    idx = np.array([[data.draw(st.integers(0, s - 1)) for s in shape] for _ in range(n)])
    hkl = (idx + np.array(origin)).astype(np.float64)
    out = _run(backend, hkl, F, origin, shape)
    np.testing.assert_array_equal(out, F[idx[:, 0], idx[:, 1], idx[:, 2]])


@pytest.mark.parametrize("backend", BACKENDS)
@given(origin=origins, shape=st.tuples(*[st.integers(4, 8)] * 3),
       coeffs=arrays(np.int64, (4, 4, 4), elements=st.integers(-3, 3)), data=st.data())
def test_reproduces_cubic_polynomials(backend, origin, shape, coeffs, data):
    def powers(x):                                     # (..., 4): 1, x, x^2, x^3
        return np.stack([np.ones_like(x), x, x * x, x * x * x], axis=-1)

    def poly(hkl):
        ph, pk, pl = (powers(hkl[..., i]) for i in range(3))
        terms = np.einsum("...i,...j,...k,ijk->...ijk", ph, pk, pl, coeffs.astype(np.float64))
        scale = np.einsum("...i,...j,...k,ijk->...", np.abs(ph), np.abs(pk), np.abs(pl),
                          np.abs(coeffs).astype(np.float64))
        return terms.reshape(terms.shape[:-3] + (-1,)).sum(axis=-1), scale

    grid = np.stack(np.meshgrid(*[np.arange(s) + o for s, o in zip(shape, origin)], indexing="ij"), axis=-1)
    F, _ = poly(grid.astype(np.float64))
    n = data.draw(st.integers(1, 20))
    # points whose nodes floor(x)-1 .. floor(x)+2 stay inside [origin, origin + shape - 1]
    hkl = np.array([[data.draw(st.floats(o + 1.0, o + s - 2.0, exclude_max=True)) for o, s in zip(origin, shape)]
                    for _ in range(n)])
    want, scale = poly(hkl)
    got = _run(backend, hkl, F, origin, shape)
    note(f"hkl={hkl!r} got={got!r} want={want!r}")
    np.testing.assert_array_less(np.abs(got - want), 1e-12 * (scale + 1.0) * 64)
