"""NeXus NXmx files: geometry read back from the file's transformations, with plain h5py and with nxmx."""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from format_models import convention_models, facing_panel, sweep, tilted_two_panel_models, beam as make_beam, unit
from format_reading import text, mcstas_of, modules, nxmx_pixel_centre_mm, pixel_centre_mm, probe_pixels
from xbragg.errors import InputError, OutputError
from xbragg.io.mcstas import mcstas_rotation
from xbragg.models import Detector, Goniometer

h5py = pytest.importorskip("h5py")
from xbragg.io.nexus import GAP_BIT, USER_MASK_BIT, write_nexus  # noqa: E402

GEOMETRIES = ["MOSFLM", "XDS", "DIALS", "ADXV", "two-panel"]


def models(name):
    return tilted_two_panel_models() if name == "two-panel" else convention_models(name)


def images_for(detector, frames, *, seed=0, integer=False):
    rng = np.random.default_rng(seed)
    if integer:
        return [rng.integers(0, 5000, (frames, *p.shape)) for p in detector]
    return [rng.random((frames, *p.shape)) * 100 for p in detector]


def write(tmp_path, name="sweep.nxs", *, geometry="MOSFLM", frames=3, **kw):
    beam, detector, gonio = models(geometry)
    images = kw.pop("images", None) or images_for(detector, frames)
    path = tmp_path / name
    write_nexus(path, images, beam=beam, detector=detector, goniometer=gonio, scans=sweep(frames), **kw)
    return path, (beam, detector, gonio, images)


# --- geometry --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_pixel_centres_from_the_file_transformations(tmp_path, geometry):
    path, (beam, detector, _, _) = write(tmp_path, geometry=geometry)
    Q = mcstas_of(beam, detector)
    with h5py.File(path, "r") as f:
        mods = modules(f)
        assert len(mods) == len(detector)
        for module, panel in zip(mods, detector):
            for s, fast in probe_pixels(panel):
                expected_mm = Q @ panel.pixel_centres_m(s, fast) * 1e3
                np.testing.assert_allclose(pixel_centre_mm(f, module, s, fast), expected_mm, rtol=0, atol=1e-6)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_geometry_invariants_need_no_frame_choice(tmp_path, geometry):
    """Angles between the beam, the rotation axis and the pixels do not depend on the lab-to-McStas rotation."""
    path, (beam, detector, gonio, _) = write(tmp_path, geometry=geometry)
    with h5py.File(path, "r") as f:
        axis_file = np.asarray(f["/entry/sample/transformations/omega"].attrs["vector"])
        for module, panel in zip(modules(f), detector):
            for s, fast in probe_pixels(panel):
                p_file = pixel_centre_mm(f, module, s, fast)
                p_lab = panel.pixel_centres_m(s, fast) * 1e3
                assert np.linalg.norm(p_file) == pytest.approx(np.linalg.norm(p_lab), abs=1e-6)
                # the beam is McStas +z in the file
                assert p_file[2] == pytest.approx(p_lab @ unit(beam.direction), abs=1e-6)
                assert p_file @ axis_file == pytest.approx(p_lab @ unit(gonio.rotation_axis), abs=1e-6)


