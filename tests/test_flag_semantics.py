"""Flag readings checked against the reference program's results (nanoBragg.c 455534a).

Each expected outcome below was confirmed by running the reference with the same flags
(OMP_NUM_THREADS=1): its float image equals xbragg's bit for bit.
"""
from __future__ import annotations

import numpy as np
import pytest

from xbragg.cli.main import run

BASE = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-N", "5",
        "-detpixels", "64", "-nonoise", "-nopgm", "-noprogress"]


def _render(tmp_path, monkeypatch, capsys, *flags: str) -> tuple[np.ndarray, str]:
    monkeypatch.chdir(tmp_path)
    assert run(BASE + list(flags) + ["-floatfile", "f.bin"]) == 0
    return np.fromfile(tmp_path / "f.bin", dtype="<f4"), capsys.readouterr().out


@pytest.mark.parametrize("steps", ["1", "3"])
def test_dispsteps_without_dispersion_keeps_one_wavelength(tmp_path, monkeypatch, capsys, steps):
    # the reference's dispersion defaults to 0, so -dispsteps alone changes nothing
    plain, _ = _render(tmp_path, monkeypatch, capsys)
    image, out = _render(tmp_path, monkeypatch, capsys, "-dispsteps", steps)
    assert "  wave=1e-10 meters +/- 0% in 1 steps\n" in out
    assert np.array_equal(image, plain) and plain.max() > 0


def test_dispersion_without_dispsteps_takes_two_wavelengths(tmp_path, monkeypatch, capsys):
    _, out = _render(tmp_path, monkeypatch, capsys, "-dispersion", "1")
    assert "  wave=1e-10 meters +/- 1% in 2 steps\n" in out


def test_detector_abs_inf_before_thickness_captures_nothing(tmp_path, monkeypatch, capsys):
    # left to right: inf sets no attenuation, the later thickness makes a sensor that absorbs
    # nothing, exp(0) - exp(0) = 0 per layer: the reference's image is all zero
    for flags in (["-detector_abs", "inf", "-detector_thick", "100"],
                  ["-detector_abs", "0", "-detector_thick", "100", "-detector_thicksteps", "3"]):
        image, _ = _render(tmp_path, monkeypatch, capsys, *flags)
        assert not image.any()


def test_detector_abs_inf_after_thickness_removes_the_sensor(tmp_path, monkeypatch, capsys):
    plain, _ = _render(tmp_path, monkeypatch, capsys)
    for flags in (["-detector_thick", "100", "-detector_abs", "inf"],
                  ["-detector_thick", "100", "-detector_abs", "inf", "-detector_abs", "300"]):
        image, _ = _render(tmp_path, monkeypatch, capsys, *flags)
        assert np.array_equal(image, plain)


def test_overflowing_per_subpixel_products_give_inf_not_nan():
    # found by the differential test: with -oversample_omega the reference multiplies its
    # running sum by the solid angle at every step; 120 phi steps at 40 mm overflow to inf
    # in every pixel.  A zero background must not turn that into 0 * inf = NaN.
    import warnings

    from xbragg import build_experiment, options_from_flags, render
    opts = options_from_flags("-cell 40 40 40 90 90 90 -default_F 20 -detpixels 16 -distance 40 "
                              "-point_pixel -oversample_omega -phisteps 120")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # the overflow itself is expected here
        image = np.asarray(render(build_experiment(opts)).image)
    assert np.isposinf(image).all()


def test_zero_terms_do_not_turn_overflowed_products_into_nan(tmp_path):
    # found by the differential test: outside a -tophat_spots spot the term is 0, and
    # 0 * (an overflowed product of later -oversample_omega factors) gave NaN in one pixel
    # where the reference's running sum, (inf + 0) * omega, stays inf (as in all 256 here)
    import warnings

    from golden import GOLDEN
    from xbragg import build_experiment, options_from_flags, render
    opts = options_from_flags(
        f"-mat {GOLDEN / 'inputs' / 'A.mat'} -misset_seed 1 -misset random -Na 1 -Nb 3 -Nc 6 "
        "-tophat_spots -mosaic_seed 1 -mosaic 1 -default_F 1 -divergence 1 -divsteps 1 -dispersion 1 "
        "-nopolar -water 1 -detpixels 16 -pixel 0.25 -distance 40 -curved_det -point_pixel "
        "-detector_thick 20 -detector_abs inf -oversample_polar -oversample_omega -phi 0 -osc 0 "
        "--c-parity")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # the overflow itself is expected here
        image = np.asarray(render(build_experiment(opts)).image)
    assert np.isposinf(image).all()
