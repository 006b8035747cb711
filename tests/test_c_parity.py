"""--c-parity: every known behaviour of nanoBragg.c at once; without it, a note names each difference."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from golden import compare, extra_image, needs_reference, note_lines, run_reference, run_xbragg, within_tolerance
from xbragg.cli.main import main
from xbragg.cli.parse import c_atof, help_text, parse_args
from xbragg.kernel.lattice import lattice_factor, sinc3, sinc3_direct, sincg, sincg_direct
from xbragg.setup.experiment import build_experiment
from xbragg.setup.options import SimulationOptions

BASE = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64 -distance 50".split()

#: each reference behaviour: (example flags, text of its note without --c-parity)
BEHAVIOURS = {
    "pivot_ignored": ("-mosflm -pivot sample -detector_rotx 5", "ignores -pivot"),
    "twotheta_axis_substring": ("-twotheta_axis 5 1 0", "as -twotheta 5"),
    "misset_seed_substring": ("-misset 10 20 30 -misset_seed 5 -N 5", "as -misset 5 0 5"),
    "phi_from_zero": ("-phi 0 -osc 10 -phisteps 4", "phi carry-over"),
    "zero_capture": ("-oversample_thick", "all-zero image"),
}

# a run with -hkl writes the Fdump.bin cache in the working directory
pytestmark = pytest.mark.usefixtures("scratch_directory")


def _xbragg(tmp_path: Path, flags: list[str]) -> tuple[np.ndarray, list[str]]:
    """xbragg's float image (64x64) and its note lines."""
    image, stdout = run_xbragg(BASE + flags, tmp_path)
    return image.reshape(64, 64), note_lines(stdout)


def _stored(name: str) -> np.ndarray:
    return extra_image(name, 64)


def _reference(tmp_path: Path, flags: list[str]) -> np.ndarray:
    work = tmp_path / "ref"
    work.mkdir()
    image = run_reference([*BASE, *flags, "-noprogress"], work)[0].reshape(64, 64)
    shutil.rmtree(work)
    return image


# --- the switch ---------------------------------------------------------------------------------

def test_switch_sets_the_option_and_is_in_help():
    assert parse_args(["--c-parity"]).options.c_parity
    assert not parse_args([]).options.c_parity
    assert "--c-parity" in help_text() and "--phi-carryover" in help_text()


def test_library_option_turns_on_phi_carryover_and_the_reference_forms():
    opts = SimulationOptions(cell_A=(100.0, 100.0, 100.0), default_F=100.0, fpixels=8, spixels=8,
                             phi_deg=0.0, osc_deg=10.0, phisteps=4)
    plain, parity = build_experiment(opts), build_experiment(opts.updated(c_parity=True))
    assert not plain.phi_carryover and parity.phi_carryover
    assert not plain.reference_forms and parity.reference_forms
    assert plain.notes and not parity.notes          # the carry-over note, only by default


# --- each behaviour: stored reference images (CI) ---------------------------------------------

@pytest.mark.parametrize("name", ["pivot_ignored", "twotheta_axis_substring", "misset_seed_substring",
                                  "phi_from_zero"])
def test_c_parity_matches_the_reference_and_the_default_announces_it(tmp_path, name):
    flags, note = BEHAVIOURS[name]
    ref = _stored(name)
    ours, notes = _xbragg(tmp_path, flags.split() + ["--c-parity"])
    assert within_tolerance(compare(ours, ref)), compare(ours, ref)
    assert notes == []
    default, notes = _xbragg(tmp_path, flags.split())
    assert not within_tolerance(compare(default, ref))       # the default really differs ...
    assert len(notes) == 1 and note in notes[0] and "--c-parity" in notes[0]   # ... and says so


def test_zero_capture_fraction_without_a_sensor(tmp_path):
    # the reference's capture fraction is exp(0) - exp(0) = 0 at every sub-pixel: an all-zero image
    ours, notes = _xbragg(tmp_path, ["-oversample_thick", "--c-parity"])
    assert not ours.any() and notes == []
    default, notes = _xbragg(tmp_path, ["-oversample_thick"])
    assert default.max() > 0
    assert len(notes) == 1 and "all-zero image" in notes[0]
    with_sensor, notes = _xbragg(tmp_path, ["-oversample_thick", "-detector_thick", "100"])
    assert with_sensor.max() > 0 and notes == []             # a real sensor: no difference, no note


def test_convention_then_vector_keeps_the_conventions_pivot(tmp_path):
    # -xds sets the sample pivot while flags are read; the vector flag selects CUSTOM, which keeps it
    ours, notes = _xbragg(tmp_path, "-xds -fdet_vector 1 0 0 -twotheta 10".split())
    assert within_tolerance(compare(ours, _stored("convention_then_vector")))
    assert notes == []
    exp = build_experiment(parse_args(BASE + "-xds -fdet_vector 1 0 0".split()).options)
    assert exp.detector_setup.convention == "CUSTOM" and exp.detector_setup.pivot == "sample"


@pytest.mark.parametrize("flags", ["-mosflm -pivot beam -detector_rotx 5", "-xds -pivot sample",
                                   "-misset_seed 5 -misset 10 20 30", "-twotheta_axis 0 1 0 -twotheta 20",
                                   "-phi 0 -osc 10 -phisteps 4 --phi-carryover", "-phi 1 -osc 10 -phisteps 4"])
