"""Geometry from and to DIALS experiment lists, and detectors of several panels, through the command line.

A golden case written out with ``--write-expt`` and rendered again from that file (with only
the flags an experiment list does not hold: cell counts, F, fluence, sampling) reproduces the
reference's image; a detector of two panels renders one image per panel, with statistics per
panel and over all, a trace naming the panel and one NXmx file holding both.
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest

import xbragg
from xbragg.cli.flags import flag_index
from xbragg.cli.main import run
from xbragg.io.expt import read_experiment, write_experiment_list
from xbragg.models import Detector

from golden import case, compare, reference_image, stage_inputs, within_tolerance

#: the flags that place the beam, detector, spindle and crystal: the experiment list holds them
PLACING = {"-cell", "-mat", "-misset", "-mosflm", "-xds", "-adxv", "-denzo", "-dials", "-pivot", "-distance",
           "-close_distance", "-Xbeam", "-Ybeam", "-Xclose", "-Yclose", "-ORGX", "-ORGY", "-fdet_vector",
           "-sdet_vector", "-odet_vector", "-beam_vector", "-polar_vector", "-spindle_axis", "-twotheta_axis",
           "-pix0_vector", "-pix0_vector_mm", "-detector_rotx", "-detector_roty", "-detector_rotz", "-twotheta",
           "-pixel", "-detpixels", "-detpixels_x", "-detpixels_y", "-detsize", "-lambda", "-phi", "-osc"}


def without_placing(args: list[str]) -> list[str]:
    """``args`` without the placing flags and their values."""
    index, kept, i = flag_index(), [], 0
    while i < len(args):
        flag = index[args[i]]
        end = i + 1
        if flag.nargs < 0:
            while end < len(args) and end - i - 1 < -flag.nargs and args[end] not in index:
                end += 1
        else:
            end += flag.nargs
        if args[i] not in PLACING:
            kept += args[i:end]
        i = end
    return kept


def _run(args: list[str]) -> str:
    out = io.StringIO()
    assert run([*args, "-nonoise", "-nopgm", "-noprogress"], out) == 0
    return out.getvalue()


@pytest.mark.parametrize("name", ["cubic_default", "conv_xds", "conv_adxv", "conv_dials", "tilted_detector",
                                  "pivot_sample_close", "custom_vectors", "triclinic_misset",
                                  "supervisor_roi_spec"])
def test_a_written_experiment_list_renders_the_golden_image_again(scratch_directory, name):
    stage_inputs(scratch_directory)
    c = case(name)
    args = c["args"].split()
    _run([*args, "-floatfile", "first.bin", "--write-expt", "case.expt"])
    again = [*without_placing(args), "-expt", "case.expt", "-floatfile", "again.bin"]
    assert not set(again) & PLACING
    _run(again)
    ref = reference_image(c)
    first = np.fromfile("first.bin", dtype="<f4").reshape(ref.shape)
    from_file = np.fromfile("again.bin", dtype="<f4").reshape(ref.shape)
    assert within_tolerance(compare(from_file, ref)), compare(from_file, ref)
    # and the models themselves survive the file: the same panel, beam, scan and crystal
    exp = xbragg.build_experiment(xbragg.options_from_flags(args))
    back = xbragg.from_expt("case.expt", options=without_placing(args))
    np.testing.assert_allclose(back.panel.origin_m, exp.panel.origin_m, rtol=0, atol=1e-15)
    np.testing.assert_allclose(back.crystal.real_axes_m, exp.crystal.real_axes_m, rtol=1e-13, atol=0)
    assert back.beam.wavelength_m == pytest.approx(exp.beam.wavelength_m, rel=1e-15)
    assert (back.scan.phi0_rad, back.scan.osc_rad, back.scan.phisteps) == pytest.approx(
        (exp.scan.phi0_rad, exp.scan.osc_rad, exp.scan.phisteps), abs=1e-15)
    assert within_tolerance(compare(first, ref))


def test_placing_flags_with_an_experiment_list_are_refused(scratch_directory, capsys):
    _run("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 --write-expt a.expt".split())
    from xbragg.cli.main import main
    assert main("-expt a.expt -default_F 100 -distance 90 -twotheta 3 -noprogress".split()) == 2
    err = capsys.readouterr().err
    assert "-distance" in err and "-twotheta" in err and "-expt" in err and "a.expt" in err


def _two_panel_list(path: str) -> xbragg.Experiment:
    """An experiment list of a two-panel detector (the second panel beside the first, tilted)."""
    exp = xbragg.build_experiment(xbragg.options_from_flags(
        "-cell 60 70 80 90 90 90 -default_F 100 -N 4 -lambda 1.2 -distance 60 -detpixels_f 20 -detpixels_s 16 "
        "-pixel 0.2 -dials"))
    first = exp.panel
    c, s = np.cos(0.3), np.sin(0.3)
    second = dataclasses.replace(first, origin_m=first.origin_m + 4.5e-3 * first.fast_axis,
                                 fast_axis=c * first.fast_axis + s * first.normal,
                                 normal=-s * first.fast_axis + c * first.normal, fast_pixels=12, name="right")
    two = dataclasses.replace(exp, detector=Detector((dataclasses.replace(first, name="left"), second)))
    write_experiment_list(path, [two.to_expt()])
    return two


def test_every_panel_of_an_experiment_list_gets_its_image_statistics_and_trace(scratch_directory):
    _two_panel_list("two.expt")
    flags = "-expt two.expt -default_F 100 -N 4".split()
    out = _run([*flags, "-floatfile", "img.bin", "-intfile", "img.img", "-trace_pixel", "1", "5", "7"])
    exp = xbragg.from_expt("two.expt", options=flags)
    assert len(exp.detector) == 2
    for panel, shape in ((0, (16, 20)), (1, (16, 12))):
        written = np.fromfile(f"img_p{panel:02d}.bin", dtype="<f4").reshape(shape)
        np.testing.assert_array_equal(written, xbragg.render(exp, panel=panel).image.astype(np.float32))
        assert (scratch_directory / f"img_p{panel:02d}.img").exists()
    assert not (scratch_directory / "img.bin").exists()
    assert "panel 0 (left):" in out and "panel 1 (right):" in out and "all panels:" in out
    assert out.count("max_I = ") == 3
    assert "TRACE_PY_CONFIG: tracing pixel (panel=1, spixel=5, fpixel=7)" in out


def test_a_missing_panel_is_refused(scratch_directory, capsys):
    _two_panel_list("two.expt")
    from xbragg.cli.main import main
    assert main("-expt two.expt -default_F 100 -trace_pixel 2 1 1 -noprogress".split()) == 2
    assert "panel 2" in capsys.readouterr().err


def test_a_two_panel_nexus_file_holds_both_images(scratch_directory):
    pytest.importorskip("h5py")
    import h5py
    _two_panel_list("two.expt")
    flags = "-expt two.expt -default_F 100 -N 4".split()
    _run([*flags, "-floatfile", "img.bin", "-nexus", "two.nxs"])
    with h5py.File("two.nxs", "r") as f:
        detector = f["/entry/instrument/detector"]
        modules = [k for k, v in detector.items()
                   if v.attrs.get("NX_class") in (b"NXdetector_module", "NXdetector_module")]
        assert len(modules) == 2
        data = f["/entry/data/data"][()]
    # the panels are stacked along slow, each in its module's data_origin/data_size
    for panel, shape in ((0, (16, 20)), (1, (16, 12))):
        image = np.fromfile(f"img_p{panel:02d}.bin", dtype="<f4").reshape(shape)
        assert any(np.array_equal(data[0, r:r + 16, :shape[1]], image) for r in range(0, data.shape[1] - 15))


def test_the_experiment_list_written_reads_back_to_the_same_models(scratch_directory):
    two = _two_panel_list("two.expt")
    entry = read_experiment("two.expt")
    for ours, back in zip(two.detector, entry.detector):
        np.testing.assert_allclose(back.origin_m, ours.origin_m, rtol=0, atol=1e-15)
        np.testing.assert_allclose(back.fast_axis, ours.fast_axis, rtol=0, atol=1e-15)
        assert back.name == ours.name and back.image_size == ours.image_size
    np.testing.assert_allclose(entry.crystal_real_axes_m(), two.crystal.real_axes_m, rtol=1e-14, atol=0)
