"""Properties that hold for any small experiment: tiling, ROI cropping, backends, file round trips."""
from __future__ import annotations

import importlib.util

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import xbragg
from xbragg.backends import to_numpy
from xbragg.io.hkl import HKLTable, read_fdump, write_fdump

cells = st.tuples(st.floats(30, 120), st.floats(30, 120), st.floats(30, 120),
                  st.floats(70, 110), st.floats(70, 110), st.floats(70, 110))


@st.composite
def experiments(draw):
    a, b, c, al, be, ga = draw(cells)
    flags = [f"-cell {a:.4f} {b:.4f} {c:.4f} {al:.3f} {be:.3f} {ga:.3f}", "-default_F 10",
             f"-lambda {draw(st.floats(0.8, 3.0)):.4f}", f"-N {draw(st.integers(1, 6))}",
             f"-distance {draw(st.floats(50, 200)):.3f}", "-pixel 0.1",
             f"-detpixels_f {draw(st.integers(4, 14))} -detpixels_s {draw(st.integers(4, 14))}",
             f"-misset {draw(st.floats(-90, 90)):.3f} {draw(st.floats(-90, 90)):.3f} {draw(st.floats(-90, 90)):.3f}",
             f"-oversample {draw(st.integers(1, 2))}"]
    flags.append(draw(st.sampled_from(["", "-xds", "-adxv", "-denzo", "-dials", "-twotheta 7",
                                       "-detector_rotx 3 -detector_roty 2"])))
    flags.append(draw(st.sampled_from(["", "-round_xtal", "-gauss_xtal", "-tophat_spots"])))
    flags.append(draw(st.sampled_from(["", "-phi 2 -osc 3 -phisteps 3", "-divergence 0.3 -divsteps 2"])))
    return xbragg.build_experiment(xbragg.options_from_flags(" ".join(flags)))


@given(experiments(), st.integers(1, 50))
def test_tile_size_never_changes_a_pixel(exp, tile):
    ref = to_numpy(xbragg.render(exp).image)
    np.testing.assert_array_equal(to_numpy(xbragg.render(exp, tile_pixels=tile).image), ref)


@given(experiments())
def test_torch_agrees_with_numpy(exp):
    if importlib.util.find_spec("torch") is None:
        return
    ref = to_numpy(xbragg.render(exp).image)
    out = to_numpy(xbragg.render(exp, backend="torch").image)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12 * max(ref.max(), 1e-300))


@given(st.integers(-5, 5), st.integers(-5, 5), st.integers(-5, 5), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 4), st.data())
def test_fdump_round_trip_is_exact(h0, k0, l0, nh, nk, nl, data):
    F = np.array(data.draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=nh * nk * nl,
                                    max_size=nh * nk * nl))).reshape(nh, nk, nl)
    table = HKLTable(h_min=h0, h_max=h0 + nh - 1, k_min=k0, k_max=k0 + nk - 1, l_min=l0, l_max=l0 + nl - 1,
                     F=F, count=F.size)
    import tempfile
    import os
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "Fdump.bin")
        write_fdump(path, table)
        back = read_fdump(path)
    assert (back.h_min, back.h_max, back.k_min, back.k_max, back.l_min, back.l_max) == \
        (table.h_min, table.h_max, table.k_min, table.k_max, table.l_min, table.l_max)
    np.testing.assert_array_equal(back.F, F)
