"""The continuous parameters of an experiment, as arrays in convenient units: the nanoBragg
recipe's (:class:`Parameters`) or panel by panel (:class:`PanelParameters`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..constants import RTD

#: units of each field, for reports and docs
UNITS = {
    "a_A": "A", "b_A": "A", "c_A": "A", "alpha_deg": "deg", "beta_deg": "deg", "gamma_deg": "deg",
    "misset_x_deg": "deg", "misset_y_deg": "deg", "misset_z_deg": "deg", "phi0_deg": "deg",
    "distance_mm": "mm", "beam_x_mm": "mm", "beam_y_mm": "mm", "rotx_deg": "deg", "roty_deg": "deg",
    "rotz_deg": "deg", "twotheta_deg": "deg", "wavelength_A": "A", "fluence": "photons/m^2",
    "panel_shift_mm": "mm",
}


class _ParameterSet:
    """What every parameter set does: its field names, arrays made from an experiment, copies."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Field names, in declaration order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_experiment(cls, exp, *, xp=None, dtype=None, device=None,
                        requires_grad: bool | tuple[str, ...] = False):
        """The experiment's parameters as arrays of ``xp`` (default PyTorch), float64 by default.

        ``requires_grad``: ``True`` for every field, or the names of the fields to track
        (PyTorch only).
        """
        if xp is None:
            import array_api_compat.torch as xp
        if dtype is None:
            dtype = xp.float64
        track = cls.names() if requires_grad is True else tuple(requires_grad or ())
        out = {}
        for name, v in cls.values_of(exp).items():
            arr = xp.asarray(v, dtype=dtype, device=device)
            if name in track:
                arr = arr.detach().requires_grad_(True)
            out[name] = arr
        return cls(**out)

    def replace(self, **changes):
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)

    def as_floats(self) -> dict:
        """Every field as Python numbers, for printing (an array field as nested lists; converts at the edge)."""
        def plain(x):
            x = x.detach().cpu() if hasattr(x, "detach") else x
            return float(x) if x.ndim == 0 else np.asarray(x).tolist()
        return {name: plain(getattr(self, name)) for name in self.names()}


@dataclass(frozen=True)
class _CrystalParameters(_ParameterSet):
    """The fields every parameter set starts with: cell, misset and phi0 (see :class:`Parameters`)."""

    a_A: Any
    b_A: Any
    c_A: Any
    alpha_deg: Any
    beta_deg: Any
    gamma_deg: Any
    misset_x_deg: Any
    misset_y_deg: Any
    misset_z_deg: Any
    phi0_deg: Any


