"""Small experiment models for the file-format tests, built directly (no flags, no set-up)."""
from __future__ import annotations

import numpy as np

from xbragg.models import Beam, Detector, Goniometer, Panel, Scan, Sensor, Sources


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def sources(wavelengths_m=(1e-10,), weights=None) -> Sources:
    n = len(wavelengths_m)
    return Sources(direction=np.tile([-1.0, 0.0, 0.0], (n, 1)), wavelength_m=np.asarray(wavelengths_m, dtype=float),
                   weight=np.ones(n) if weights is None else np.asarray(weights, dtype=float),
                   raw_position=np.tile([-10.0, 0.0, 0.0], (n, 1)), divsteps=1, hdivrange_rad=0.0, hdivstep_rad=0.0,
                   hdivsteps=1, vdivrange_rad=0.0, vdivstep_rad=0.0, vdivsteps=1, dispersion=0.0, dispstep=0.0,
                   dispsteps=n)


def beam(direction, polarization, wavelength_m=1e-10, spectrum=None, exposure_s=0.1) -> Beam:
    """A beam along ``direction``; ``spectrum``: (wavelengths_m, weights) of several sources."""
    src = sources(*spectrum) if spectrum else sources((wavelength_m,))
    return Beam(direction=unit(direction), wavelength_m=wavelength_m, polarization_axis=unit(polarization),
                kahn_factor=0.0, polarization_correction=True, sources=src, fluence=1e24, flux=1e12,
                exposure_s=exposure_s, beamsize_m=1e-4)


def panel(origin_m, fast, slow, *, pixel_m=1e-4, fast_pixels=40, slow_pixels=30, thick_m=4.5e-4,
          material="Si", name="") -> Panel:
    f, s = unit(fast), unit(slow)
    return Panel(origin_m=np.asarray(origin_m, dtype=np.float64), fast_axis=f, slow_axis=s, normal=np.cross(f, s),
                 pixel_size_m=pixel_m, fast_pixels=fast_pixels, slow_pixels=slow_pixels,
                 sensor=Sensor(thick_m=thick_m, step_m=thick_m, steps=1, mu_per_m=1e3, material=material), name=name)


def facing_panel(beam_direction, fast, slow, *, distance_m=0.1, beam_fs_m=(1.7e-3, 1.3e-3), **kw) -> Panel:
    """A panel normal to the beam at ``distance_m``, the beam meeting it ``beam_fs_m`` from the first corner."""
    b = unit(beam_direction)
    return panel(distance_m * b - beam_fs_m[0] * unit(fast) - beam_fs_m[1] * unit(slow), fast, slow, **kw)


def sweep(n: int, start_deg: float = 10.0, width_deg: float = 0.5) -> list[Scan]:
    """``n`` consecutive images of a rotation sweep."""
    return [Scan(phi0_rad=np.radians(start_deg + i * width_deg), osc_rad=np.radians(width_deg),
                 phistep_rad=np.radians(width_deg), phisteps=1) for i in range(n)]


#: basis vectors (beam, fdet, sdet, polar, spindle) of the nanoBragg conventions (docs/conventions.md)
CONVENTIONS = {
    "MOSFLM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (0, 0, 1), (0, 0, 1)),
    "XDS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (1, 0, 0), (1, 0, 0)),
    "ADXV": ((0, 0, 1), (1, 0, 0), (0, -1, 0), (1, 0, 0), (1, 0, 0)),
    "DIALS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 1, 0), (0, 1, 0)),
}


def convention_models(name: str):
    """(beam, one-panel detector, goniometer) of convention ``name``, detector normal to the beam."""
    b, f, s, polar, spindle = CONVENTIONS[name]
    return beam(b, polar), Detector((facing_panel(b, f, s),)), Goniometer(unit(spindle))


def tilted_two_panel_models():
    """A MOSFLM-like beam with two panels of different sizes, origins and (tilted) axes."""
    rot = _rotation((0.3, -0.2, 0.5), np.radians(12.0))
    first = panel((0.1, 0.004, -0.006), (0, 0, 1), (0, -1, 0), fast_pixels=40, slow_pixels=30)
    second = panel((0.12, -0.01, 0.02), rot @ [0, 0, 1], rot @ [0, -1, 0], pixel_m=1.72e-4, fast_pixels=25,
                   slow_pixels=20)
    return beam((1, 0, 0), (0, 0, 1)), Detector((first, second)), Goniometer(unit((0.1, 0.2, 1.0)))


def _rotation(axis, angle) -> np.ndarray:
    k = unit(axis)
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K
