"""Which known nanoBragg.c behaviours a set of options triggers (docs/reference-behaviour.md).

xbragg draws the physically sensible image by default; where the reference would draw
something else for the same flags, :func:`reference_behaviours` names the behaviour, says
why it applies and which switch makes xbragg reproduce it.  ``xbragg compare`` prints these
items next to its verdict; the command line's one-line notes can share them.

The checks are conservative: an item is listed whenever the flags can change the
reference's image that way (for instance phi carry-over is listed for any schedule with a
step at exactly 0 and a non-zero step, even if a one-pixel render makes a single pass).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..constants import RTD
from .detector import build_detector
from .options import SimulationOptions
from .sampling import phi_schedule, thickness_sampling

__all__ = ["C_PARITY_SWITCH", "ReferenceBehaviour", "reference_behaviours"]

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


def reference_behaviours(opts: SimulationOptions) -> list[ReferenceBehaviour]:
    """The known reference behaviours that ``opts`` trigger, in a fixed order.

    ``opts`` should have its ``-img``/``-mask`` header values filled in already
    (:func:`xbragg.setup.experiment.resolve_headers`), since a header can set -phi.  Reads no
    file and builds only the detector and the phi and sensor schedules.  Raises
    :class:`~xbragg.errors.InputError` where those cannot be built (the render would too).
    """
    found = [_phi_carryover(opts), _pivot_ignored(opts), _zero_capture(opts)]
    return [item for item in found if item is not None]


def _phi_carryover(opts: SimulationOptions) -> ReferenceBehaviour | None:
    # nanoBragg.c's phi loop re-rotates the cell only `if( phi != 0.0 )`: a step at exactly 0
    # reuses the rotation left by the previous step, or by the previous pixel's last step
    phi = phi_schedule((opts.phi_deg or 0.0) / RTD,
                       None if opts.osc_deg is None else opts.osc_deg / RTD,
                       None if opts.phistep_deg is None else opts.phistep_deg / RTD,
                       opts.phisteps)
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
        explanation=("the reference carries phi over between pixels (it re-rotates the crystal "
                     f"only at phi != 0, so a step at phi = 0 reuses the previous rotation) because {why}"),
        switch=f"{C_PARITY_SWITCH} (or --phi-carryover)",
        reproduced=opts.phi_carryover)


def _pivot_ignored(opts: SimulationOptions) -> ReferenceBehaviour | None:
    # nanoBragg.c sets detector_pivot again in each named convention's set-up block, after
    # the flags are read, so -pivot only counts for CUSTOM; xbragg honours it
    if opts.pivot is None or opts.convention.upper() == "CUSTOM":
        return None
    ours = build_detector(opts)
    ref = build_detector(opts.updated(pivot=None))
    if ours.pivot == ref.pivot or _same_geometry(ours, ref):
        return None
    return ReferenceBehaviour(
        name="pivot-ignored",
        explanation=(f"the reference ignores -pivot {ours.pivot} with the {ours.convention} convention "
                     f"and pivots about the {'sample' if ref.pivot == 'sample' else 'beam spot'}, "
                     "which places the detector differently here"),
        switch=C_PARITY_SWITCH)


def _same_geometry(a, b) -> bool:
    for f in fields(a):
        if f.name == "pivot":
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, str) or isinstance(y, str):
            if x != y:
                return False
        elif not np.array_equal(np.asarray(x, dtype=float), np.asarray(y, dtype=float), equal_nan=True):
            return False
    return True


def _zero_capture(opts: SimulationOptions) -> ReferenceBehaviour | None:
    # nanoBragg.c computes the capture fraction exp(-i*step*mu/parallax) - exp(-(i+1)*...)
    # at every sub-pixel under -oversample_thick, also with no sensor (step 0): exp(0) - exp(0)
    if not opts.oversample_thick or thickness_sampling(opts).thick_m != 0.0:
        return None
    return ReferenceBehaviour(
        name="zero-capture",
        explanation=("the reference's capture fraction is exp(0) - exp(0) = 0 with -oversample_thick "
                     "and no sensor thickness, so its image is all zero (xbragg takes 1: no sensor)"),
        switch=C_PARITY_SWITCH)