def test_no_note_where_the_reference_draws_the_same(flags):
    parsed = parse_args(BASE + flags.split())
    assert parsed.notes == []
    assert build_experiment(parsed.options).notes == ()


def test_pivot_note_only_when_the_geometry_changes():
    exp = build_experiment(parse_args(BASE + ["-mosflm", "-pivot", "sample"]).options)
    assert len(exp.notes) == 1       # MOSFLM's beam centre is half a pixel off the sample pivot's
    parity = build_experiment(parse_args(BASE + ["-mosflm", "-pivot", "sample", "--c-parity"]).options)
    plain = build_experiment(parse_args(BASE + ["-mosflm"]).options)
    assert parity.detector_setup.pivot == "beam"
    assert np.array_equal(parity.panel.origin_m, plain.panel.origin_m)


def test_substring_readings_under_c_parity():
    o = parse_args(["-twotheta", "20", "-twotheta_axis", "0", "1", "0", "--c-parity"]).options
    assert o.twotheta_deg == 0.0 and o.pivot_from_flags == "sample" and o.convention == "CUSTOM"
    o = parse_args(["-misset", "random", "-misset_seed", "7", "-N", "5", "--c-parity"]).options
    assert o.misset_deg == (7.0, 0.0, 5.0) and not o.misset_random
    o = parse_args(["-misset", "random", "-misset_seed", "7", "--c-parity"]).options   # too few arguments after
    assert o.misset_random and o.misset_seed == 7


def test_final_curved_det_and_xbraggs_own_flags():
    # the reference takes -curved_det only when another argument follows; it never sees xbragg's -- flags
    assert not parse_args(["-N", "5", "-curved_det", "--c-parity", "--dtype", "float32"]).options.curved_det
    assert parse_args(["-curved_det", "-N", "5", "--c-parity"]).options.curved_det
    parsed = parse_args(["-N", "5", "-curved_det", "--backend", "numpy"])
    assert parsed.options.curved_det and len(parsed.notes) == 1 and "-curved_det" in parsed.notes[0]
    assert parse_args(["-curved_det", "-N", "5"]).notes == []
    o = parse_args(["-misset_seed", "5", "--dtype", "float32", "-N", "5", "--c-parity"]).options
    assert o.misset_deg == (5.0, 0.0, 5.0)


def test_c_atof_reads_like_c():
    assert c_atof("12.5abc") == 12.5 and c_atof("-N") == 0.0 and c_atof("1e3x") == 1000.0
    assert c_atof(" -.5") == -0.5 and c_atof("float.bin") == 0.0 and c_atof("inf") == float("inf")


def test_direct_lattice_forms_are_the_reference_formulas():
    h = np.array([0.0, 0.25, 1.0, -3.7, 23.5057, 1e-9])
    with np.errstate(invalid="ignore"):
        expected = np.where(h == 0, 5.0, np.sin(np.pi * h * 5) / np.sin(np.pi * h))
    assert np.array_equal(sincg_direct(h, 5.0), expected)
    away = np.abs(h - np.round(h)) > 1e-3                      # away from the direct form's cancellation
    assert np.allclose(sincg(h, 5.0)[away], expected[away], rtol=1e-12)
    x = np.array([0.0, 0.5, 2.0, 7.0])
    assert sinc3_direct(x)[0] == 1.0 and np.allclose(sinc3_direct(x), sinc3(x), rtol=1e-12)
    hkl = tuple(np.array([0.1, 1.3, -2.4]) + i for i in range(3))
    direct, _ = lattice_factor(hkl, shape="square", Na=5, Nb=3, Nc=2, fudge=1.0, direct=True)
    reduced, _ = lattice_factor(hkl, shape="square", Na=5, Nb=3, Nc=2, fudge=1.0)
    assert np.allclose(direct, reduced, rtol=1e-12)
    h32 = tuple(np.asarray(x, dtype=np.float32) * 40 for x in hkl)       # float32 keeps the reduced forms
    direct32, _ = lattice_factor(h32, shape="square", Na=5, Nb=3, Nc=2, fudge=1.0, direct=True)
    reduced32, _ = lattice_factor(h32, shape="square", Na=5, Nb=3, Nc=2, fudge=1.0)
    assert np.array_equal(direct32, reduced32)


def test_cli_prints_notes_on_stdout(capsys):
    assert main(BASE + ["-detpixels", "8", "-oversample_thick", "-noprogress", "-nonoise", "-nopgm"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and notes[0].endswith("--c-parity reproduces it")


# --- live against the reference binary ---------------------------------------------------------

@needs_reference
@pytest.mark.parametrize("name", sorted(BEHAVIOURS) + ["convention_then_vector"])
def test_live_reference(tmp_path, name):
    flags = (BEHAVIOURS[name][0] if name in BEHAVIOURS else "-xds -fdet_vector 1 0 0 -twotheta 10").split()
    ref = _reference(tmp_path, flags)
    ours, _ = _xbragg(tmp_path, flags + ["--c-parity"])
    default, notes = _xbragg(tmp_path, flags)
    if not ref.any():                       # -oversample_thick without a sensor
        assert not ours.any() and default.any() and len(notes) == 1
        return
    assert within_tolerance(compare(ours, ref)), compare(ours, ref)
    assert within_tolerance(compare(default, ref)) or len(notes) == 1
