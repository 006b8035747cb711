"""Kernel checks: array-API portability, dtype/device neutrality and small physics identities."""
from __future__ import annotations

import dataclasses
import importlib
import math
import sys

import numpy as np
import pytest

import xbragg
from xbragg.backends import namespace, to_numpy
from xbragg.backends.kernel_namespace import sinpi_over_x
from xbragg.kernel.lattice import sincg
from xbragg.kernel.structure_factor import lagrange_weights, tricubic_F
from golden import GOLDEN

FLAGS = ("-cell 70 80 90 75 85 95 -hkl {hkl} -distance 100 -pixel 0.1 -lambda 1.5 -N 2 -detpixels 20 "
         "-interpolate -oversample 2 -oversample_omega -twotheta 5 -detector_abs 300 -detector_thick 200 "
         "-thicksteps 2 -dmin 2 -divergence 0.4 -divsteps 2 -dispersion 2 -dispsteps 2 -phi 1 -osc 2 "
         "-phisteps 2")


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    work = tmp_path_factory.mktemp("kernel")
    import os
    cwd = os.getcwd()
    os.chdir(work)
    try:
        opts = xbragg.options_from_flags(FLAGS.format(hkl=GOLDEN / "inputs" / "grid8.hkl"))
        return xbragg.build_experiment(opts)
    finally:
        os.chdir(cwd)


def test_kernel_runs_under_array_api_strict(experiment):
    xs = pytest.importorskip("array_api_strict")
    ref = to_numpy(xbragg.render(experiment).image)
    flags = dict(boolean_indexing=False, data_dependent_shapes=False, enabled_extensions=())
    with xs.ArrayAPIStrictFlags(**flags):
        res = xbragg.render(experiment, backend="array_api_strict")
    assert res.image.dtype == xs.float64
    out = to_numpy(res.image)
    assert ref.max() > 0
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12 * ref.max())


def test_backends_agree_in_float64(experiment, backend):
    ref = to_numpy(xbragg.render(experiment).image)
    out = xbragg.render(experiment, backend=backend).image
    np.testing.assert_allclose(to_numpy(out), ref, rtol=1e-12, atol=1e-12 * ref.max())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_output_dtype_follows_request(experiment, backend, dtype):
    xp = namespace(backend)
    img = xbragg.render(experiment, backend=backend, dtype=dtype).image
    assert img.dtype == getattr(xp, dtype)
    assert tuple(img.shape) == (experiment.panel.slow_pixels, experiment.panel.fast_pixels)


def test_float32_close_to_float64(experiment):
    a = to_numpy(xbragg.render(experiment).image)
    b = to_numpy(xbragg.render(experiment, dtype="float32").image)
    signal = a > 1e-3 * a.max()
    assert signal.sum() > 10
    assert np.max(np.abs(b[signal] - a[signal]) / a[signal]) < 1e-3


