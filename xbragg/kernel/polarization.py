"""Polarization factor of the scattered beam (reference ``polarization_factor``)."""
from __future__ import annotations

from ..backends import kernel_namespace_of
from .vectors import cross3, dot3, unit3


def polarization_factor(incident, diffracted, axis, *, kahn_factor: float, xp=None):
    """Kahn polarization correction 0.5*(1 + cos^2(2theta) - K cos(2 psi) sin^2(2theta)).

    incident: (N, 3) unit vectors of the incident beams; diffracted: (..., 1, 3)
    broadcastable against them; axis: (3,) the E-vector (polarization) axis.
    Returns the broadcast shape without the last axis.
    """
    xp = kernel_namespace_of(incident, diffracted, axis) if xp is None else xp
    cos2theta = dot3(incident, diffracted)
    cos2theta_sqr = cos2theta * cos2theta
    sin2theta_sqr = 1.0 - cos2theta_sqr
    if kahn_factor == 0.0:
        return 0.5 * (1.0 + cos2theta_sqr - 0.0 * sin2theta_sqr)
    B_in = unit3(cross3(xp.broadcast_to(axis, incident.shape), incident, xp=xp), xp=xp)[0]
    E_in = unit3(cross3(incident, B_in, xp=xp), xp=xp)[0]
    E_out = dot3(diffracted, E_in)
    B_out = dot3(diffracted, B_in)
    psi = -xp.atan2(B_out, E_out)
    return 0.5 * (1.0 + cos2theta_sqr - kahn_factor * xp.cos(2.0 * psi) * sin2theta_sqr)
