"""Detectors of several panels written as experiment lists and rendered through from_expt and -expt.

A detector split into 2 x 2 panels that tile the area of one panel renders, panel by panel,
the crops of the one panel's image bit for bit.  Bit for bit needs pixel positions that
are exact in binary: the tiles use the golden case cubic_default's flags with pixels of
2^-13 m (0.1220703125 mm) instead of 0.1 mm.  With 0.1 mm pixels a tile's origin (the
detector's plus 64 * 1e-4 m along an axis) is not a binary number, so a pixel's position,
origin + (f + 1/2) * pixel * fast, rounds differently in the tile and in the whole
detector (by up to 2 ulp, 1.7e-18 m; the intensities then by up to 3.6e-13 relative).
Panels with gaps and small rotations render finite images, each pixel's solid angle
following its own panel's normal.
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

import xbragg
from xbragg.cli.main import run
from xbragg.io.expt import write_experiment_list
from xbragg.models import Detector

from golden import case

#: pixels of 2^-13 m: every pixel position of the tiled detector is a binary number
EXACT_PIXEL = "0.1220703125"
#: the flags an experiment list does not hold
NOT_PLACING = ["-default_F", "100", "-N", "5"]


def _cubic_default(extra: str = "", pixel: str = EXACT_PIXEL) -> xbragg.Experiment:
    args = case("cubic_default")["args"].replace("-pixel 0.1", f"-pixel {pixel}")
    return xbragg.build_experiment(xbragg.options_from_flags(f"{args} {extra}"))


def _tiles(exp: xbragg.Experiment, n: int = 2) -> Detector:
    """``exp``'s panel cut into n x n panels, row by row along slow, origins offset by whole panels."""
    whole = exp.panel
    fs, ss = whole.fast_pixels // n, whole.slow_pixels // n
    tiles = []
    for s in range(n):
        for f in range(n):
            origin = (whole.origin_m + (f * fs * whole.pixel_size_m) * whole.fast_axis
                      + (s * ss * whole.pixel_size_m) * whole.slow_axis)
            tiles.append(dataclasses.replace(whole, origin_m=origin, fast_pixels=fs, slow_pixels=ss,
                                             name=f"tile_{s}{f}"))
    return Detector(tuple(tiles))


def _write(exp: xbragg.Experiment, detector: Detector, path: str) -> None:
    write_experiment_list(path, [dataclasses.replace(exp, detector=detector).to_expt()])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_detector_cut_into_four_panels_renders_the_crops_bit_for_bit(scratch_directory, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    whole = _cubic_default()
    _write(whole, _tiles(whole), "tiles.expt")
    tiled = xbragg.from_expt("tiles.expt", options=NOT_PLACING)
    assert len(tiled.detector) == 4
    for ours, written in zip(_tiles(whole), tiled.detector):
        np.testing.assert_array_equal(written.origin_m, ours.origin_m)     # the mm round trip is exact here
    full = np.asarray(xbragg.render(whole, backend=backend).image)
    assert np.count_nonzero(full) == full.size
    for index, result in enumerate(xbragg.render_detector(tiled, backend=backend)):
        s, f = divmod(index, 2)
        np.testing.assert_array_equal(np.asarray(result.image), full[64 * s:64 * s + 64, 64 * f:64 * f + 64],
                                      err_msg=f"panel {index}")


def test_with_the_golden_pixel_size_the_crops_agree_to_rounding(scratch_directory):
    # 0.1 mm: a tile's origin is not a binary number, so positions differ by an ulp or two
    # (about 1e-18 m) and the sharp lattice factor turns that into ~3e-13 of a pixel's value
    whole = _cubic_default(pixel="0.1")
    _write(whole, _tiles(whole), "tiles.expt")
    tiled = xbragg.from_expt("tiles.expt", options=NOT_PLACING)
    full = xbragg.render(whole).image
    for index, result in enumerate(xbragg.render_detector(tiled)):
        s, f = divmod(index, 2)
        np.testing.assert_allclose(result.image, full[64 * s:64 * s + 64, 64 * f:64 * f + 64], rtol=1e-12,
                                   atol=0, err_msg=f"panel {index}")


def test_the_command_line_writes_the_four_crops(scratch_directory):
    whole = _cubic_default()
    _write(whole, _tiles(whole), "tiles.expt")
    full = xbragg.render(whole).image.astype(np.float32)
    assert run(["-expt", "tiles.expt", *NOT_PLACING, "-floatfile", "tile.bin", "-nonoise", "-nopgm",
                "-noprogress"], io.StringIO()) == 0
    for index in range(4):
        s, f = divmod(index, 2)
        image = np.fromfile(f"tile_p{index:02d}.bin", dtype="<f4").reshape(64, 64)
        np.testing.assert_array_equal(image, full[64 * s:64 * s + 64, 64 * f:64 * f + 64])


def _rotation(axis, angle_rad: float) -> np.ndarray:
    u = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    ux = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    return np.cos(angle_rad) * np.eye(3) + np.sin(angle_rad) * ux + (1 - np.cos(angle_rad)) * np.outer(u, u)


def _gapped_and_turned(exp: xbragg.Experiment) -> Detector:
    """The 2 x 2 tiles pulled 1 mm apart and each turned a few degrees about its own centre."""
    turned = []
    for i, tile in enumerate(_tiles(exp)):
        s, f = divmod(i, 2)
        centre = tile.pixel_centres_m(31.5, 31.5)
        R = _rotation([1.0, 0.3 * i - 0.4, 0.5 - 0.2 * i], np.radians(1.5 + i))
        # away from the detector's centre by 0.5 mm along each axis: 1 mm gaps
        shift = 0.5e-3 * ((2 * f - 1) * tile.fast_axis + (2 * s - 1) * tile.slow_axis)
        fast, slow, normal = R @ tile.fast_axis, R @ tile.slow_axis, R @ tile.normal
        origin = centre + shift - 32 * tile.pixel_size_m * (fast + slow)
        turned.append(dataclasses.replace(tile, origin_m=origin, fast_axis=fast, slow_axis=slow, normal=normal))
    return Detector(tuple(turned))


def test_panels_with_gaps_and_rotations_render_with_their_own_solid_angle(scratch_directory):
    exp = _cubic_default("-oversample 1")
    _write(exp, _gapped_and_turned(exp), "turned.expt")
    turned = xbragg.from_expt("turned.expt", options=[*NOT_PLACING, "-oversample", "1"])
    closes = [p.close_distance_m for p in turned.detector]
    assert max(closes) - min(closes) > 1e-4          # the panels' planes differ: the test could tell them apart
    for index, result in enumerate(xbragg.render_detector(turned)):
        assert np.all(np.isfinite(result.image)) and np.count_nonzero(result.image) == 64 * 64
        panel = turned.detector[index]
        trace = xbragg.render(turned, panel=index, trace_pixel=(7, 50)).trace
        pos = trace["pos"].reshape(3)
        np.testing.assert_allclose(pos, panel.pixel_centres_m(7, 50), rtol=0, atol=1e-16)
        R = np.linalg.norm(pos)
        close = float(pos @ panel.normal)            # the panel's own plane, whatever the others'
        assert close == pytest.approx(panel.close_distance_m, rel=1e-13)
        omega = panel.pixel_size_m ** 2 / R ** 2 * close / R
        assert float(trace["omega"].reshape(())) == pytest.approx(omega, rel=1e-13)
        # and not the solid angle another panel's plane would give
        other = turned.detector[(index + 1) % 4].close_distance_m
        assert abs(float(trace["omega"].reshape(())) - omega * other / close) > 1e-6 * omega
