"""The experiment models: what the set-up builds from flags, and what the renderer reads from them.

The models (``xbragg.models``) follow dxtbx's: A = U B with the columns of A being a*, b*, c*;
a panel's origin is the outer corner of its first pixel; the beam travels along its direction.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import xbragg
from xbragg.models import Beam, Crystal, Detector, Goniometer, Panel, Scan

from golden import stage_inputs

SMALL = "-detpixels_f 24 -detpixels_s 20 -pixel 0.1 -distance 80 -N 3 -default_F 50 -lambda 1.2"


def build(flags: str) -> xbragg.Experiment:
    return xbragg.build_experiment(xbragg.options_from_flags(flags))


def test_an_experiment_is_made_of_the_models():
    exp = build(f"-cell 50 60 70 90 90 90 {SMALL}")
    assert isinstance(exp.beam, Beam) and isinstance(exp.detector, Detector)
    assert isinstance(exp.goniometer, Goniometer) and isinstance(exp.scan, Scan)
    assert isinstance(exp.crystal, Crystal) and len(exp.detector) == 1 and exp.panel is exp.detector[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        exp.beam.wavelength_m = 2e-10
    assert exp.panel.shape == (20, 24) and exp.panel.image_size == (24, 20)


@pytest.mark.parametrize("flags", [
    "-cell 50 60 70 90 90 90",
    "-cell 70 80 90 75 85 95 -misset 10 20 30",
    "-cell 40 40 60 90 90 120 -misset -3 7 11",
])
def test_A_is_U_B_and_U_is_a_rotation_for_a_cell(flags):
    cr = build(f"{flags} {SMALL}").crystal
    np.testing.assert_allclose(cr.U @ cr.B, cr.A, rtol=0, atol=1e-15)
    np.testing.assert_allclose(cr.U @ cr.U.T, np.eye(3), rtol=0, atol=1e-12)
    assert np.linalg.det(cr.U) == pytest.approx(1.0, abs=1e-12)
    # real and reciprocal axes are dual, a . b* = 0, and a . a* = 1 except that for an oblique cell the
    # reference forces the given volume on the real axes, which scales every a . a* alike (by 1.0002 here)
    dual = cr.real_axes_m @ cr.A * 1e10
    np.testing.assert_allclose(dual - np.diag(np.diag(dual)), 0.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.diag(dual), dual[0, 0], rtol=1e-14)
    if "90 90 90" in flags:
        assert dual[0, 0] == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("extra", ["", "-misset 5 -8 12", "-cell 78 78 38 90 90 90"])
def test_A_is_U_B_for_a_matrix(scratch_directory, extra):
    stage_inputs(scratch_directory)
    exp = build(f"-mat A.mat {SMALL} {extra}")
    cr = exp.crystal
    assert cr.from_matrix
    np.testing.assert_allclose(cr.U @ cr.B, cr.A, rtol=0, atol=1e-15)
    np.testing.assert_allclose(cr.U @ cr.U.T, np.eye(3), rtol=0, atol=1e-12)
    if extra:
        return
    # the matrix gives a*, b*, c* in units of the wavelength: A = M / lambda
    matrix = np.loadtxt(scratch_directory / "A.mat", max_rows=3)
    np.testing.assert_allclose(cr.A, matrix / (exp.beam.wavelength_m * 1e10), rtol=1e-12)


def test_panel_pixel_centres_are_where_the_kernel_puts_pixels():
    exp = build(f"-cell 50 60 70 90 90 90 {SMALL} -oversample 1 -detector_rotx 4 -detector_roty -3 "
                "-twotheta 12 -Xbeam 1.1 -Ybeam 0.7")
    slow, fast = 13, 5
    record = xbragg.render(exp, trace_pixel=(slow, fast)).trace
    np.testing.assert_allclose(np.asarray(record["pos"])[0, 0, 0], exp.panel.pixel_centres_m(slow, fast),
                               rtol=0, atol=1e-18)
    corners = exp.panel.pixel_centres_m(np.array([0, 19]), np.array([0, 23]))
    assert corners.shape == (2, 3)


def test_panel_close_distance_and_beam_spot():
    exp = build(f"-cell 50 60 70 90 90 90 {SMALL} -xds -ORGX 7 -ORGY 9")
    panel = exp.panel
    assert panel.close_distance_m == pytest.approx(0.08, abs=1e-15)
    # untilted: the beam meets the panel at the near point, ORGX/ORGY in pixels from the first corner
    fast_m, slow_m = panel.beam_intersection_fs_m(exp.beam.direction)
    assert (fast_m / panel.pixel_size_m + 0.5, slow_m / panel.pixel_size_m + 0.5) == pytest.approx((7, 9))
    assert panel.beam_intersection_fs_m(-exp.beam.direction) is None


def test_beam_polarization_in_dxtbx_terms():
    beam = build(f"-cell 50 60 70 90 90 90 {SMALL} -mosflm -polar 0.9").beam
    assert beam.kahn_factor == 0.9 and beam.polarization_fraction == pytest.approx(0.95)
    normal = beam.polarization_normal
    assert abs(normal @ beam.direction) < 1e-15 and abs(normal @ beam.polarization_axis) < 1e-15
    assert np.linalg.norm(normal) == pytest.approx(1.0)
    np.testing.assert_allclose(beam.s0_per_A, beam.direction / 1.2)


def test_scan_in_dxtbx_terms():
    scan = build(f"-cell 50 60 70 90 90 90 {SMALL} -phi 10 -osc 0.5 -phisteps 5").scan
    assert scan.oscillation_deg == pytest.approx((10.0, 0.5))
    assert scan.phisteps == 5 and scan.angles_rad.shape == (5,)


def _two_panels(exp: xbragg.Experiment) -> xbragg.Experiment:
    """``exp`` with a second panel: the first moved 3 mm along its fast axis and tilted."""
    first = exp.panel
    c, s = np.cos(0.2), np.sin(0.2)
    fast = c * first.fast_axis + s * first.normal
    normal = -s * first.fast_axis + c * first.normal
    second = dataclasses.replace(first, origin_m=first.origin_m + 3e-3 * first.fast_axis,
                                 fast_axis=fast, normal=normal, fast_pixels=16, name="second")
    return dataclasses.replace(exp, detector=Detector((first, second)), roi=(0, 10_000, 0, 10_000))


def test_every_panel_renders_through_the_same_kernel():
    exp = _two_panels(build(f"-cell 50 60 70 90 90 90 {SMALL}"))
    second_alone = dataclasses.replace(exp, detector=Detector((exp.detector[1],)))
    image = xbragg.render(exp, panel=1).image
    assert image.shape == (20, 16)
    np.testing.assert_array_equal(image, xbragg.render(second_alone).image)
    assert not np.array_equal(image, xbragg.render(exp, panel=0).image[:, :16])


def test_a_panel_is_the_only_detector_geometry_the_renderer_reads():
    # the nanoBragg recipe (convention, pivot, beam centre) is not consulted when rendering
    exp = build(f"-cell 50 60 70 90 90 90 {SMALL} -twotheta 5")
    without_recipe = dataclasses.replace(exp, detector_setup=None)
    np.testing.assert_array_equal(xbragg.render(exp).image, xbragg.render(without_recipe).image)


def test_models_are_built_from_python_directly():
    exp = build(f"-cell 50 60 70 90 90 90 {SMALL}")
    panel = Panel(origin_m=np.array([0.08, 1.2e-3, -1.0e-3]), fast_axis=np.array([0.0, 0.0, 1.0]),
                  slow_axis=np.array([0.0, -1.0, 0.0]), normal=np.array([1.0, 0.0, 0.0]),
                  pixel_size_m=1e-4, fast_pixels=24, slow_pixels=20, sensor=exp.panel.sensor)
    mine = dataclasses.replace(exp, detector=Detector((panel,)), detector_setup=None)
    image = xbragg.render(mine).image
    assert image.shape == (20, 24) and np.all(np.isfinite(image)) and image.max() > 0
    with pytest.raises(ValueError):
        Detector(())


def test_render_detector_renders_every_panel_with_its_own_mask():
    exp = _two_panels(build(f"-cell 50 60 70 90 90 90 {SMALL}"))
    masks = (None, np.zeros((20, 16), dtype=bool))
    masks[1][5:9, 3:7] = True
    exp = dataclasses.replace(exp, mask=masks)
    seen = []
    first, second = xbragg.render_detector(exp, progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_array_equal(first.image, xbragg.render(exp, panel=0).image)
    assert np.count_nonzero(second.image) <= 16 and np.all(second.image[~masks[1]] == 0)
    assert seen[-1] == (20 * 24 + 20 * 16, 20 * 24 + 20 * 16)
    assert exp.mask_of(0) is None and exp.mask_of(1) is masks[1]
