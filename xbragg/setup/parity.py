"""Where xbragg's default image differs from what nanoBragg.c would draw, and the notes saying so.

Each known behaviour of the reference that xbragg does not follow by default
(docs/reference-behaviour.md) is detected here from the resolved set-up, so
that the command line can announce it in one line and name the switch that
reproduces it (``--c-parity``, or a narrower one).
"""
from __future__ import annotations

import numpy as np

from .detector import DetectorGeometry, build_detector, convention_pivot
from .options import SimulationOptions
from .sampling import PhiSchedule, ThicknessSampling

def carryover_changes_image(phi: PhiSchedule) -> bool:
    """True when the reference's phi carry-over changes the image: a step at exactly 0 beside a non-zero one."""
    angles = phi.angles_rad
    return bool(np.any(angles == 0.0) and np.any(angles != 0.0))


def _same_geometry(a: DetectorGeometry, b: DetectorGeometry) -> bool:
    return all(np.array_equal(getattr(a, name), getattr(b, name)) for name in ("pix0", "fdet", "sdet", "odet"))


def reference_notes(opts: SimulationOptions, detector: DetectorGeometry, thickness: ThicknessSampling,
                    phi: PhiSchedule, phi_carryover: bool) -> tuple[str, ...]:
    """One note (printed as ``note: ...``) per known reference behaviour that the image does not follow.

    ``opts`` are the options after the -img/-mask headers were applied; the other
    arguments are the resolved set-up.  Nothing is reported under ``opts.c_parity``,
    which reproduces all of them.
    """
    if opts.c_parity:
        return ()
    notes = []
    if not phi_carryover and carryover_changes_image(phi):
        notes.append(f"phi starts at exactly 0 among {phi.phisteps} steps: the reference reuses the "
                     "previous pixel's last rotation there (phi carry-over); --phi-carryover or --c-parity "
                     "reproduces it")
    convention = detector.convention
    if (opts.pivot is not None and convention != "CUSTOM"
            and opts.pivot.lower() != convention_pivot(convention)):
        theirs = build_detector(opts.updated(pivot=None))
        if not _same_geometry(detector, theirs):
            notes.append(f"-pivot {opts.pivot.lower()} with the {convention} convention: the reference "
                         f"ignores -pivot there and pivots about the {convention_pivot(convention)}, "
                         "placing the detector elsewhere; --c-parity reproduces it")
    if opts.oversample_thick and thickness.thick_m == 0.0:
        notes.append(f"-oversample_thick without a sensor thickness: xbragg takes the capture fraction "
                     "as 1, the reference computes exp(0) - exp(0) = 0 and would draw an all-zero image here; "
                     "--c-parity reproduces it")
    return tuple(notes)
