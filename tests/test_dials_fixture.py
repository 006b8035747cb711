"""A real experiment list written by dxtbx (tests/expt_files/dials_thaum_0500.expt.json, see
the README beside it): read field for field, and rendered through -expt and xbragg.from_expt.

The expected values are the file's numbers, converted to xbragg's conventions by hand here
(docs/dials.md): the beam propagates along minus dxtbx's ``direction``, lengths in metres,
mu in 1/m, the Kahn factor 2 * polarization_fraction - 1.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

import xbragg
from xbragg.cli.main import run
from xbragg.io.expt import read_experiment

THAUM = Path(__file__).resolve().parent / "expt_files" / "dials_thaum_0500.expt.json"
#: the flags the file does not hold; the ROI keeps the 2463 x 2527 detector fast to render
FLAGS = ["-default_F", "100", "-N", "8", "-roi", "1200", "1215", "1240", "1251", "-oversample", "1"]


def _file() -> dict:
    return json.loads(THAUM.read_text())


def test_every_model_is_read_field_for_field():
    doc = _file()
    entry = read_experiment(THAUM)
    beam, panel_doc, crystal_doc = doc["beam"][0], doc["detector"][0]["panels"][0], doc["crystal"][0]
    # beam: propagation direction opposite to dxtbx's (towards the source), Angstrom to metres
    np.testing.assert_allclose(entry.beam.direction, -np.array(beam["direction"]), rtol=0, atol=1e-15)
    assert entry.beam.wavelength_m == pytest.approx(beam["wavelength"] * 1e-10, rel=1e-15)
    assert entry.beam.kahn_factor == pytest.approx(2 * beam["polarization_fraction"] - 1, rel=1e-15)
    # the polarization axis is the normal x propagation: in the plane of the normal's complement
    np.testing.assert_allclose(entry.beam.polarization_axis, np.cross(beam["polarization_normal"],
                                                                      -np.array(beam["direction"])), atol=1e-15)
    # one panel, no hierarchy offsets (the root group is the lab frame)
    assert len(entry.detector) == 1
    panel = entry.detector[0]
    np.testing.assert_allclose(panel.origin_m, np.array(panel_doc["origin"]) * 1e-3, rtol=1e-15, atol=0)
    np.testing.assert_allclose(panel.fast_axis, panel_doc["fast_axis"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(panel.slow_axis, panel_doc["slow_axis"], rtol=0, atol=1e-15)
    # the normal: fast x slow, which here points away from the sample (the detector is at -z, the
    # beam goes to -z), as xbragg's normal does
    np.testing.assert_allclose(panel.normal, np.cross(panel_doc["fast_axis"], panel_doc["slow_axis"]),
                               atol=1e-15)
    assert panel.close_distance_m == pytest.approx(float(np.dot(panel_doc["origin"], panel.normal)) * 1e-3,
                                                   rel=1e-15)
    assert 0.34 < panel.close_distance_m < 0.341
    assert panel.pixel_size_m == pytest.approx(panel_doc["pixel_size"][0] * 1e-3, rel=1e-15)
    assert panel.image_size == tuple(panel_doc["image_size"]) == (2463, 2527)
    assert panel.shape == (2527, 2463)
    assert panel.name == "Panel" and panel.sensor.material == "Si"
    assert panel.sensor.thick_m == pytest.approx(panel_doc["thickness"] * 1e-3, rel=1e-15)
    assert panel.sensor.mu_per_m == pytest.approx(panel_doc["mu"] * 1e3, rel=1e-15)
    # crystal: real-space axes in Angstrom, rows a, b, c; the Hall symbol kept as text
    np.testing.assert_array_equal(entry.crystal.real_space_A, np.array(
        [crystal_doc["real_space_a"], crystal_doc["real_space_b"], crystal_doc["real_space_c"]]))
    assert entry.crystal.space_group_hall_symbol == " P 4"
    assert entry.crystal.mosaicity_deg == 0.0
    # a still: no goniometer, no scan
    assert entry.goniometer is None and entry.scan is None and entry.image_range is None
    assert entry.template == "thaum_0500.cbf.gz"
    # the panel's untrusted rectangles (mask) and trusted range describe the data reduction
    # (docs/dials.md): read, not simulated, nothing else to warn about
    assert entry.warnings == ()


def test_the_file_renders_through_from_expt_and_the_command_line(scratch_directory):
    exp = xbragg.from_expt(str(THAUM), options=FLAGS)
    assert exp.scan.phisteps == 1 and exp.scan.osc_rad == 0.0
    image = xbragg.render(exp).image
    roi = image[1240:1252, 1200:1216]
    assert np.all(np.isfinite(image)) and np.all(roi > 0.0)
    assert np.count_nonzero(image) == roi.size
    out = io.StringIO()
    assert run(["-expt", str(THAUM), *FLAGS, "-floatfile", "thaum.bin", "-nonoise", "-nopgm", "-noprogress"],
               out) == 0
    written = np.fromfile("thaum.bin", dtype="<f4").reshape(2527, 2463)
    np.testing.assert_array_equal(written, image.astype(np.float32))


def test_the_kabsch2010_mosaicity_becomes_the_mosaic_spread_unless_mosaic_is_given(scratch_directory):
    doc = _file()
    doc["crystal"][0]["mosaicity"] = 0.2
    Path("mosaic.expt").write_text(json.dumps(doc))
    exp = xbragg.from_expt("mosaic.expt", options=FLAGS)
    assert exp.crystal.mosaic_spread_rad == pytest.approx(np.radians(0.2), rel=1e-15)
    assert exp.crystal.mosaic_umats.shape[0] == 10
    assert any("-mosaic 0.2 from the crystal's mosaicity" in m for m in exp.messages)
    given = xbragg.from_expt("mosaic.expt", options=[*FLAGS, "-mosaic", "0.05", "-mosaic_dom", "3"])
    assert given.crystal.mosaic_spread_rad == pytest.approx(np.radians(0.05), rel=1e-15)
    assert not any("crystal's mosaicity" in m for m in given.messages)
    # the file's own zero mosaicity leaves the crystal without spread, and says nothing
    assert xbragg.from_expt(str(THAUM), options=FLAGS).crystal.mosaic_spread_rad == 0.0


def test_a_sauter2014_mosaic_model_is_named_as_unused(scratch_directory):
    doc = _file()
    doc["crystal"][0].update(ML_half_mosaicity_deg=0.03, ML_domain_size_ang=2000.0)
    Path("sauter.expt").write_text(json.dumps(doc))
    exp = xbragg.from_expt("sauter.expt", options=FLAGS)
    assert any("ML_half_mosaicity_deg and ML_domain_size_ang (Sauter2014) are not used" in m
               for m in exp.messages)
