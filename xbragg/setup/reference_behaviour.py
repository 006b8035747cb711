"""Which known nanoBragg.c behaviours a set of options triggers (docs/reference-behaviour.md).

xbragg draws the physically sensible image by default; where the reference would draw
something else for the same flags, :func:`reference_behaviours` names the behaviour, says
why it applies and which switch makes xbragg reproduce it.  ``xbragg compare`` prints these
items next to its verdict; the command line prints the :attr:`ReferenceBehaviour.note` of
each one the options do not reproduce.

The checks are conservative: an item is listed whenever the flags can change the
reference's image that way (for instance phi carry-over is listed for any schedule with a
step at exactly 0 and a non-zero step, even if a one-pixel render makes a single pass).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import RTD
from ..errors import InputError
from ..models import Scan, Sensor
from .detector import NanoBraggDetector, build_detector, convention_pivot
from .options import SimulationOptions
from .sampling import phi_schedule

__all__ = ["C_PARITY_SWITCH", "ReferenceBehaviour", "detect_behaviours", "reference_behaviours"]

#: the command-line switch that reproduces every known reference behaviour at once
C_PARITY_SWITCH = "--c-parity"


@dataclass(frozen=True)
class ReferenceBehaviour:
    """One known behaviour of nanoBragg.c that the options trigger.

    ``name``: short identifier (``phi-carryover``, ``pivot-ignored``, ``zero-capture``);
    ``explanation``: one sentence, what the reference does here and why it applies;
    ``switch``: the command-line switch(es) that make xbragg reproduce it;
    ``reproduced``: whether the options already ask xbragg to reproduce it.
    """

    name: str
    explanation: str
    switch: str
    reproduced: bool = False

    @property
    def note(self) -> str:
        """The command line's one-line note (printed as ``note: ...``)."""
        return f"{self.explanation}; {self.switch} reproduces it"


def reference_behaviours(opts: SimulationOptions) -> list[ReferenceBehaviour]:
    """The known reference behaviours that ``opts`` trigger, in a fixed order.

    ``opts`` should have its ``-img``/``-mask`` header values filled in already
    (:func:`xbragg.setup.experiment.resolve_headers`), since a header can set -phi.  Reads no
    file and builds only the detector and the phi and sensor schedules (see
    :func:`detect_behaviours` for the resolved set-up).  Raises
    :class:`~xbragg.errors.InputError` where those cannot be built (the render would too).
    """
    detector = build_detector(opts)
    return detect_behaviours(opts, detector, phi_schedule(opts))


def detect_behaviours(opts: SimulationOptions, detector: NanoBraggDetector | None,
                      phi: Scan) -> list[ReferenceBehaviour]:
    """The known reference behaviours of a resolved set-up (``opts`` after the headers were applied).

    An item is ``reproduced`` when the options ask xbragg to draw what the reference
    draws (``c_parity``, or ``phi_carryover`` for the carry-over).
    """
    if detector is None:        # placed by an experiment list: no convention, no pivot
        found = [_phi_carryover(opts, phi)]
    else:
        found = [_phi_carryover(opts, phi), _pivot_ignored(opts, detector), _zero_capture(opts, detector.panel.sensor)]
    return [item for item in found if item is not None]


def _phi_carryover(opts: SimulationOptions, phi: Scan) -> ReferenceBehaviour | None:
    # nanoBragg.c's phi loop re-rotates the cell only `if( phi != 0.0 )`: a step at exactly 0
    # reuses the rotation left by the previous step, or by the previous pixel's last step
    angles = phi.angles_rad
    zero = angles == 0.0
    if not (zero.any() and (~zero).any()):
        return None
    if zero[0]:
        why = f"-phi starts at 0 with {phi.phisteps} phi steps"
    else:
        why = (f"phi step {int(np.argmax(zero)) + 1} of {phi.phisteps} is at exactly 0 "
               f"(from {phi.phi0_rad * RTD:g} deg in steps of {phi.phistep_rad * RTD:g} deg)")
    return ReferenceBehaviour(
        name="phi-carryover",
        explanation=("the reference re-rotates the crystal only at phi != 0, so a step at exactly "
                     f"phi = 0 reuses the previous rotation (phi carry-over), and {why}"),
        switch=f"{C_PARITY_SWITCH} (or --phi-carryover)",
        reproduced=opts.phi_carryover or opts.c_parity)


def _pivot_ignored(opts: SimulationOptions, detector: NanoBraggDetector) -> ReferenceBehaviour | None:
    # nanoBragg.c sets detector_pivot again in each named convention's set-up block, after
    # the flags are read, so -pivot only counts for CUSTOM; xbragg honours it
    convention = detector.setup.convention
    if (opts.pivot is None or convention == "CUSTOM"
            or opts.pivot.lower() == convention_pivot(convention)):
        return None
    try:
        theirs = build_detector(opts.updated(pivot=None))
    except InputError:
        theirs = None       # degenerate there (-twotheta 90 about the beam spot): surely different
    if theirs is not None and all(np.array_equal(getattr(detector.panel, name), getattr(theirs.panel, name))
                                  for name in ("origin_m", "fast_axis", "slow_axis", "normal")):
        return None
    spot = "sample" if convention_pivot(convention) == "sample" else "beam spot"
    return ReferenceBehaviour(
        name="pivot-ignored",
        explanation=(f"the reference ignores -pivot {opts.pivot.lower()} with the {convention} convention "
                     f"and pivots about the {spot}, which places the detector differently here"),
        switch=C_PARITY_SWITCH,
        reproduced=opts.c_parity)


def _zero_capture(opts: SimulationOptions, sensor: Sensor) -> ReferenceBehaviour | None:
    # nanoBragg.c computes the capture fraction exp(-i*step*mu/parallax) - exp(-(i+1)*...)
    # at every sub-pixel under -oversample_thick, also with no sensor (step 0): exp(0) - exp(0)
    if not opts.oversample_thick or sensor.thick_m != 0.0:
        return None
    return ReferenceBehaviour(
        name="zero-capture",
        explanation=("with -oversample_thick and no sensor thickness the reference's capture fraction "
                     "is exp(0) - exp(0) = 0 and it would draw an all-zero image here (xbragg takes 1: "
                     "no sensor)"),
        switch=C_PARITY_SWITCH,
        reproduced=opts.c_parity)
