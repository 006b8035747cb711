"""Polarization factor of the scattered beam (reference ``polarization_factor``)."""
from __future__ import annotations

from array_api_compat import array_namespace


def _cross(xp, x, y):
    return xp.stack([
        x[..., 1] * y[..., 2] - x[..., 2] * y[..., 1],
        x[..., 2] * y[..., 0] - x[..., 0] * y[..., 2],
        x[..., 0] * y[..., 1] - x[..., 1] * y[..., 0],
    ], axis=-1)


def _unit(xp, v):
    n = xp.sqrt(v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1] + v[..., 2] * v[..., 2])
    safe = xp.where(n == 0.0, xp.ones_like(n), n)
    return v / safe[..., None]


def polarization_factor(incident, diffracted, axis, *, kahn_factor: float):
    """Kahn polarization correction 0.5*(1 + cos^2(2theta) - K cos(2 psi) sin^2(2theta)).

    incident: (N, 3) unit vectors of the incident beams; diffracted: (..., 1, 3)
    broadcastable against them; axis: (3,) the E-vector (polarization) axis.
    Returns the broadcast shape without the last axis.
    """
    xp = array_namespace(incident, diffracted, axis)
    cos2theta = xp.sum(incident * diffracted, axis=-1)
    cos2theta_sqr = cos2theta * cos2theta
    sin2theta_sqr = 1.0 - cos2theta_sqr
    if kahn_factor == 0.0:
        return 0.5 * (1.0 + cos2theta_sqr - 0.0 * sin2theta_sqr)
    B_in = _unit(xp, _cross(xp, xp.broadcast_to(axis, incident.shape), incident))
    E_in = _unit(xp, _cross(xp, incident, B_in))
    E_out = xp.sum(diffracted * E_in, axis=-1)
    B_out = xp.sum(diffracted * B_in, axis=-1)
    psi = -xp.atan2(B_out, E_out)
    return 0.5 * (1.0 + cos2theta_sqr - kahn_factor * xp.cos(2.0 * psi) * sin2theta_sqr)
