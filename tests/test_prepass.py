"""Side-by-side renders of the order-dependent cases (interpolation fall-back, phi carry-over)
match the serial stream bit for bit: the pre-pass finds the same point the stream does."""
import dataclasses
import importlib
import sys

import numpy as np
import pytest

import xbragg
from golden import GOLDEN
from xbragg.backends import kernel_namespace
from xbragg.kernel.intensity import first_fallback, first_phi_pass
from xbragg.render import kernel_inputs

INPUTS = GOLDEN / "inputs"
TRICUBIC = "-cell 70 80 90 75 85 95 -distance 100 -pixel 0.1 -N 2 -detpixels 48 -interpolate "
CASES = {
    # masked rows and -dmin leave the first out-of-range evaluation in row 20 (oversampled, 2 phi steps)
    "fallback_in_the_middle": TRICUBIC + "-hkl {}/grid3.hkl -default_F 7 -lambda 1.0 -dmin 35 "
                                         "-oversample 2 -phi 0 -osc 1 -phisteps 2",
    "fallback_at_the_first_evaluation": TRICUBIC + "-hkl {}/grid3.hkl -default_F 7 -lambda 1.0",
    "no_fallback": TRICUBIC + "-hkl {}/grid8.hkl -lambda 1.5",
    "carry_over": "-cell 70 80 90 75 85 95 -default_F 100 -distance 100 -pixel 0.1 -lambda 1.5 -N 5 "
                  "-detpixels 48 -phi 0 -osc 10 -phisteps 5 -dmin 50 --phi-carryover",
    "carry_over_and_fallback": TRICUBIC + "-hkl {}/grid3.hkl -default_F 7 -lambda 1.0 -dmin 35 "
                                          "-phi 0 -osc 10 -phisteps 3 --phi-carryover",
}


# the first 20 rows masked: the order-dependent point lies in the middle of the image
MASKED = {"fallback_in_the_middle", "carry_over"}


def experiment(name):
    exp = xbragg.build_experiment(xbragg.options_from_flags(CASES[name].format(INPUTS).split()))
    if name in MASKED:
        mask = np.ones((48, 48), dtype=bool)
        mask[:20] = False
        mask[20, :12] = False
        exp = dataclasses.replace(exp, mask=mask)
    return exp


def order_points(exp):
    """(pixel of the first out-of-range evaluation or None, its index in the pixel, the carry-over's first pixel)
    of the whole image as one tile."""
    xp = kernel_namespace("numpy")
    inp = kernel_inputs(exp, xp, "cpu", xp.float64)
    idx = np.arange(48 * 48)
    spix, fpix = idx // 48, idx % 48
    valid = None if exp.mask is None else exp.mask[spix, fpix]
    per_pixel = exp.evaluations_per_pixel_of(0)
    first = int(first_fallback(inp, spix, fpix, valid, xp.asarray(False) if exp.phi_carryover else None, xp=xp))
    fallback = None if first == idx.size * per_pixel else divmod(first, per_pixel)
    return fallback, int(first_phi_pass(inp, spix, fpix, valid, xp=xp))


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("in_processes", [False, True])
def test_side_by_side_matches_the_serial_stream(name, in_processes, monkeypatch):
    if in_processes and not sys.platform.startswith("linux"):
        pytest.skip("forked workers run on Linux only")
    exp = experiment(name)
    serial = xbragg.render(exp, workers=1)
    assert serial.tiles >= 1
    if in_processes:
        monkeypatch.setattr(importlib.import_module("xbragg.render.plan"), "PROCESS_MIN_EVALUATIONS", 0)
    # tiles of 37 pixels: the fall-back and the carry-over's first pixel fall inside a tile
    side = xbragg.render(exp, workers=2, tile_pixels=37)
    np.testing.assert_array_equal(side.image, serial.image)
    assert side.fallback_hkl == serial.fallback_hkl
    assert side.interpolation_fell_back == serial.interpolation_fell_back
    assert side.image.any()


def test_the_cases_cover_every_order_dependent_point():
    """The fall-back happens in the middle of the image (inside a pixel), at its very first
    evaluation, and never; the carry-over's first pixel lies in the middle."""
    points = {name: order_points(experiment(name)) for name in CASES}
    assert points["fallback_in_the_middle"][0] == (20 * 48 + 12, 0)
    assert points["fallback_at_the_first_evaluation"][0] == (0, 0)
    assert points["no_fallback"][0] is None
    assert points["carry_over"][1] == 20 * 48 + 12
    assert points["carry_over_and_fallback"][0][0] > 0
    assert xbragg.render(experiment("fallback_in_the_middle"), workers=1).interpolation_fell_back


def test_a_traced_pixel_sees_the_side_by_side_state():
    exp = experiment("fallback_in_the_middle")
    serial = xbragg.render(exp, workers=1, trace_pixel=(30, 20))
    side = xbragg.render(exp, workers=2, tile_pixels=37, trace_pixel=(30, 20))
    np.testing.assert_array_equal(side.trace["F_cell"], serial.trace["F_cell"])
    np.testing.assert_array_equal(side.image, serial.image)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_serial_render_matches_the_plain_stream(name):
    """The serial render's shortcuts (the first tile's pre-pass, larger tiles once interpolation
    is off) against the stream of equal tiles carrying its state."""
    execute = importlib.import_module("xbragg.render.execute")
    plan_module = importlib.import_module("xbragg.render.plan")
    assemble = importlib.import_module("xbragg.render.assemble").assemble
    exp = experiment(name)
    xp = kernel_namespace("numpy")
    plan = plan_module.plan_tiles(exp, "numpy", "float64", memory_budget_bytes=2**20, tile_pixels=None,
                                  workers=1, trace_pixel=None, recording=False)
    assert len(plan.spans) > 1
    inp = kernel_inputs(exp, xp, "cpu", xp.float64)
    pieces, fell_back_at = execute.run_serial(execute.tile_intensity, inp, exp, plan, xp, "cpu", record=None,
                                              record_tile=None, progress=None)
    stream = assemble(pieces, plan, 48, 48, xp)
    result = xbragg.render(exp, workers=1, memory_budget_bytes=2**20)
    np.testing.assert_array_equal(result.image, stream)
    assert result.fallback_hkl == fell_back_at


@pytest.mark.parametrize("case", ["interpolation", "carryover", "everything"])
def test_the_pre_passes_run_on_array_api_strict_device1(case):
    """Array API only, no data-dependent shapes, the device kept; the same indices as NumPy."""
    xs = pytest.importorskip("array_api_strict")
    neutrality = importlib.import_module("test_device_neutrality")
    exp = neutrality.experiment(case)

    def points(xp, dev, dtype):
        inp = kernel_inputs(exp, xp, dev, dtype)
        spix, fpix, valid = neutrality._pixels(xp, dev)
        carry = xp.asarray(False, device=dev) if exp.phi_carryover else None
        # the kernel namespace looked up from the inputs, as render does
        return first_fallback(inp, spix, fpix, valid, carry), first_phi_pass(inp, spix, fpix, valid)

    dev = xs.Device("device1")
    with xs.ArrayAPIStrictFlags(boolean_indexing=False, data_dependent_shapes=False, enabled_extensions=()):
        strict = points(xs, dev, xs.float64)
    xp = kernel_namespace("numpy")
    ref = points(xp, "cpu", xp.float64)
    for got, want in zip(strict, ref):
        assert got.device == dev and got.dtype == xs.int64 and got.shape == ()
        assert int(got) == int(want)
