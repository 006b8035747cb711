"""render()'s own arguments: bad tile sizes and budgets are InputErrors that say what is wrong,
and every error class a caller may catch is exported from xbragg."""
from __future__ import annotations

import pytest

import xbragg
from xbragg.cli.main import main

FLAGS = "-cell 100 100 100 90 90 90 -default_F 100 -lambda 6.2 -N 5 -detpixels 16"


@pytest.fixture(scope="module")
def exp():
    return xbragg.build_experiment(xbragg.options_from_flags(FLAGS))


def test_backend_error_is_exported():
    assert "BackendError" in xbragg.__all__
    assert issubclass(xbragg.BackendError, xbragg.XbraggError)
    with pytest.raises(xbragg.BackendError, match="unknown backend 'nope'"):
        xbragg.simulate(FLAGS, backend="nope")


@pytest.mark.parametrize("tile", [-5, 0, 2.5, "64"])
def test_bad_tile_pixels(exp, tile):
    with pytest.raises(xbragg.InputError, match=f"tile_pixels must be a whole number of pixels, at least 1, "
                                                f"got {tile!r}"):
        xbragg.render(exp, tile_pixels=tile)


@pytest.mark.parametrize("budget", [0, -1])
def test_budget_must_be_positive(exp, budget):
    with pytest.raises(xbragg.InputError) as info:
        xbragg.render(exp, memory_budget_bytes=budget)
    assert str(info.value) == f"--memory-budget: the memory budget must be positive, got {budget} bytes"


def test_budget_below_one_pixel_states_both_sizes(exp):
    # one evaluation per pixel, 400 working bytes per evaluation in float64 (render/plan.py)
    with pytest.raises(xbragg.InputError) as info:
        xbragg.render(exp, memory_budget_bytes=100)
    message = str(info.value)
    assert message.startswith("--memory-budget: one pixel needs 1 evaluations")
    assert "about 400 bytes, more than the memory budget of 100 bytes; raise --memory-budget" in message
    assert "-oversample" not in message         # it is 1 here: lowering it is no remedy


def test_budget_below_one_oversampled_pixel_names_oversample():
    exp = xbragg.build_experiment(xbragg.options_from_flags(FLAGS + " -oversample 4"))
    with pytest.raises(xbragg.InputError) as info:
        xbragg.render(exp, memory_budget_bytes=6000)
    message = str(info.value)
    assert message.startswith("-oversample: one pixel needs 16 evaluations")
    assert "about 6400 bytes, more than the memory budget of 6000 bytes; lower -oversample" in message


def test_cli_budget_below_one_pixel(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(FLAGS.split() + ["--memory-budget", "0.0001", "-nonoise", "-nopgm", "-noprogress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xbragg: error: --memory-budget: one pixel needs") and err.count("\n") == 1
    assert "more than the memory budget of 104 bytes" in err


def _experiment(extra: str):
    return xbragg.build_experiment(xbragg.options_from_flags(f"{FLAGS} {extra}"))


def test_roi_bounds_clip_the_roi_to_the_detector():
    assert _experiment("-roi 3 40 2 7").roi_bounds == (3, 15, 2, 7)
    outside = _experiment("-roi 20 30 0 4")            # right of the 16-pixel detector: nothing to render
    x0, x1, _, _ = outside.roi_bounds
    assert x1 < x0
    result = xbragg.render(outside)
    assert result.tiles == 0 and not result.image.any()


def test_evaluations_per_pixel_counts_every_loop():
    # 2 sensor layers x 2^2 sub-pixels x 3 sources (dispersion) x 3 phi steps x 4 mosaic domains
    exp = _experiment("-detector_thick 100 -thicksteps 2 -oversample 2 -dispersion 1 -dispsteps 3 "
                      "-phi 0 -osc 0.3 -phisteps 3 -mosaic 0.1 -mosaic_domains 4")
    assert exp.evaluations_per_pixel == 2 * 4 * 3 * 3 * 4