@dataclass(frozen=True)
class Parameters(_CrystalParameters):
    """Continuous parameters of an :class:`~xbragg.setup.experiment.Experiment`, 0-d arrays.

    Units are chosen so that a step of about 1e-6 is a small, meaningful change (the
    default step of ``torch.autograd.gradcheck``): cell lengths and wavelength in
    Angstrom, angles in degrees, distance and beam centre in mm; ``fluence`` stays in
    photons/m^2 (the image is linear in it).

    - ``a_A`` ... ``gamma_deg``: unit cell as given to ``-cell`` (the vectors are built
      from it as the reference does); for ``-mat`` crystals, the cell the matrix implies,
      with the matrix kept as a constant map applied before the misset;
    - ``misset_*_deg``: misset rotations about x, then y, then z (reference ``-misset``);
    - ``phi0_deg``: spindle angle of the first phi step (the step size stays fixed);
    - ``distance_mm``: distance along the beam before the detector rotations (with a
      SAMPLE pivot the near-point distance is this times the beam/normal cosine, as the
      reference derives it from ``-distance``);
    - ``beam_x_mm``, ``beam_y_mm``: with a BEAM pivot, ``-Xbeam``/``-Ybeam`` of the
      detector convention (MOSFLM's half-pixel offset and axis swap applied); with a
      SAMPLE pivot, the near point along fast and slow before the rotations
      (``-Xclose``/``-Yclose``, which CUSTOM takes from ``-Xbeam``/``-Ybeam``);
    - ``rotx_deg``, ``roty_deg``, ``rotz_deg``, ``twotheta_deg``: detector rotations;
    - ``wavelength_A``: central wavelength; every source keeps its ratio to it
      (dispersion offsets, source-file spectra);
    - ``fluence``: photons per m^2.
    """

    distance_mm: Any
    beam_x_mm: Any
    beam_y_mm: Any
    rotx_deg: Any
    roty_deg: Any
    rotz_deg: Any
    twotheta_deg: Any
    wavelength_A: Any
    fluence: Any

    @classmethod
    def values_of(cls, exp) -> dict[str, float]:
        """The experiment's own parameter values, as Python floats."""
        det = nanobragg_setup(exp)
        beam_x, beam_y = det.close0_fs_m if det.pivot == "sample" else det.beam_xy_m
        return dict(
            _crystal_and_beam_values(exp), distance_mm=det.distance0_m * 1000.0,
            beam_x_mm=beam_x * 1000.0, beam_y_mm=beam_y * 1000.0, rotx_deg=det.rotx_rad * RTD,
            roty_deg=det.roty_rad * RTD, rotz_deg=det.rotz_rad * RTD, twotheta_deg=det.twotheta_rad * RTD)


@dataclass(frozen=True)
class PanelParameters(_CrystalParameters):
    """Continuous parameters of an experiment whose detector moves panel by panel.

    For any :class:`~xbragg.setup.experiment.Experiment`, and the parameters of one placed
    by a DIALS experiment list (``-expt``, :func:`xbragg.from_expt`), where no nanoBragg
    recipe places the detector.  The crystal, phi, wavelength and fluence fields are those
    of :class:`Parameters` (an experiment list's crystal is kept as the cell its axes imply
    and a constant orientation, as a ``-mat`` crystal is; its misset starts at zero);
    ``panel_shift_mm`` (panels, 3) moves each panel's origin along that panel's own fast,
    slow and normal axes (mm, zero at the experiment's placement), the panels keeping their
    orientation, as DIALS's panel refinement shifts panels.
    """

    wavelength_A: Any
    fluence: Any
    panel_shift_mm: Any

    @classmethod
    def values_of(cls, exp) -> dict[str, Any]:
        """The experiment's own values: Python floats, and zeros for ``panel_shift_mm``."""
        return dict(_crystal_and_beam_values(exp), panel_shift_mm=[[0.0] * 3 for _ in exp.detector])


def _crystal_and_beam_values(exp) -> dict[str, float]:
    """The crystal, phi, wavelength and fluence values every parameter set shares."""
    cr = exp.crystal
    misset = cr.misset_deg if cr.misset_deg is not None else (0.0, 0.0, 0.0)
    # the -cell values (the reference's construction does not return exactly these
    # angles for oblique cells, so the derived cell_A_deg would not rebuild the vectors)
    a, b, c, alpha, beta, gamma = cr.cell_input_A_deg or cr.cell_A_deg
    return dict(a_A=a, b_A=b, c_A=c, alpha_deg=alpha, beta_deg=beta, gamma_deg=gamma,
                misset_x_deg=misset[0], misset_y_deg=misset[1], misset_z_deg=misset[2],
                phi0_deg=exp.scan.phi0_rad * RTD, wavelength_A=exp.beam.wavelength_m * 1e10,
                fluence=exp.beam.fluence)




def nanobragg_setup(exp):
    """The experiment's :class:`~xbragg.setup.detector.DetectorSetup`, which the detector parameters start from."""
    if exp.detector_setup is None:
        raise ValueError("the differentiable model's detector parameters need a detector placed by the "
                         "nanoBragg flags (Experiment.detector_setup is None); use PanelParameters, which "
                         "move the panels of any detector")
    return exp.detector_setup