def test_tile_size_never_changes_a_pixel(experiment):
    ref = to_numpy(xbragg.render(experiment, tile_pixels=400).image)
    for tile in (1, 7, 64):
        result = xbragg.render(experiment, tile_pixels=tile)
        np.testing.assert_array_equal(to_numpy(result.image), ref)
        assert result.tiles == -(-400 // tile)       # 20 x 20 pixels


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers run on Linux only")
def test_forked_workers_give_the_same_image_in_order(tmp_path, monkeypatch):
    plan_module = importlib.import_module("xbragg.render.plan")
    monkeypatch.chdir(tmp_path)
    # a mask and an ROI: the workers must see both, and the tiles must come back in order
    flags = ("-cell 70 80 90 75 85 95 -default_F 10 -distance 100 -pixel 0.1 -lambda 1.5 -N 4 "
             "-detpixels 40 -phi 0 -osc 1 -phisteps 3 -mosaic 0.5 -mosaic_dom 2 -roi 2 37 3 33")
    exp = xbragg.build_experiment(xbragg.options_from_flags(flags))
    mask = np.ones((40, 40), dtype=bool)
    mask[10:14, 5:30] = False
    exp = dataclasses.replace(exp, mask=mask)
    ref = xbragg.render(exp, tile_pixels=50, workers=1).image
    monkeypatch.setattr(plan_module, "PROCESS_MIN_EVALUATIONS", 0)
    forks = []
    workers_module = importlib.import_module("xbragg.workers")
    real_pool = workers_module.ForkPool
    monkeypatch.setattr(workers_module, "ForkPool",
                        lambda fn, workers: forks.append(workers) or real_pool(fn, workers))
    seen = []
    result = xbragg.render(exp, tile_pixels=50, workers=2, progress=lambda done, total: seen.append(done))
    assert forks == [2]
    np.testing.assert_array_equal(result.image, ref)
    assert ref[12, 10] == 0 and ref.sum() > 0
    assert seen == sorted(seen) and seen[-1] == 36 * 31 and len(seen) == result.tiles


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers run on Linux only")
def test_parallel_plan():
    plan = importlib.import_module("xbragg.render.plan").parallel_plan
    big, small = 10**8, 10
    assert plan("numpy", None, ordered=False, evaluations=big, tracing=False)[0] == "processes"
    assert plan("numpy", 3, ordered=False, evaluations=big, tracing=False) == ("processes", 3)
    # no more workers than the work pays for
    threshold = importlib.import_module("xbragg.render.plan").PROCESS_MIN_EVALUATIONS
    assert plan("numpy", 64, ordered=False, evaluations=3 * threshold, tracing=False) == ("processes", 3)
    assert plan("numpy", None, ordered=False, evaluations=small, tracing=False) == ("serial", 1)
    assert plan("numpy", 2, ordered=False, evaluations=small, tracing=False) == ("threads", 2)
    # the trace's record must stay in this process; ordered streams never split
    assert plan("numpy", 2, ordered=False, evaluations=big, tracing=True) == ("threads", 2)
    assert plan("numpy", None, ordered=True, evaluations=big, tracing=False) == ("serial", 1)
    assert plan("torch", None, ordered=False, evaluations=big, tracing=False) == ("serial", 1)
    assert plan("torch", 2, ordered=False, evaluations=big, tracing=False) == ("threads", 2)


def test_roi_render_is_crop_of_full_render(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = "-cell 70 80 90 75 85 95 -default_F 10 -distance 100 -pixel 0.1 -lambda 1.5 -N 4 -detpixels 24"
    full = xbragg.simulate(base)
    part = xbragg.simulate(base + " -roi 3 17 5 20")
    np.testing.assert_array_equal(part[5:21, 3:18], full[5:21, 3:18])
    part[5:21, 3:18] = 0
    assert not part.any()


def test_sincg_matches_direct_form_away_from_integers():
    xp = namespace("numpy")
    h = np.linspace(-7.3, 9.1, 2001)
    h = h[np.abs(h - np.round(h)) > 1e-3]
    for n in (2.0, 5.0, 36.0):
        direct = np.sin(n * math.pi * h) / np.sin(math.pi * h)
        np.testing.assert_allclose(sincg(xp.asarray(h), n), direct, rtol=1e-9, atol=1e-9)


def test_polynomial_sine_is_as_accurate_as_libm():
    xp = namespace("numpy")
    x = np.linspace(-0.5, 0.5, 100_001)
    x = x[x != 0.0]
    approx = sinpi_over_x(xp.asarray(x * x)) * x
    np.testing.assert_allclose(approx, np.sin(np.pi * x), rtol=5e-16, atol=0)


def test_sincg_at_integers_is_plus_minus_N():
    xp = namespace("numpy")
    h = xp.asarray(np.arange(-4.0, 5.0))
    np.testing.assert_array_equal(np.abs(sincg(h, 5.0)), 5.0)
    np.testing.assert_array_equal(sincg(h, 4.0), np.where(np.arange(-4, 5) % 2, -4.0, 4.0))


def test_lagrange_weights_are_exact_at_nodes():
    xp = namespace("numpy")
    w = lagrange_weights(xp.asarray([0.0]))
    np.testing.assert_array_equal(w, [[0.0, 1.0, 0.0, 0.0]])


def test_tricubic_reproduces_cubic_polynomials_and_grid_values():
    xp = namespace("numpy")
    idx = np.arange(-4, 5)
    H, K, L = np.meshgrid(idx, idx, idx, indexing="ij")

    def poly(h, k, l):
        return 1.5 + 0.3 * h ** 3 - 0.2 * k ** 2 * l + 0.1 * h * k * l + 0.05 * l ** 3

    F = poly(H, K, L).astype(np.float64)
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1.9, 1.9, size=(200, 3))
    val, _, _ = tricubic_F(xp.asarray(pts), xp.asarray(F.ravel()), origin=(-4, -4, -4), shape=F.shape)
    np.testing.assert_allclose(val, poly(pts[:, 0], pts[:, 1], pts[:, 2]), rtol=1e-12, atol=1e-12)
    ints = rng.integers(-2, 3, size=(50, 3)).astype(np.float64)
    val, _, _ = tricubic_F(xp.asarray(ints), xp.asarray(F.ravel()), origin=(-4, -4, -4), shape=F.shape)
    np.testing.assert_allclose(val, poly(ints[:, 0], ints[:, 1], ints[:, 2]), rtol=0, atol=1e-12)


def test_intensity_scales_with_fluence_and_F_squared(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = "-cell 100 100 100 90 90 90 -distance 100 -pixel 0.1 -lambda 6.2 -N 5 -detpixels 16"
    a = xbragg.simulate(base + " -default_F 10 -fluence 1e24")
    b = xbragg.simulate(base + " -default_F 30 -fluence 2e24")
    np.testing.assert_allclose(b, a * 18.0, rtol=1e-13)


def test_compiled_torch_kernel_matches_eager(experiment):
    pytest.importorskip("torch")
    eager = to_numpy(xbragg.render(experiment, backend="torch", compile=False, tile_pixels=64).image)
    # 400 pixels in 64-pixel tiles: the short last tile is padded to the compiled shape
    compiled = to_numpy(xbragg.render(experiment, backend="torch", compile=True, tile_pixels=64).image)
    np.testing.assert_allclose(compiled, eager, rtol=1e-12, atol=1e-12 * eager.max())
    # a second render reuses every compiled graph: a recompilation (a guard on some state
    # the kernel changes, for instance a cache it fills) would cost seconds per render
    import torch._dynamo
    with torch._dynamo.config.patch(error_on_recompile=True):
        again = to_numpy(xbragg.render(experiment, backend="torch", compile=True, tile_pixels=64).image)
    np.testing.assert_array_equal(again, compiled)


def test_unusable_device_is_a_backend_error_for_library_users(experiment):
    pytest.importorskip("torch")
    from xbragg.backends import BackendError
    with pytest.raises(BackendError, match="'nosuch'.*torch"):
        xbragg.render(experiment, backend="torch", device="nosuch")
