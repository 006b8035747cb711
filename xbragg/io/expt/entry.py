"""One experiment of an experiment list: xbragg's models plus what of dxtbx's they do not hold."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from xbragg.models import Beam, Detector, Goniometer, Scan

MM = 1e-3
ANGSTROM = 1e-10
#: dxtbx's tolerance for perpendicular fast and slow axes (set_local_frame, virtual_panel.h)
PERPENDICULAR_EPS = 1e-7
#: Hall symbol written when the space group is not known: P 1 (as cctbx spells it)
DEFAULT_HALL_SYMBOL = " P 1"


@dataclass(frozen=True)
class ExptCrystal:
    """A crystal of an experiment list, as the file gives it (dxtbx ``Crystal``).

    ``real_space_A`` (3, 3): rows a, b, c in Angstrom, in the frame of the goniometer's
    datum (before the fixed and setting rotations: :meth:`ExptEntry.crystal_real_axes_m`
    gives the lab frame).  ``space_group_hall_symbol``: kept as text.  Mosaic models, when
    the file has one: ``mosaicity_deg`` (``MosaicCrystalKabsch2010``), or
    ``half_mosaicity_deg`` with ``domain_size_A`` (``MosaicCrystalSauter2014``).
    """

    real_space_A: np.ndarray
    space_group_hall_symbol: str = DEFAULT_HALL_SYMBOL
    mosaicity_deg: float | None = None
    half_mosaicity_deg: float | None = None
    domain_size_A: float | None = None

    @classmethod
    def from_real_axes_m(cls, real_axes_m, space_group_hall_symbol: str = DEFAULT_HALL_SYMBOL,
                         **mosaic: float | None) -> ExptCrystal:
        """A crystal from lab-frame axes at spindle angle zero (rows a, b, c in metres, (3, 3))."""
        return cls(np.asarray(real_axes_m, dtype=np.float64) / ANGSTROM, space_group_hall_symbol, **mosaic)

    @property
    def A_per_A(self) -> np.ndarray:
        """dxtbx's A (1/Angstrom, columns a*, b*, c*) in the file's frame: the inverse of the rows a, b, c."""
        return np.linalg.inv(self.real_space_A)


@dataclass(frozen=True)
class ExptEntry:
    """One experiment of an experiment list, in xbragg's models (SI units).

    - ``beam``: a single source along the beam; its ``fluence`` is the reader's
      ``fluence`` argument (a ``.expt`` has flux and exposure time but no beam size);
      ``exposure_s`` is the scan's exposure time of the first image;
    - ``detector``: every panel in the lab frame, the hierarchy composed;
    - ``goniometer``: the lab-frame spindle axis, ``setting_rotation @ rotation_axis``;
      ``None`` for stills;
    - ``scan``: the first image of ``image_range`` (start and width of its oscillation,
      sampled in one step: callers choose the sampling); ``None`` without a scan;
    - ``crystal``: as in the file (see :class:`ExptCrystal`), ``None`` without one;
    - ``fixed_rotation``, ``setting_rotation`` (3, 3): dxtbx's F and S, kept so that the
      crystal and the datum axis can be written back as they were;
    - ``identifier``, ``template`` (the imageset's template or first image path);
    - ``warnings``: what the file holds that the models leave out, each naming its key.
    """

    beam: Beam
    detector: Detector
    goniometer: Goniometer | None = None
    scan: Scan | None = None
    crystal: ExptCrystal | None = None
    image_range: tuple[int, int] | None = None
    fixed_rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    setting_rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    identifier: str = ""
    template: str | None = None
    warnings: tuple[str, ...] = ()

    def _crystal(self) -> ExptCrystal:
        if self.crystal is None:
            raise ValueError("this experiment has no crystal")
        return self.crystal

    def crystal_A_per_A(self) -> np.ndarray:
        """A = U B (1/Angstrom, columns a*, b*, c*) in the lab frame at spindle angle zero: S F A."""
        return self.setting_rotation @ self.fixed_rotation @ self._crystal().A_per_A

    def crystal_real_axes_m(self) -> np.ndarray:
        """Real axes (rows a, b, c, metres) in the lab frame at spindle angle zero, (3, 3)."""
        return (self._crystal().real_space_A @ (self.setting_rotation @ self.fixed_rotation).T) * ANGSTROM

    def crystal_cell_A_deg(self) -> tuple[float, float, float, float, float, float]:
        """Cell (a, b, c in Angstrom, alpha, beta, gamma in degrees) of the crystal's real axes."""
        a, b, c = self._crystal().real_space_A
        la, lb, lc = (math.sqrt(float(v @ v)) for v in (a, b, c))

        def angle(u, v, lu, lv):
            return math.degrees(math.acos(max(-1.0, min(1.0, float(u @ v) / (lu * lv)))))
        return (la, lb, lc, angle(b, c, lb, lc), angle(a, c, la, lc), angle(a, b, la, lb))

