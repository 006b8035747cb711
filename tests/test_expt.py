"""DIALS experiment lists (xbragg.io.expt): a file in dxtbx's form, conventions, round trip, bad files.

tests/expt_files/two_panel_group.expt was written by hand in the form dxtbx's
``ExperimentList.to_dict`` gives (key for key, see docs/dials.md): a beam, a detector of
two panels inside a group ("quadrant_0", turned 90 degrees about z) inside the root group
(100 mm from the sample), a goniometer, a three-image scan, a crystal and an imageset.
The expected lab-frame values below were worked out by hand from that file.
"""
from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from xbragg.errors import InputError
from xbragg.io.expt import (ExptCrystal, experiment_list_dict, export_warnings, read_experiment,
                            read_experiment_list, write_experiment_list)

TWO_PANELS = Path(__file__).resolve().parent / "expt_files" / "two_panel_group.expt"


def _fixture() -> dict:
    return json.loads(TWO_PANELS.read_text())


def _write(tmp_path, doc, name="list.expt") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def _rotation(axis, angle_deg):
    u = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    c, s = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    ux = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    return c * np.eye(3) + s * ux + (1 - c) * np.outer(u, u)


def _assert_same_json(got, expected, where="$"):
    """Equal JSON structures, numbers to 1e-12 relative (1e-15 absolute near zero)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), where
        for key in expected:
            _assert_same_json(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected)):
            _assert_same_json(g, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), where
    else:
        assert got == expected, where


def test_hierarchy_composes_to_the_hand_computed_pixel_positions():
    entry = read_experiment(TWO_PANELS)
    a, b = entry.detector
    assert (a.name, b.name) == ("panel_A", "panel_B")
    # group axes (0,1,0), (-1,0,0) at (10, 20, -100) mm; the panels' local slow (0,-1,0) is +x in the lab
    np.testing.assert_allclose(a.fast_axis, [0, 1, 0], atol=1e-15)
    np.testing.assert_allclose(a.slow_axis, [1, 0, 0], atol=1e-15)
    np.testing.assert_allclose(a.normal, [0, 0, -1], atol=1e-15)       # away from the sample
    np.testing.assert_allclose(a.pixel_centres_m(0, 0), [10.05e-3, 20.05e-3, -100e-3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(a.pixel_centres_m(29, 39), [12.95e-3, 23.95e-3, -100e-3], rtol=0, atol=1e-15)
    # panel B's local origin (5, 0, 0.5) mm: 5 mm along the group's fast axis, 0.5 mm along its normal (+z)
    np.testing.assert_allclose(b.origin_m, [10e-3, 25e-3, -99.5e-3], rtol=0, atol=1e-15)
    np.testing.assert_allclose(b.pixel_centres_m(2, 3), [10.25e-3, 25.35e-3, -99.5e-3], rtol=0, atol=1e-15)
    assert a.image_size == (40, 30) and a.shape == (30, 40)
    assert a.pixel_size_m == pytest.approx(1e-4, rel=1e-15)
    assert a.sensor.thick_m == pytest.approx(0.32e-3) and a.sensor.mu_per_m == pytest.approx(3900.0)
    assert a.sensor.material == "Si" and a.sensor.steps == 1 and a.sensor.step_m == a.sensor.thick_m


def test_beam_scan_goniometer_and_crystal_follow_dxtbx_conventions():
    entry = read_experiment(TWO_PANELS)
    beam = entry.beam
    np.testing.assert_allclose(beam.direction, [0, 0, -1])                # dxtbx's direction is towards the source
    assert beam.wavelength_m == pytest.approx(0.9763e-10, rel=1e-15)
    np.testing.assert_allclose(np.abs(beam.polarization_axis), [1, 0, 0])  # E perpendicular to the normal (0,1,0)
    assert beam.kahn_factor == pytest.approx(0.998, rel=1e-14)
    assert beam.polarization_fraction == pytest.approx(0.999, rel=1e-14)
    np.testing.assert_allclose(np.abs(beam.polarization_normal), [0, 1, 0], atol=1e-15)
    assert beam.sources.count == 1 and beam.exposure_s == 0.1
    np.testing.assert_allclose(beam.sources.direction[0], -beam.direction)
    assert entry.image_range == (1, 3)
    assert entry.scan.oscillation_deg == pytest.approx((10.0, 0.5), rel=1e-14)
    assert entry.scan.phisteps == 1
    np.testing.assert_allclose(entry.goniometer.rotation_axis, [1, 0, 0])
    np.testing.assert_allclose(entry.crystal_A_per_A(), np.diag([1 / 30, 1 / 40, 1 / 50]), rtol=1e-15)
    np.testing.assert_allclose(entry.crystal_real_axes_m(), np.diag([30e-10, 40e-10, 50e-10]), rtol=1e-15)
    assert entry.crystal.space_group_hall_symbol == " P 2 2"
    assert entry.crystal_cell_A_deg() == pytest.approx((30, 40, 50, 90, 90, 90))
    assert entry.identifier == "3d7a0e5c-hand-made" and entry.template == "/data/xtal_1_#####.cbf"
    assert entry.warnings == ()


def test_fixed_and_setting_rotations_are_folded_into_the_lab_frame(tmp_path):
    doc = _fixture()
    F, S = _rotation([1, 2, 3], 25.0), _rotation([0, 1, 1], -40.0)
    doc["goniometer"][0].update(fixed_rotation=list(F.ravel()), setting_rotation=list(S.ravel()))
    doc["crystal"][0].update(real_space_a=[30.0, 1.0, 0.0], real_space_b=[0.0, 40.0, 2.0],
                             real_space_c=[3.0, 0.0, 50.0])
    entry = read_experiment(_write(tmp_path, doc))
    e = np.array([1.0, 0.0, 0.0])
    A_file = np.linalg.inv(np.array([[30.0, 1, 0], [0, 40, 2], [3, 0, 50]]))
    np.testing.assert_allclose(entry.goniometer.rotation_axis, S @ e, atol=1e-15)
    # dxtbx rotates a reciprocal vector by S R(phi) F A h; xbragg by R_axis(phi) A0 h: equal for every phi
    h = np.array([3.0, -2.0, 5.0])
    for phi in (0.0, 17.0, -123.0):
        dxtbx = S @ _rotation(e, phi) @ F @ A_file @ h
        xbragg = _rotation(entry.goniometer.rotation_axis, phi) @ entry.crystal_A_per_A() @ h
        np.testing.assert_allclose(xbragg, dxtbx, atol=1e-15)
    np.testing.assert_allclose(np.linalg.inv(entry.crystal_real_axes_m() / 1e-10), entry.crystal_A_per_A(),
                               atol=1e-15)
    # written back: F, S and the datum axis as they were
    gonio = experiment_list_dict([entry])["goniometer"][0]
    np.testing.assert_allclose(gonio["rotation_axis"], e, atol=1e-15)
    np.testing.assert_allclose(gonio["fixed_rotation"], F.ravel(), atol=1e-15)


def test_multi_axis_goniometer_gives_fixed_and_setting_rotations(tmp_path):
    doc = _fixture()
    kappa_axis = [0.0, -math.sin(math.radians(50)), math.cos(math.radians(50))]
    doc["goniometer"][0] = {"axes": [[1.0, 0.0, 0.0], kappa_axis, [1.0, 0.0, 0.0]],
                            "angles": [30.0, -60.0, 0.0], "names": ["PHI", "KAPPA", "OMEGA"], "scan_axis": 0}
    entry = read_experiment(_write(tmp_path, doc))
    S = _rotation([1, 0, 0], 0.0) @ _rotation(kappa_axis, -60.0)        # axes above the scan axis
    np.testing.assert_allclose(entry.setting_rotation, S, atol=1e-15)
    np.testing.assert_allclose(entry.fixed_rotation, np.eye(3), atol=1e-15)
    np.testing.assert_allclose(entry.goniometer.rotation_axis, S @ [1, 0, 0], atol=1e-15)


def test_round_trip_of_the_hand_written_file(tmp_path):
    entries = read_experiment_list(TWO_PANELS)
    out = tmp_path / "out.expt"
    assert write_experiment_list(out, entries) == []
    again = read_experiment_list(out)
    _assert_same_json(experiment_list_dict(again), experiment_list_dict(entries))
    for p, q in zip(entries[0].detector, again[0].detector):
        np.testing.assert_allclose(q.pixel_centres_m([0, 29], [0, 39]), p.pixel_centres_m([0, 29], [0, 39]),
                                   rtol=0, atol=1e-15)
    assert [p.name for p in again[0].detector] == ["panel_A", "panel_B"]


def test_written_file_has_dxtbx_keys_and_shares_equal_models(tmp_path):
    entry = read_experiment(TWO_PANELS)
    doc = experiment_list_dict([entry, entry])
    assert list(doc)[:4] == ["__id__", "experiment", "history", "imageset"]
    assert doc["__id__"] == "ExperimentList" and len(doc["experiment"]) == 2
    assert all(len(doc[k]) == 1 for k in ("beam", "detector", "goniometer", "scan", "crystal", "imageset"))
    assert doc["experiment"][1] == {"__id__": "Experiment", "identifier": entry.identifier, "beam": 0,
                                    "detector": 0, "goniometer": 0, "scan": 0, "crystal": 0, "imageset": 0}
    assert set(doc["beam"][0]) == {"__id__", "direction", "wavelength", "divergence", "sigma_divergence",
                                   "polarization_normal", "polarization_fraction", "flux", "transmission",
                                   "probe", "sample_to_source_distance"}
    panel = doc["detector"][0]["panels"][0]
    assert set(panel) == {"name", "type", "fast_axis", "slow_axis", "origin", "raw_image_offset", "image_size",
                          "pixel_size", "trusted_range", "thickness", "material", "mu", "identifier", "mask",
                          "gain", "pedestal", "px_mm_strategy"}
    assert doc["detector"][0]["hierarchy"]["children"] == [{"panel": 0}, {"panel": 1}]
    scan = doc["scan"][0]
    assert scan["properties"]["oscillation"] == pytest.approx([10.0, 10.5, 11.0])
    assert set(scan) == {"image_range", "batch_offset", "properties", "valid_image_ranges"}
    assert doc["imageset"][0]["__id__"] == "ImageSequence"
    assert doc["crystal"][0]["__id__"] == "crystal"


def test_one_image_scan_writes_oscillation_width_and_legacy_scans_read(tmp_path):
    doc = _fixture()
    doc["scan"][0] = {"image_range": [5, 8], "batch_offset": 0, "oscillation": [2.0, 0.25],
                      "exposure_time": [0.5], "epochs": [0.0]}
    entry = read_experiment(_write(tmp_path, doc))
    assert entry.image_range == (5, 8) and entry.scan.oscillation_deg == pytest.approx((2.0, 0.25))
    assert entry.beam.exposure_s == 0.5
    one = experiment_list_dict([read_experiment(_write(tmp_path, _one_image(doc)))])["scan"][0]
    assert one["properties"]["oscillation"] == [2.0] and one["properties"]["oscillation_width"] == [0.25]


def test_scan_properties_of_other_lengths_are_completed_as_dxtbx_does(tmp_path):
    doc = _fixture()
    # one image with oscillation [start, width] and no oscillation_width, as found in files in the wild
    doc["scan"][0].update(image_range=[1, 1], properties={"epochs": [0.0], "exposure_time": [0.0],
                                                           "oscillation": [0.0, 0.09999999999999964]})
    entry = read_experiment(_write(tmp_path, doc))
    assert entry.scan.oscillation_deg == pytest.approx((0.0, 0.1))
    doc["scan"][0].update(image_range=[1, 4], properties={"exposure_time": [0.2], "oscillation": [3.0],
                                                           "oscillation_width": [0.5]})
    entry = read_experiment(_write(tmp_path, doc))
    assert entry.scan.oscillation_deg == pytest.approx((3.0, 0.5)) and entry.beam.exposure_s == 0.2


def _one_image(doc):
    doc = copy.deepcopy(doc)
    doc["scan"][0] = {"image_range": [1, 1], "batch_offset": 0, "valid_image_ranges": {},
                      "properties": {"oscillation": [2.0], "oscillation_width": [0.25], "exposure_time": [1.0],
                                     "epochs": [0.0]}}
    return doc


def test_what_cannot_be_simulated_is_a_warning_naming_the_key(tmp_path):
    doc = _fixture()
    doc["beam"][0]["divergence"] = 0.01
    doc["beam"][0]["s0_at_scan_points"] = [[0.0, 0.0, -1.0]] * 4
    doc["crystal"][0]["A_at_scan_points"] = [[0.0] * 9] * 4
    doc["detector"][0]["panels"][1]["gain"] = 2.0
    doc["detector"][0]["panels"][0]["mu"] = 0.0
    doc["detector"][0]["panels"][0]["px_mm_strategy"] = {"type": "SimplePxMmStrategy"}
    warnings = read_experiment(_write(tmp_path, doc)).warnings
    text = "\n".join(warnings)
    for key in ("$.beam[0].divergence", "$.beam[0].s0_at_scan_points", "$.crystal[0].A_at_scan_points",
                "$.detector[0].panels[1]: gain", "$.detector[0].panels[0]: thickness"):
        assert key in text, text
    assert read_experiment(_write(tmp_path, doc)).detector[0].sensor.thick_m == 0.0


def test_export_warnings_name_what_the_file_cannot_hold():
    import dataclasses
    entry = read_experiment(TWO_PANELS)
    scan = dataclasses.replace(entry.scan, phisteps=5, phistep_rad=entry.scan.osc_rad / 5)
    beam = dataclasses.replace(entry.beam, polarization_correction=False)
    notes = export_warnings([dataclasses.replace(entry, scan=scan, beam=beam)])
    assert any("5 steps" in n for n in notes) and any("-nopolar" in n for n in notes)


def _set(path, value):
    def change(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
        return doc
    return change


BAD = [
    (lambda d: [], "$: expected an experiment list"),
    (_set(["__id__"], "DataBlock"), "$.__id__: expected \"ExperimentList\""),
    (_set(["experiment"], []), "$.experiment: the list has no experiments"),
    (_set(["beam", 0, "wavelength"], KeyError), "$.beam[0]: missing key 'wavelength'"),
    (_set(["beam", 0, "wavelength"], "0.97"), "$.beam[0].wavelength: expected a finite number, found '0.97'"),
    (_set(["beam", 0, "wavelength"], -1.0), "$.beam[0].wavelength: expected a positive wavelength"),
    (_set(["beam", 0, "direction"], [0, 0]), "$.beam[0].direction: expected a list of 3"),
    (_set(["beam", 0, "direction"], [0, 0, 0]), "$.beam[0].direction: expected a vector of non-zero length"),
    (_set(["beam", 0, "polarization_normal"], [0, 0, 1]), "$.beam[0].polarization_normal: expected a non-zero"),
    (_set(["beam", 0, "polarization_fraction"], 1.5), "$.beam[0].polarization_fraction: expected a polarization"),
    (_set(["beam", 0, "__id__"], "polychromatic"), "$.beam[0].__id__: a polychromatic beam"),
    (_set(["beam", 0, "probe"], "electron"), "$.beam[0].probe: expected \"x-ray\""),
    (_set(["experiment", 0, "beam"], 3), "$.experiment[0].beam: index 3 refers to no beam"),
    (_set(["experiment", 0, "beam"], "beam.json"), "$.experiment[0].beam: a model in another file"),
    (_set(["experiment", 0, "detector"], KeyError), "$.experiment[0]: missing key 'detector'"),
    (_set(["detector", 0, "panels", 0, "fast_axis"], [0, 0, 0]),
     "$.detector[0].panels[0].fast_axis: expected a vector of non-zero length"),
    (_set(["detector", 0, "panels", 1, "slow_axis"], [1, 1, 0]),
     "$.detector[0].panels[1]: fast_axis and slow_axis are not perpendicular"),
    (_set(["detector", 0, "panels", 0, "pixel_size"], [0.1, 0.2]),
     "$.detector[0].panels[0].pixel_size: pixels of 0.1 x 0.2 mm are not square"),
    (_set(["detector", 0, "panels", 0, "image_size"], [40, 0]),
     "$.detector[0].panels[0].image_size: expected positive image sizes"),
    (_set(["detector", 0, "panels", 0, "image_size"], [40.5, 30]),
     "$.detector[0].panels[0].image_size[0]: expected an integer"),
    (_set(["detector", 0, "panels", 0, "px_mm_strategy"], {"type": "Mystery"}),
     "$.detector[0].panels[0].px_mm_strategy.type: expected one of"),
    (_set(["detector", 0, "hierarchy", "children", 0, "children"], [{"panel": 0}]),
     "$.detector[0].hierarchy: $.detector[0].panels[1] is in no group"),
    (_set(["detector", 0, "hierarchy", "children", 0, "children"], [{"panel": 0}, {"panel": 0}]),
     "$.detector[0].hierarchy.children[0].children[1].panel: expected a panel not already"),
    (_set(["detector", 0, "hierarchy", "children", 0, "children", 1], {"panel": 7}),
     "$.detector[0].hierarchy.children[0].children[1].panel: expected a panel index from 0 to 1"),
    (_set(["detector", 0, "hierarchy", "children", 0, "children"], KeyError),
     "$.detector[0].hierarchy.children[0]: missing key 'children'"),
    (_set(["goniometer", 0, "rotation_axis"], [0, 0, 0]), "$.goniometer[0].rotation_axis: expected a vector"),
    (_set(["goniometer", 0, "fixed_rotation"], [2, 0, 0, 0, 1, 0, 0, 0, 1]),
     "$.goniometer[0].fixed_rotation: expected a rotation matrix"),
    (_set(["scan", 0, "image_range"], [3, 1]), "$.scan[0].image_range: expected an image range"),
    (_set(["scan", 0, "properties", "oscillation"], []),
     "$.scan[0].properties.oscillation: expected the start angle of each of the 3 images"),
    (_set(["scan", 0, "properties", "oscillation"], [0.0, 0.5, 2.0]),
     "$.scan[0].properties.oscillation: expected start angles of constant width"),
    (_set(["scan", 0, "properties", "time_of_flight"], [1.0, 2.0, 3.0]), "time-of-flight scan"),
    (_set(["crystal", 0, "real_space_c"], [30.0, 40.0, 0.0]), "$.crystal[0]: real_space_a, _b, _c are coplanar"),
    (_set(["crystal", 0, "real_space_b"], None), "$.crystal[0].real_space_b: expected a list of 3, found null"),
]


@pytest.mark.parametrize("change, message", BAD, ids=[m[:50] for _, m in BAD])
def test_bad_files_name_the_file_and_the_key(tmp_path, change, message):
    path = _write(tmp_path, change(_fixture()), "bad.expt")
    with pytest.raises(InputError) as info:
        read_experiment_list(path)
    assert message in str(info.value)
    assert str(info.value).startswith(path + ": ")


def test_unreadable_and_non_json_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_experiment_list(tmp_path / "absent.expt")
    path = tmp_path / "broken.expt"
    path.write_text('{"__id__": "ExperimentList",\n "experiment": [}\n')
    with pytest.raises(InputError, match=r"broken.expt, line 2: not valid JSON"):
        read_experiment_list(path)
    with pytest.raises(InputError, match="no experiment 1: the list has 1"):
        read_experiment(TWO_PANELS, 1)


def test_crystal_from_lab_axes_round_trips():
    axes_m = np.array([[3e-9, 0.1e-9, 0], [0, 4e-9, 0], [0.2e-9, 0, 5e-9]])
    crystal = ExptCrystal.from_real_axes_m(axes_m, mosaicity_deg=0.1)
    np.testing.assert_allclose(crystal.real_space_A, axes_m / 1e-10)
    np.testing.assert_allclose(crystal.A_per_A @ crystal.real_space_A, np.eye(3), atol=1e-15)


def test_dxtbx_reads_the_written_file(tmp_path):
    """dxtbx is not installed in this project's environment: this runs where it is."""
    model = pytest.importorskip("dxtbx.model")
    entry = read_experiment(TWO_PANELS)
    out = tmp_path / "written.expt"
    write_experiment_list(out, [entry])
    for path in (TWO_PANELS, out):
        experiments = model.ExperimentList.from_file(str(path), check_format=False)
        detector = experiments[0].detector
        for panel, ours in zip(detector, entry.detector):
            np.testing.assert_allclose(np.array(panel.get_origin()) * 1e-3, ours.origin_m, atol=1e-15)
            np.testing.assert_allclose(panel.get_fast_axis(), ours.fast_axis, atol=1e-15)
        np.testing.assert_allclose(experiments[0].beam.get_s0(), entry.beam.s0_per_A, rtol=1e-14)
        np.testing.assert_allclose(experiments[0].crystal.get_A(), entry.crystal_A_per_A().ravel(), atol=1e-15)
