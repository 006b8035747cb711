"""The incident beam: direction, wavelength, polarization, its sources and its fluence."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernel.vectors import cross3, unit3


@dataclass(frozen=True)
class Sources:
    """The beam as point sources (divergence x dispersion grid, or a source file): a spectrum.

    Source i sits along ``direction[i]`` (unit vector from the sample towards it: the
    incident direction is ``-direction[i]``) with wavelength ``wavelength_m[i]``;
    ``weight`` is carried for reports only (the reference does not weight intensities by
    it).  The divergence and dispersion grid that made them is kept for the summary.
    """

    direction: np.ndarray      # (n, 3) unit vectors sample -> source
    wavelength_m: np.ndarray   # (n,)
    weight: np.ndarray         # (n,)
    raw_position: np.ndarray   # (n, 3) before normalisation (m), for the printout
    divsteps: int
    hdivrange_rad: float
    hdivstep_rad: float
    hdivsteps: int
    vdivrange_rad: float
    vdivstep_rad: float
    vdivsteps: int
    dispersion: float
    dispstep: float
    dispsteps: int

    @property
    def count(self) -> int:
        """Number of sources."""
        return int(self.direction.shape[0])


@dataclass(frozen=True)
class Beam:
    """The incident beam (dxtbx ``Beam``), SI units.

    - ``direction``: (3,) unit vector along which the beam travels (dxtbx's ``direction``
      points the other way, towards the source);
    - ``wavelength_m``: central wavelength;
    - ``polarization_axis``: (3,) unit electric-field vector of the polarized part
      (nanoBragg's ``-polar_vector``); ``kahn_factor``: (I_par - I_perp) / (I_par + I_perp),
      0 unpolarized, 1 fully polarized along the axis (see :attr:`polarization_fraction`);
      ``polarization_correction``: False skips the correction altogether (``-nopolar``);
    - ``sources``: the point sources that sample divergence and dispersion (or a spectrum);
    - ``fluence``: photons per m^2 on the sample; ``flux`` (photons/s), ``exposure_s``
      and ``beamsize_m`` are what it was derived from (reports and headers).
    """

    direction: np.ndarray
    wavelength_m: float
    polarization_axis: np.ndarray
    kahn_factor: float
    polarization_correction: bool
    sources: Sources
    fluence: float
    flux: float = 0.0
    exposure_s: float = 0.0
    beamsize_m: float = 0.0

    @property
    def polarization_fraction(self) -> float:
        """dxtbx's polarization fraction: the share of intensity polarized along the axis, (1 + K) / 2."""
        return 0.5 * (1.0 + self.kahn_factor)

    @property
    def polarization_normal(self) -> np.ndarray:
        """dxtbx's polarization normal: the unit normal of the plane the axis and the beam span."""
        normal, _ = unit3(cross3(self.direction, self.polarization_axis, xp=np), xp=np)
        return normal

    @property
    def s0_per_A(self) -> np.ndarray:
        """dxtbx's s0 = direction / wavelength (1/A): the incident wave vector over 2 pi."""
        return self.direction / (self.wavelength_m * 1e10)
