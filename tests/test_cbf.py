"""miniCBF: fabio reads it, the Pilatus-style header states the models' geometry, and what it cannot state is refused."""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from format_models import convention_models, sweep, tilted_two_panel_models, unit
from format_reading import header_values, numbers
from xbragg.errors import InputError, OutputError
from xbragg.io.cbf import CBF_CONVENTION, write_cbf
from xbragg.models import Detector

fabio = pytest.importorskip("fabio")

SCAN = sweep(3, start_deg=-5.0, width_deg=0.25)[2]


def counts(detector, seed=0):
    return np.random.default_rng(seed).integers(-1, 100000, detector[0].shape)


def write(tmp_path, geometry="MOSFLM", image=None, **kw):
    beam, detector, gonio = convention_models(geometry)
    image = counts(detector) if image is None else image
    path = tmp_path / "image_0001.cbf"
    write_cbf(path, image, beam=beam, detector=detector, goniometer=gonio, scan=SCAN, **kw)
    return path, (beam, detector, gonio, image)


@pytest.mark.parametrize("geometry", ["MOSFLM", "XDS"])
def test_header_states_the_models(tmp_path, geometry):
    path, (beam, detector, _, image) = write(tmp_path, geometry, saturation=65000)
    img = fabio.open(str(path))
    assert img.header["_array_data.header_convention"] == CBF_CONVENTION
    h = header_values(img)
    panel = detector[0]
    assert numbers(h["Pixel_size"]) == pytest.approx([panel.pixel_size_m] * 2)
    assert numbers(h["Wavelength"])[0] == pytest.approx(beam.wavelength_m * 1e10)
    assert numbers(h["Detector_distance"])[0] == pytest.approx(0.1)
    assert numbers(h["Beam_xy"]) == pytest.approx([17.0, 13.0])       # 1.7 mm, 1.3 mm from the corner
    assert numbers(h["Start_angle"])[0] == pytest.approx(-4.5)
    assert numbers(h["Angle_increment"])[0] == pytest.approx(0.25)
    assert numbers(h["Exposure_time"])[0] == pytest.approx(beam.exposure_s)
    assert h["Silicon"].startswith("sensor, thickness") and numbers(h["Silicon"])[0] == pytest.approx(4.5e-4)
    assert numbers(h["Count_cutoff"])[0] == 65000
    np.testing.assert_array_equal(img.data, image)
    assert img.data.dtype == np.int32


@pytest.mark.parametrize("geometry", ["MOSFLM", "XDS"])
def test_header_geometry_as_dxtbx_builds_it(tmp_path, geometry):
    """dxtbx's miniCBF model (imgCIF: beam along -z, fast +x, slow -y, axis +x) matches the models up to a rotation."""
    path, (beam, detector, gonio, _) = write(tmp_path, geometry)
    h = header_values(fabio.open(str(path)))
    pixel_mm = numbers(h["Pixel_size"])[0] * 1e3
    distance_mm = numbers(h["Detector_distance"])[0] * 1e3
    bx, by = numbers(h["Beam_xy"])
    fast, slow = np.array([1.0, 0, 0]), np.array([0, -1.0, 0])
    origin = np.array([0, 0, -distance_mm]) - bx * pixel_mm * fast - by * pixel_mm * slow
    beam_dxtbx, axis_dxtbx = np.array([0, 0, -1.0]), np.array([1.0, 0, 0])
    panel = detector[0]
    for s, f in [(0, 0), (0, panel.fast_pixels - 1), (panel.slow_pixels - 1, 0), (11, 23)]:
        p_cbf = origin + (f + 0.5) * pixel_mm * fast + (s + 0.5) * pixel_mm * slow
        p_lab = panel.pixel_centres_m(s, f) * 1e3
        assert np.linalg.norm(p_cbf) == pytest.approx(np.linalg.norm(p_lab), abs=1e-6)
        assert p_cbf @ beam_dxtbx == pytest.approx(p_lab @ unit(beam.direction), abs=1e-6)
        assert p_cbf @ axis_dxtbx == pytest.approx(p_lab @ unit(gonio.rotation_axis), abs=1e-6)


def test_whole_float_image_is_written_as_counts(tmp_path):
    _, detector, _ = convention_models("XDS")
    floats = counts(detector, seed=3).astype(np.float64)
    path, _ = write(tmp_path, "XDS", image=floats)
    np.testing.assert_array_equal(fabio.open(str(path)).data, floats.astype(np.int32))


@pytest.mark.parametrize("geometry, message", [("DIALS", "rotation axis"), ("ADXV", "normal")])
def test_geometries_a_minicbf_cannot_state_point_at_nxmx(tmp_path, geometry, message):
    with pytest.raises(InputError, match=message) as info:
        write(tmp_path, geometry)
    assert "NXmx" in str(info.value)
    assert os.listdir(tmp_path) == []


def test_more_panels_curved_panels_and_fractions_are_refused(tmp_path):
    beam, detector, gonio = tilted_two_panel_models()
    with pytest.raises(InputError, match="one panel.*NXmx"):
        write_cbf(tmp_path / "a.cbf", counts(detector), beam=beam, detector=detector, goniometer=gonio, scan=SCAN)
    beam, detector, gonio = convention_models("MOSFLM")
    curved = Detector((dataclasses.replace(detector[0], curve_radius_m=0.1),))
    with pytest.raises(InputError, match="curved.*NXmx"):
        write_cbf(tmp_path / "b.cbf", counts(detector), beam=beam, detector=curved, goniometer=gonio, scan=SCAN)
    with pytest.raises(InputError, match="fractional"):
        write(tmp_path, image=np.full(detector[0].shape, 0.5))
    assert os.listdir(tmp_path) == []


def test_output_is_atomic_and_never_an_input(tmp_path):
    path, _ = write(tmp_path)
    before = path.read_bytes()
    with pytest.raises(OutputError, match="input"):
        write(tmp_path, inputs=[str(path)])
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]
