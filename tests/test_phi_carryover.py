"""Phi carry-over (``--phi-carryover``) against the reference, on schedules through phi = 0.

The stored images (tests/reference_extra/carry_*, made as tests/reference_extra/README.md says) cover a
zero step first (0, 5, 10), in the middle (-5, 0, 5) and last (-10, -5, 0), with one and
three sources, with an ROI and a resolution cut that move the run's first pass, and with
mosaic domains, sensor layers and sub-pixels. With ``NB_C_BIN`` set, the same commands are
also run through the reference program itself.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import xbragg
from golden import compare, extra_image, needs_reference, run_reference, within_tolerance
from xbragg.cli.main import run

BASE = ("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 48 -lambda 1 -distance 50 "
        "-misset 10 20 30")
SOURCES = " -hdivrange 0.2 -hdivsteps 3"
CASES = {
    "carry_m5_0_5": "-phi -5 -phistep 5 -phisteps 3 -osc 15",
    "carry_m5_0_5_sources": "-phi -5 -phistep 5 -phisteps 3 -osc 15" + SOURCES,
    "carry_0_5_10": "-phi 0 -phistep 5 -phisteps 3 -osc 15",
    "carry_0_5_10_sources": "-phi 0 -phistep 5 -phisteps 3 -osc 15" + SOURCES,
    "carry_m10_m5_0": "-phi -10 -phistep 5 -phisteps 3 -osc 15",
    "carry_m10_m5_0_sources": "-phi -10 -phistep 5 -phisteps 3 -osc 15" + SOURCES,
    "carry_0_0_0": "-phi 0 -phistep 0 -phisteps 3 -osc 0",
    "carry_0_5_10_roi_dmin": ("-phi 0 -phistep 5 -phisteps 3 -osc 15 -roi 3 44 2 40 -dmin 20 "
                              "-hdivrange 0.5 -hdivsteps 3 -oversample 2"),
    "carry_m5_0_5_mosaic_layers": ("-phi -5 -phistep 5 -phisteps 3 -osc 15 -mosaic 1 -mosaic_domains 2 "
                                   "-detector_thick 100 -detector_thicksteps 2 -detector_abs 50 "
                                   "-oversample 2"),
}


def _stored(name: str) -> np.ndarray:
    return extra_image(name, 48)


def _xbragg(flags: str, workdir: Path, monkeypatch, *extra: str) -> np.ndarray:
    monkeypatch.chdir(workdir)
    args = f"{BASE} {flags} -floatfile ours.bin -noprogress -nonoise -nopgm".split()
    assert run([*args, *extra], out=io.StringIO()) == 0
    return np.fromfile(workdir / "ours.bin", dtype="<f4").reshape(48, 48)


def _schedule(flags: str):
    return xbragg.build_experiment(xbragg.options_from_flags(f"{BASE} {flags}")).scan


@pytest.mark.parametrize("flags, carried, first_pass", [
    ("-phi -5 -phistep 5 -phisteps 3 -osc 15", [0, 0, 2], [0, 0, 2]),
    ("-phi 0 -phistep 5 -phisteps 3 -osc 15", [2, 1, 2], [0, 1, 2]),
    ("-phi -10 -phistep 5 -phisteps 3 -osc 15", [0, 1, 1], [0, 1, 1]),
    ("-phi -10 -phistep 5 -phisteps 4 -osc 20", [0, 1, 1, 3], [0, 1, 1, 3]),
    ("-phi 0 -phistep 0 -phisteps 3 -osc 0", [0, 1, 2], [0, 1, 2]),
    ("-phi 5 -phistep 5 -phisteps 3 -osc 15", [0, 1, 2], [0, 1, 2]),
])
def test_zero_step_reuses_the_latest_rotation_of_the_loop(flags, carried, first_pass):
    # nearest non-zero step before it in the pass, else the previous pass's last non-zero
    # step, else (first pass of the run, or no non-zero step) its own unrotated cell
    phi = _schedule(flags)
    assert phi.carried_steps == carried
    assert phi.first_pass_steps == first_pass


@pytest.mark.parametrize("name", list(CASES))
def test_carryover_matches_stored_reference(name, backend, tmp_path, monkeypatch):
    ours = _xbragg(CASES[name], tmp_path, monkeypatch, "--phi-carryover", "--backend", backend)
    metrics = compare(ours, _stored(name))
    assert within_tolerance(metrics), metrics


@pytest.mark.parametrize("name", [n for n in CASES if n != "carry_0_0_0"])
def test_cases_differ_without_carryover(name, tmp_path, monkeypatch):
    # each stored case exercises the carry-over: the physically correct image misses it
    ours = _xbragg(CASES[name], tmp_path, monkeypatch)
    assert not within_tolerance(compare(ours, _stored(name)))


def test_all_zero_schedule_is_unchanged_by_carryover(tmp_path, monkeypatch):
    flags = CASES["carry_0_0_0"]
    plain = _xbragg(flags, tmp_path, monkeypatch)
    np.testing.assert_array_equal(_xbragg(flags, tmp_path, monkeypatch, "--phi-carryover"), plain)


@pytest.mark.parametrize("name", ["carry_m5_0_5_sources", "carry_0_5_10_roi_dmin"])
def test_differentiable_model_carries_over_like_render(name):
    pytest.importorskip("torch")
    from xbragg.differentiable import Parameters, simulate
    exp = xbragg.build_experiment(xbragg.options_from_flags(f"{BASE} {CASES[name]} --phi-carryover"))
    ref = xbragg.render(exp, backend="torch").image
    image = simulate(exp, Parameters.from_experiment(exp))
    rel = float((image - ref).abs().max() / ref.abs().max())
    assert rel <= 1e-12, rel
    assert within_tolerance(compare(image.numpy().astype(np.float32), _stored(name)))


@needs_reference
@pytest.mark.parametrize("name", list(CASES))
def test_carryover_matches_reference_program(name, tmp_path, monkeypatch):
    ref = run_reference(f"{BASE} {CASES[name]} -noprogress".split(), tmp_path)[0].reshape(48, 48)
    (tmp_path / "Fdump.bin").unlink(missing_ok=True)
    ours = _xbragg(CASES[name], tmp_path, monkeypatch, "--phi-carryover")
    metrics = compare(ours, ref)
    assert within_tolerance(metrics), metrics
    assert within_tolerance(compare(_stored(name), ref))        # the stored image is still the program's


@pytest.mark.parametrize("name", ["carry_m5_0_5", "carry_0_5_10"])
def test_differentiable_model_moves_every_carried_cell_with_the_crystal(name):
    # the carry-over copies (first pass included: the run's first pixel) follow the parameters
    torch = pytest.importorskip("torch")
    from xbragg.differentiable import Parameters, simulate
    exp = xbragg.build_experiment(xbragg.options_from_flags(f"{BASE} {CASES[name]} --phi-carryover"))
    p = Parameters.from_experiment(exp).replace(misset_x_deg=torch.tensor(10.5, dtype=torch.float64))
    moved = xbragg.build_experiment(xbragg.options_from_flags(
        f"{BASE.replace('-misset 10 20 30', '-misset 10.5 20 30')} {CASES[name]} --phi-carryover"))
    np.testing.assert_allclose(simulate(exp, p).numpy(), xbragg.render(moved).image, rtol=1e-9, atol=0)
