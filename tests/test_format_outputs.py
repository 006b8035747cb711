"""NXmx and miniCBF written by real runs (issue 13): the command line's -nexus, -nexus_counts, -cbf and
--smv-adc-offset, and the library's xbragg.write_nexus / xbragg.write_cbf, checked against the experiment."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import xbragg
import xbragg.cli.main as cli_main
from format_reading import (header_values, mcstas_of, modules, numbers, nxmx_pixel_centre_mm, pixel_centre_mm,
                            probe_pixels)
from golden import case, stage_inputs
from xbragg.cli.main import main
from xbragg.cli.parse import parse_args
from xbragg.io.nexus import USER_MASK_BIT
from xbragg.io.smv import read_smv

SMALL = ("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels_f 32 -detpixels_s 24 -distance 80 "
         "-lambda 1.2 -phi 5 -osc 0.5 -phisteps 2").split()
#: three conventions with the beam off centre and a tilted detector, and the supervisor command
RUNS = {
    "MOSFLM": SMALL + "-Xbeam 1.3 -Ybeam 1.1 -detector_rotx 4".split(),
    "XDS": SMALL + "-xds -ORGX 10 -ORGY 7 -detector_roty 3 -twotheta 6".split(),
    "DIALS": SMALL + "-dials -Xbeam 1.6 -Ybeam 0.9 -detector_rotz 5".split(),
    "supervisor": case("supervisor_roi")["args"].split(),
}
#: miniCBF states no tilt: flat panels normal to the beam, spindle along the fast axis
CBF_RUNS = {"MOSFLM": SMALL + "-Xbeam 1.3 -Ybeam 1.1".split(), "XDS": SMALL + "-xds -ORGX 10 -ORGY 7".split()}
OUTPUTS = ["-floatfile", "f.bin", "-intfile", "i.img", "-nonoise", "-nopgm", "-noprogress"]


def _experiment(argv):
    """The experiment a command line builds (no cache written)."""
    parsed = parse_args(argv)
    return xbragg.build_experiment(parsed.options, explicit=parsed.explicit)


def _float_image(path, panel) -> np.ndarray:
    return np.fromfile(path, dtype="<f4").reshape(panel.shape)


def _check_nxmx(path, exp, expected_data, h5py):
    """Geometry, beam, scan and data of an NXmx file against the experiment."""
    panel = exp.panel
    Q = mcstas_of(exp.beam, exp.detector)
    beam_lab = exp.beam.direction / np.linalg.norm(exp.beam.direction)
    with h5py.File(path, "r") as f:
        (module,) = modules(f)
        axis = f["/entry/sample/transformations/omega"]
        axis_file = np.asarray(axis.attrs["vector"])
        for s, fast in probe_pixels(panel):
            p_file = pixel_centre_mm(f, module, s, fast)
            p_lab = panel.pixel_centres_m(s, fast) * 1e3
            np.testing.assert_allclose(p_file, Q @ p_lab, rtol=0, atol=1e-6)
            # frame-free: the beam is McStas +z in a NXmx file, the axis as the file states it
            assert p_file[2] == pytest.approx(p_lab @ beam_lab, abs=1e-6)
            assert p_file @ axis_file == pytest.approx(p_lab @ exp.goniometer.rotation_axis, abs=1e-6)
        np.testing.assert_allclose(axis_file, Q @ exp.goniometer.rotation_axis, atol=1e-12)
        wavelength = f["/entry/instrument/beam/incident_wavelength"]
        assert float(wavelength[()]) == pytest.approx(exp.beam.wavelength_m * 1e10, rel=1e-12)
        np.testing.assert_allclose(axis[()], [np.degrees(exp.scan.phi0_rad)], atol=1e-12)
        np.testing.assert_allclose(f["/entry/sample/transformations/omega_end"][()] - axis[()],
                                   [np.degrees(exp.scan.osc_rad)], atol=1e-12)
        data = f["/entry/data/data"][()]
        assert data.shape == (1, *panel.shape)
        np.testing.assert_array_equal(data[0], expected_data)
        return f["/entry/instrument/detector/pixel_mask"][()]


def _check_with_nxmx_reader(path, exp, h5py):
    nxmx = pytest.importorskip("nxmx")
    Q = mcstas_of(exp.beam, exp.detector)
    with h5py.File(path, "r") as f:
        entry = nxmx.NXmx(f).entries[0]
        (module,) = entry.instruments[0].detectors[0].modules
        for s, fast in probe_pixels(exp.panel):
            np.testing.assert_allclose(nxmx_pixel_centre_mm(nxmx, module, s, fast),
                                       Q @ exp.panel.pixel_centres_m(s, fast) * 1e3, rtol=0, atol=1e-6)
        axes = nxmx.get_rotation_axes(nxmx.get_dependency_chain(entry.samples[0].depends_on))
        np.testing.assert_allclose(axes.axes[0], Q @ exp.goniometer.rotation_axis, atol=1e-12)


@pytest.mark.parametrize("name", list(RUNS))
def test_nexus_from_the_command_line_and_the_library(scratch_directory, name):
    h5py = pytest.importorskip("h5py")
    work = scratch_directory
    stage_inputs(work)
    argv = RUNS[name]
    assert main(argv + OUTPUTS + ["-nexus", "cli.nxs"]) == 0
    exp = _experiment(argv)
    floats = _float_image(work / "f.bin", exp.panel)
    assert floats.any()
    mask = _check_nxmx(work / "cli.nxs", exp, floats, h5py)
    _check_with_nxmx_reader(work / "cli.nxs", exp, h5py)
    # pixels the run does not render are masked (the supervisor command renders a -roi)
    x0, x1, y0, y1 = exp.roi_bounds
    inside = np.zeros(exp.panel.shape, dtype=bool)
    inside[y0:y1 + 1, x0:x1 + 1] = True
    np.testing.assert_array_equal(mask, np.where(inside, 0, USER_MASK_BIT))
    assert (name == "supervisor") == bool(mask.any())

    xbragg.write_nexus(work / "lib.nxs", floats, exp)
    assert np.array_equal(_check_nxmx(work / "lib.nxs", exp, floats, h5py), mask)


def test_library_sweep_of_experiments(tmp_path):
    h5py = pytest.importorskip("h5py")
    experiments = [_experiment(SMALL + ["-phi", str(5 + 0.5 * i)]) for i in range(3)]
    images = np.stack([xbragg.render(e).image for e in experiments])
    xbragg.write_nexus(tmp_path / "sweep.nxs", images, experiments)
    with h5py.File(tmp_path / "sweep.nxs", "r") as f:
        np.testing.assert_allclose(f["/entry/sample/transformations/omega"][()], [5.0, 5.5, 6.0], atol=1e-12)
        np.testing.assert_array_equal(f["/entry/data/data"][()], images.astype(np.float32))
    moved = _experiment(SMALL + ["-distance", "90"])
    with pytest.raises(xbragg.InputError, match="experiment 1: the detector"):
        xbragg.write_nexus(tmp_path / "mixed.nxs", images[:2], [experiments[0], moved])
    assert not (tmp_path / "mixed.nxs").exists()


def test_nexus_counts_hold_the_noise_image(scratch_directory):
    h5py = pytest.importorskip("h5py")
    argv = RUNS["MOSFLM"] + ["-seed", "7", "-noprogress", "-nopgm", "-floatfile", "f.bin", "-intfile", "i.img"]
    assert main(argv + ["-noisefile", "n.img", "-nexus", "c.nxs", "-nexus_counts"]) == 0
    noise = read_smv("n.img").data
    with h5py.File("c.nxs", "r") as f:
        data = f["/entry/data/data"]
        assert data.dtype == np.int32
        np.testing.assert_array_equal(data[0], noise)
        assert int(f["/entry/instrument/detector/saturation_value"][()]) == 65535
    # the noise is drawn for the NXmx file even when no noise image is written
    assert main(argv + ["-nonoise", "-nexus", "d.nxs", "-nexus_counts"]) == 0
    with h5py.File("d.nxs", "r") as f:
        np.testing.assert_array_equal(f["/entry/data/data"][0], noise)


@pytest.mark.parametrize("name", ["MOSFLM", "XDS"])
def test_cbf_from_the_command_line_and_the_library(scratch_directory, name):
    fabio = pytest.importorskip("fabio")
    argv = CBF_RUNS[name]
    assert main(argv + OUTPUTS + ["-cbf", "cli.cbf"]) == 0
    exp = _experiment(argv)
    ints = read_smv("i.img").data
    assert ints.any()
    panel = exp.panel
    fs = panel.beam_intersection_fs_m(exp.beam.direction)
    for path in ("cli.cbf", "lib.cbf"):
        if path == "lib.cbf":
            xbragg.write_cbf(path, ints, exp, saturation=65535)
        img = fabio.open(path)
        np.testing.assert_array_equal(img.data, ints)
        h = header_values(img)
        assert numbers(h["Pixel_size"]) == pytest.approx([panel.pixel_size_m] * 2, rel=1e-6)
        assert numbers(h["Wavelength"])[0] == pytest.approx(exp.beam.wavelength_m * 1e10, rel=1e-8)
        assert numbers(h["Detector_distance"])[0] == pytest.approx(panel.close_distance_m, abs=1e-8)
        assert numbers(h["Beam_xy"]) == pytest.approx([fs[0] / panel.pixel_size_m, fs[1] / panel.pixel_size_m],
                                                      abs=1e-4)
        assert numbers(h["Start_angle"])[0] == pytest.approx(np.degrees(exp.scan.phi0_rad), abs=1e-6)
        assert numbers(h["Angle_increment"])[0] == pytest.approx(np.degrees(exp.scan.osc_rad), abs=1e-6)
        assert numbers(h["Exposure_time"])[0] == pytest.approx(exp.beam.exposure_s)
        assert numbers(h["Count_cutoff"])[0] == 65535


@pytest.mark.parametrize("name, mismatch", [("DIALS", "rotation axis"), ("MOSFLM", "rotation axis"),
                                            ("supervisor", "normal")])
def test_cbf_of_a_geometry_it_cannot_state_is_refused_before_rendering(scratch_directory, capsys, monkeypatch,
                                                                       name, mismatch):
    pytest.importorskip("fabio")            # without it, the refusal names the missing package
    stage_inputs(scratch_directory)

    def no_render(*args, **kwargs):
        raise AssertionError("render must not be reached")

    monkeypatch.setattr(cli_main, "render", no_render)
    assert main(RUNS[name] + OUTPUTS + ["-cbf", "x.cbf"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xbragg: error: -cbf: ") and mismatch in err and "-nexus" in err
    assert not any(p.name in ("x.cbf", "f.bin", "i.img") for p in scratch_directory.iterdir())


def test_curved_detector_nexus_and_counts_without_nexus_are_refused(scratch_directory, capsys):
    pytest.importorskip("h5py")
    assert main(SMALL + OUTPUTS + ["-curved_det", "-nexus", "x.nxs"]) == 2
    assert "-nexus: panel 0 is curved" in capsys.readouterr().err
    assert main(SMALL + OUTPUTS + ["-nexus_counts"]) == 2
    assert "-nexus_counts: needs -nexus" in capsys.readouterr().err
    assert sorted(p.name for p in scratch_directory.iterdir()) == []


def test_smv_adc_offset(scratch_directory):
    argv = SMALL + ["-seed", "3", "-adc", "25", "-nopgm", "-noprogress", "-floatfile", "f.bin"]
    assert main(argv + ["-intfile", "a.img", "-noisefile", "a_noise.img"]) == 0
    assert main(argv + ["-intfile", "b.img", "-noisefile", "b_noise.img", "--smv-adc-offset"]) == 0
    for plain, stated in (("a.img", "b.img"), ("a_noise.img", "b_noise.img")):
        a, b = read_smv(plain), read_smv(stated)
        assert "ADC_OFFSET" not in a.header and b.header["ADC_OFFSET"] == "25"
        np.testing.assert_array_equal(a.data, b.data)
        assert {k: v for k, v in b.header.items() if k != "ADC_OFFSET"} == a.header


def test_import_xbragg_imports_neither_h5py_nor_fabio():
    code = "import sys, xbragg; print(sorted(m for m in ('h5py', 'fabio', 'hdf5plugin') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