@pytest.mark.parametrize("geometry", ["MOSFLM", "XDS", "DIALS"])
def test_mcstas_frame_beam_up_and_polarization(geometry):
    beam, detector, _ = convention_models(geometry)
    Q = mcstas_of(beam, detector)
    np.testing.assert_allclose(Q @ Q.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(Q) == pytest.approx(1.0)
    np.testing.assert_allclose(Q @ beam.direction, [0, 0, 1], atol=1e-12)
    # polarized horizontally: along McStas x, as DIALS assumes
    assert abs((Q @ beam.polarization_axis)[0]) == pytest.approx(1.0)
    assert (Q @ detector[0].slow_axis)[1] <= 0.0          # rows run downwards


@pytest.mark.parametrize("geometry, y, x", [("MOSFLM", (0, 1, 0), (0, 0, -1)), ("XDS", (0, -1, 0), (-1, 0, 0)),
                                             ("DIALS", (-1, 0, 0), (0, 1, 0))])
def test_mcstas_axes_of_the_conventions_as_documented(geometry, y, x):
    """The table in docs/formats.md."""
    beam, detector, _ = convention_models(geometry)
    Q = mcstas_of(beam, detector)
    np.testing.assert_allclose(Q[1], y, atol=1e-12)
    np.testing.assert_allclose(Q[0], x, atol=1e-12)


def test_up_vector_is_honoured_and_checked():
    beam, detector, _ = convention_models("MOSFLM")
    Q = mcstas_rotation(beam.direction, beam.polarization_axis, detector[0].slow_axis, up=(0.2, 0, 1))
    np.testing.assert_allclose(Q[1], [0, 0, 1], atol=1e-12)
    with pytest.raises(InputError, match="along the beam"):
        mcstas_rotation(beam.direction, beam.polarization_axis, detector[0].slow_axis, up=(2, 0, 0))


def test_beam_goniometer_and_scan(tmp_path):
    path, (beam, detector, gonio, _) = write(tmp_path, geometry="two-panel", frames=4)
    Q = mcstas_of(beam, detector)
    with h5py.File(path, "r") as f:
        assert text(f["/entry/definition"][()]) == "NXmx"
        wl = f["/entry/instrument/beam/incident_wavelength"]
        assert float(wl[()]) == pytest.approx(beam.wavelength_m * 1e10) and text(wl.attrs["units"]) == "angstrom"
        omega = f["/entry/sample/transformations/omega"]
        assert text(f["/entry/sample/depends_on"][()]) == omega.name
        np.testing.assert_allclose(omega.attrs["vector"], Q @ gonio.rotation_axis, atol=1e-12)
        np.testing.assert_allclose(omega[()], [10.0, 10.5, 11.0, 11.5], atol=1e-12)
        np.testing.assert_allclose(f["/entry/sample/transformations/omega_increment_set"][()], 0.5, atol=1e-12)
        np.testing.assert_allclose(f["/entry/sample/transformations/omega_end"][()], [10.5, 11.0, 11.5, 12.0])
        det = f["/entry/instrument/detector"]
        assert text(det["sensor_material"][()]) == "Si"
        assert float(det["sensor_thickness"][()]) == pytest.approx(0.45)
        assert float(det["frame_time"][()]) == pytest.approx(beam.exposure_s)


def test_spectrum_of_several_sources(tmp_path):
    _, detector, gonio = convention_models("XDS")
    beam = make_beam((0, 0, 1), (1, 0, 0), wavelength_m=1.0e-10,
                     spectrum=((0.99e-10, 1.0e-10, 1.0e-10, 1.01e-10), (1.0, 2.0, 1.0, 0.5)))
    path = tmp_path / "s.nxs"
    write_nexus(path, images_for(detector, 1), beam=beam, detector=detector, goniometer=gonio, scans=sweep(1))
    with h5py.File(path, "r") as f:
        b = f["/entry/instrument/beam"]
        assert text(b["incident_wavelength"].attrs["variant"]) == "incident_wavelength_spectrum"
        np.testing.assert_allclose(b["incident_wavelength_spectrum"][()], [0.99, 1.0, 1.01])
        np.testing.assert_allclose(b["incident_wavelength_spectrum_weights"][()], [1.0, 3.0, 0.5])


# --- data, mask, compression ----------------------------------------------------------------------------

def test_float_data_and_layout(tmp_path):
    path, (_, detector, _, images) = write(tmp_path, geometry="two-panel", frames=3)
    with h5py.File(path, "r") as f:
        data = f["/entry/data/data"]
        assert data.dtype == np.float32 and data.chunks == (1, *data.shape[1:]) and data.compression == "gzip"
        assert f["/entry/instrument/detector/data"] == data      # one dataset, linked
        mask = f["/entry/instrument/detector/pixel_mask"][()]
        for module, panel, stack in zip(modules(f), detector, images):
            (r0, c0), (rows, cols) = module["data_origin"][()], module["data_size"][()]
            assert (rows, cols) == panel.shape and c0 == 0
            np.testing.assert_array_equal(data[:, r0:r0 + rows, :cols], stack.astype(np.float32))
            assert not mask[r0:r0 + rows, :cols].any()
            assert (mask[r0:r0 + rows, cols:] == GAP_BIT).all()     # padding of the narrower panel


def test_counts_mask_and_saturation(tmp_path):
    _, detector, _ = convention_models("MOSFLM")
    ints = images_for(detector, 2, integer=True)
    user_mask = np.zeros(detector[0].shape, dtype=bool)
    user_mask[3, 4] = True
    path, _ = write(tmp_path, images=ints, frames=2, counts=True, saturation=60000, mask=user_mask)
    with h5py.File(path, "r") as f:
        data = f["/entry/data/data"]
        assert data.dtype == np.int32
        np.testing.assert_array_equal(data[()], ints[0])
        det = f["/entry/instrument/detector"]
        assert int(det["saturation_value"][()]) == 60000
        mask = det["pixel_mask"][()]
        assert mask[3, 4] == USER_MASK_BIT and mask.sum() == USER_MASK_BIT


def test_bitshuffle_lz4(tmp_path):
    hdf5plugin = pytest.importorskip("hdf5plugin")
    path, (_, _, _, images) = write(tmp_path, compression="bslz4")
    with h5py.File(path, "r") as f:
        assert str(hdf5plugin.BSHUF_ID) in f["/entry/data/data"]._filters
        np.testing.assert_array_equal(f["/entry/data/data"][()], images[0].astype(np.float32))


# --- the nxmx reader (what dxtbx uses) ------------------------------------------------------------------

@pytest.mark.parametrize("geometry", ["MOSFLM", "XDS", "two-panel"])
def test_read_with_nxmx(tmp_path, geometry):
    nxmx = pytest.importorskip("nxmx")
    path, (beam, detector, gonio, images) = write(tmp_path, geometry=geometry, frames=2)
    Q = mcstas_of(beam, detector)
    with h5py.File(path, "r") as f:
        entry = nxmx.NXmx(f).entries[0]
        assert entry.definition == "NXmx"
        nxdet = entry.instruments[0].detectors[0]
        assert nxdet.sensor_material == "Si"
        assert nxdet.sensor_thickness.to("mm").magnitude == pytest.approx(0.45)
        assert entry.instruments[0].beams[0].incident_wavelength.to("angstrom").magnitude == pytest.approx(1.0)
        for module, panel in zip(sorted(nxdet.modules, key=lambda m: m.path), detector):
            for s, fi in probe_pixels(panel):
                np.testing.assert_allclose(nxmx_pixel_centre_mm(nxmx, module, s, fi),
                                           Q @ panel.pixel_centres_m(s, fi) * 1e3, rtol=0, atol=1e-6)
        axes = nxmx.get_rotation_axes(nxmx.get_dependency_chain(entry.samples[0].depends_on))
        np.testing.assert_allclose(axes.axes[0], Q @ gonio.rotation_axis, atol=1e-12)
        assert list(axes.names) == ["omega"] and axes.is_scan_axis[0]
        omega = entry.samples[0].depends_on
        np.testing.assert_allclose(omega[()].to("deg").magnitude, [10.0, 10.5])
        # dxtbx takes each image's width from <axis>_end minus the start angle
        np.testing.assert_allclose(omega.end[()].to("deg").magnitude, [10.5, 11.0])
        data = entry.data[0]
        assert data.signal == "data"
        np.testing.assert_array_equal(data["data"][:, :detector[0].slow_pixels, :detector[0].fast_pixels],
                                      images[0].astype(np.float32))


# --- refusals and atomic writing ------------------------------------------------------------------------

def test_bad_input_is_refused(tmp_path):
    beam, detector, gonio = convention_models("MOSFLM")
    good = images_for(detector, 2)

    def attempt(images=good, scans=None, detector=detector, **kw):
        write_nexus(tmp_path / "x.nxs", images, beam=beam, detector=detector, goniometer=gonio,
                    scans=sweep(2) if scans is None else scans, **kw)

    with pytest.raises(InputError, match="shape"):
        attempt(images=[np.zeros((2, 3, 3))])
    with pytest.raises(InputError, match="one per image"):
        attempt(scans=sweep(3))
    with pytest.raises(InputError, match="whole numbers"):
        attempt(counts=True)
    with pytest.raises(InputError, match="compression"):
        attempt(compression="lzf")
    curved = Detector((dataclasses.replace(detector[0], curve_radius_m=0.1),))
    with pytest.raises(InputError, match="curved"):
        attempt(detector=curved)
    assert os.listdir(tmp_path) == []


def test_output_is_atomic_and_never_an_input(tmp_path):
    path, _ = write(tmp_path, frames=1)
    before = path.read_bytes()
    with pytest.raises(OutputError, match="input"):
        write(tmp_path, frames=1, inputs=[str(path)])
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["sweep.nxs"]       # no temporary file left


def test_panel_normal_along_axes_of_any_direction(tmp_path):
    """A panel whose axes are not along lab axes (a 'facing' panel of an oblique beam)."""
    direction = unit((0.3, -0.4, 0.86))
    fast = unit(np.cross(direction, (0, 0, 1)))
    slow = np.cross(direction, fast)
    beam = make_beam(direction, fast)
    detector = Detector((facing_panel(direction, fast, slow),))
    path = tmp_path / "o.nxs"
    write_nexus(path, images_for(detector, 1), beam=beam, detector=detector, goniometer=Goniometer(fast),
                scans=sweep(1))
    Q = mcstas_of(beam, detector)
    with h5py.File(path, "r") as f:
        module = modules(f)[0]
        for s, fi in probe_pixels(detector[0]):
            np.testing.assert_allclose(pixel_centre_mm(f, module, s, fi),
                                       Q @ detector[0].pixel_centres_m(s, fi) * 1e3, rtol=0, atol=1e-6)
