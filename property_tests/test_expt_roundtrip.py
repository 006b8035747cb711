"""Experiment lists round trip: read(write(models)) gives every model field back to 1e-12.

Geometries are drawn at random: several panels with arbitrary orthonormal axes,
wavelengths, polarizations, rotation axes, fixed and setting rotations, scans and cells.
Each float is compared to 1e-12 of the magnitude of its field (a vector's largest
component); spindle angles to 1e-12 of the largest angle of the scan, since the file
stores the angle of every image (dxtbx's ``properties.oscillation``).
"""
from __future__ import annotations

import dataclasses
import math
import os
import tempfile

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from xbragg.io.expt import ExptCrystal, ExptEntry, read_experiment_list, write_experiment_list
from xbragg.models import Beam, Detector, Goniometer, Panel, Scan, Sensor, Sources

TOL = 1e-12
#: fields bounded by 1 in magnitude, compared to TOL absolute
UNIT_SCALE = {"kahn_factor": 1.0}
finite = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def rotations(draw) -> np.ndarray:
    """A rotation matrix from a random unit quaternion."""
    q = np.array(draw(st.tuples(finite, finite, finite, finite)))
    norm = math.sqrt(float(q @ q))
    assume(norm > 0.1)
    w, x, y, z = q / norm
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


@st.composite
def beams(draw, exposure: bool) -> Beam:
    frame = draw(rotations())
    direction, axis = frame[:, 0], frame[:, 1]        # unit, perpendicular
    wavelength = draw(st.floats(0.2e-10, 5e-10))
    distance = draw(st.floats(0.05, 100.0))
    sources = Sources(direction=-direction[None, :], wavelength_m=np.array([wavelength]), weight=np.array([1.0]),
                      raw_position=-direction[None, :] * distance, divsteps=1, hdivrange_rad=0.0,
                      hdivstep_rad=0.0, hdivsteps=1, vdivrange_rad=0.0, vdivstep_rad=0.0, vdivsteps=1,
                      dispersion=0.0, dispstep=0.0, dispsteps=1)
    return Beam(direction=direction, wavelength_m=wavelength, polarization_axis=axis,
                kahn_factor=draw(st.floats(-1.0, 1.0)), polarization_correction=True, sources=sources,
                fluence=1e24, flux=draw(st.floats(0.0, 1e15)),
                exposure_s=draw(st.floats(0.0, 100.0)) if exposure else 0.0)


@st.composite
def panels(draw) -> Panel:
    frame = draw(rotations())
    fast, slow = frame[:, 0], frame[:, 1]
    origin = np.array(draw(st.tuples(finite, finite, finite)))
    normal = np.cross(fast, slow)
    along = float(origin @ normal)
    assume(abs(along) > 1e-6)
    thick = draw(st.sampled_from([0.0, draw(st.floats(1e-6, 2e-3))]))
    mu = draw(st.floats(1.0, 1e5)) if thick > 0 else 0.0
    return Panel(origin_m=origin, fast_axis=fast, slow_axis=slow, normal=normal if along > 0 else -normal,
                 pixel_size_m=draw(st.floats(5e-6, 2e-3)), fast_pixels=draw(st.integers(1, 5000)),
                 slow_pixels=draw(st.integers(1, 5000)),
                 sensor=Sensor(thick_m=thick, step_m=thick, steps=1, mu_per_m=mu, material=draw(names)),
                 name=draw(names))


@st.composite
def crystals(draw) -> ExptCrystal:
    cell = np.diag(draw(st.tuples(*[st.floats(3.0, 500.0)] * 3)))
    shear = np.triu(np.array(draw(st.tuples(*[st.floats(-0.4, 0.4)] * 9))).reshape(3, 3), 1)
    rows = (cell + shear * np.diag(cell)[:, None]) @ draw(rotations()).T
    mosaic = draw(st.sampled_from([{}, {"mosaicity_deg": 0.05},
                                   {"half_mosaicity_deg": 0.02, "domain_size_A": 2000.0}]))
    return ExptCrystal(rows, draw(st.sampled_from([" P 1", " P 2 2", "-P 4 2"])), **mosaic)


@st.composite
def entries(draw) -> ExptEntry:
    rotating = draw(st.booleans())
    first = draw(st.integers(0, 1000))
    image_range = (first, first + draw(st.integers(0, 40))) if rotating else None
    scan = goniometer = None
    fixed = setting = np.eye(3)
    if rotating:
        osc = math.radians(draw(st.floats(0.0, 5.0)))
        scan = Scan(phi0_rad=math.radians(draw(st.floats(-360.0, 360.0))), osc_rad=osc, phistep_rad=osc,
                    phisteps=1)
        goniometer = Goniometer(rotation_axis=draw(rotations())[:, 2])
        fixed, setting = draw(st.sampled_from([(np.eye(3), np.eye(3)), (draw(rotations()), draw(rotations()))]))
    detector = Detector(tuple(draw(st.lists(panels(), min_size=1, max_size=4))))
    return ExptEntry(beam=draw(beams(exposure=rotating)), detector=detector,
                     goniometer=goniometer, scan=scan, crystal=draw(st.none() | crystals()), image_range=image_range,
                     fixed_rotation=fixed, setting_rotation=setting, identifier=draw(names),
                     template=draw(st.none() | names))


def assert_same(got, expected, where: str, scale: float | None = None) -> None:
    """Every field equal; floats to TOL of the field's magnitude (or of ``scale``)."""
    if dataclasses.is_dataclass(expected):
        assert type(got) is type(expected), where
        for f in dataclasses.fields(expected):
            field_scale = _angle_scale(expected) if isinstance(expected, Scan) else UNIT_SCALE.get(f.name)
            assert_same(getattr(got, f.name), getattr(expected, f.name), f"{where}.{f.name}", field_scale)
    elif isinstance(expected, (tuple, list)) and not isinstance(expected, str):
        assert len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same(g, e, f"{where}[{i}]", scale)
    elif isinstance(expected, (float, np.ndarray)) and not isinstance(expected, bool):
        e = np.asarray(expected, dtype=np.float64)
        size = scale if scale is not None else float(np.max(np.abs(e))) if e.size else 0.0
        np.testing.assert_allclose(got, e, rtol=0, atol=TOL * max(size, 1e-300), err_msg=where)
    else:
        assert got == expected, where


def _angle_scale(scan: Scan) -> float:
    return max(abs(scan.phi0_rad), abs(scan.osc_rad), 1e-3)


@given(st.lists(entries(), min_size=1, max_size=3))
def test_models_survive_a_write_and_a_read(written):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "round.expt")
        assert write_experiment_list(path, written) == []
        back = read_experiment_list(path, fluence=1e24)
    assert len(back) == len(written)
    for i, (got, expected) in enumerate(zip(back, written)):
        assert_same(got, expected, f"experiment {i}")
