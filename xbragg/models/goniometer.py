"""The rotation of the crystal during an exposure: the goniometer axis and the scan over it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import RTD


@dataclass(frozen=True)
class Goniometer:
    """A single rotation axis (dxtbx ``Goniometer``): ``rotation_axis`` (3,) unit vector, lab frame.

    Positive angles rotate the crystal right-handedly about the axis (nanoBragg's
    ``-spindle_axis``).
    """

    rotation_axis: np.ndarray


@dataclass(frozen=True)
class Scan:
    """The spindle angles of one image (dxtbx ``Scan`` of one image, with its sub-steps).

    The image integrates ``phisteps`` steps; step i is at ``phi0_rad + i*phistep_rad``.
    ``osc_rad`` is the oscillation width (the reference's ``-osc``), which the steps sample.
    """

    phi0_rad: float
    osc_rad: float
    phistep_rad: float
    phisteps: int

    @property
    def oscillation_deg(self) -> tuple[float, float]:
        """dxtbx's ``oscillation``: (start, width) in degrees."""
        return (self.phi0_rad * RTD, self.osc_rad * RTD)

    @property
    def angles_rad(self) -> np.ndarray:
        """Angles of every step (rad), shape (phisteps,)."""
        return np.array([self.phi0_rad + self.phistep_rad * i for i in range(self.phisteps)])

    @property
    def carried_steps(self) -> list[int]:
        """For each step, the step whose rotation the reference's phi carry-over uses.

        The reference's phi loop (nanoBragg.c, main's pixel loop) re-rotates the cell
        only when phi != 0, so a step at exactly phi = 0 reuses the most recent
        rotation: that of the nearest non-zero step before it in the same pass, or,
        with none before it, the last non-zero step of the previous pass (itself when
        no step is non-zero).  The very first pass of a run differs: see
        :attr:`first_pass_steps`.
        """
        return self._reused_steps(wrap=True)

    @property
    def first_pass_steps(self) -> list[int]:
        """:attr:`carried_steps` for the first pass of a run, which has no previous pass.

        A zero step with no non-zero step before it keeps the cell the reference
        starts with, the unrotated one: the step's own (phi = 0) rotation.
        """
        return self._reused_steps(wrap=False)

    def _reused_steps(self, *, wrap: bool) -> list[int]:
        # one pass of the reference's loop: ``last`` is the step whose rotation is current
        angles = self.angles_rad
        nonzero = [i for i, a in enumerate(angles) if a != 0.0]
        last = nonzero[-1] if (wrap and nonzero) else None      # left by the previous pass
        steps = []
        for i, a in enumerate(angles):
            if a != 0.0:
                last = i
            steps.append(i if last is None else last)
        return steps
