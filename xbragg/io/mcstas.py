"""xbragg's lab frame to the McStas frame NeXus files are written in.

NeXus (NXmx) places everything in the McStas frame: z along the beam, y up, x = y x z
(``nexusformat/definitions``, ``base_classes/NXtransformations.nxdl.xml``, and the
manual's "Coordinate systems" page).  xbragg's lab frame is whatever the convention made
it (MOSFLM has the beam along +x, XDS along +z, ...), so writing NeXus is a rotation: z is
the beam direction, and "up" has to be chosen.

Any rotation about the beam gives the same diffraction geometry; what the choice decides
is where the readers believe the polarization is.  DIALS reads no polarization from NXmx
and assumes a beam polarized horizontally, along McStas x (dxtbx's default polarization
normal is imgCIF y = McStas y; ``cctbx/dxtbx``, ``src/dxtbx/nexus/__init__.py`` builds
the beam with nothing but its direction and wavelength).  So "up" is taken perpendicular
to the beam and to the beam's polarization axis, which then lies along McStas x, as it
does at a synchrotron; of the two such directions the one against the first panel's slow
axis is taken, so that image rows run downwards as on a real detector.  When the
polarization axis lies along the beam, "up" is minus the slow axis (made perpendicular
to the beam).  A caller can impose "up" instead.
"""
from __future__ import annotations

import numpy as np

from xbragg.errors import InputError
from xbragg.kernel.vectors import unit3

__all__ = ["mcstas_rotation"]

# cross products shorter than this (unit vectors) count as parallel
_PARALLEL = 1e-9


def _unit(v: np.ndarray) -> np.ndarray:
    return unit3(np.asarray(v, dtype=np.float64), xp=np)[0]


def _perpendicular(v: np.ndarray, z: np.ndarray) -> np.ndarray | None:
    """The part of ``v`` perpendicular to the unit vector ``z``, normalised; ``None`` if nothing is left."""
    p = np.asarray(v, dtype=np.float64) - float(np.asarray(v, dtype=np.float64) @ z) * z
    length = np.sqrt(float(p @ p))
    return p / length if length > _PARALLEL else None


def mcstas_rotation(beam_direction, polarization_axis, slow_axis, up=None) -> np.ndarray:
    """The rotation (3, 3) taking xbragg lab vectors to the McStas frame: ``v_mcstas = Q @ v_lab``.

    ``beam_direction``: (3,) direction the beam travels (becomes McStas z);
    ``polarization_axis``: (3,) the beam's polarization axis (becomes McStas +-x);
    ``slow_axis``: (3,) the first panel's slow axis (decides the sign of y: rows run down);
    ``up``: (3,) lab vector to use as McStas y instead (its part perpendicular to the beam).
    Rows of ``Q`` are McStas x, y, z written in the lab frame.  :class:`InputError` for a
    zero beam direction or an ``up`` along the beam.
    """
    beam = np.asarray(beam_direction, dtype=np.float64)
    if not np.sqrt(float(beam @ beam)) > 0.0:
        raise InputError("the beam direction is the zero vector: no McStas frame")
    z = _unit(beam)
    if up is not None:
        y = _perpendicular(up, z)
        if y is None:
            raise InputError(f"up={list(np.asarray(up, dtype=float))} lies along the beam: "
                             "it cannot be the McStas y axis")
    else:
        slow = np.asarray(slow_axis, dtype=np.float64)
        y = _perpendicular(np.cross(z, np.asarray(polarization_axis, dtype=np.float64)), z)
        if y is None:
            y = _perpendicular(-slow, z)
        elif float(y @ slow) > 0.0:
            y = -y
        if y is None:           # slow axis along the beam too: any perpendicular will do
            y = _perpendicular(np.eye(3)[int(np.argmin(np.abs(z)))], z)
    x = np.cross(y, z)
    return np.stack([x, y, z])
