"""Sub-pixel positions, solid angle and sensor absorption (reference pixel loop)."""
from __future__ import annotations

from ..backends import kernel_namespace_of
from .vectors import rotate_axis


def subpixel_positions(spix, fpix, sub_index, layer_offset_m, *, subpixel_size_m: float,
                       oversample: int, fdet, sdet, odet, pix0, curve_radius_m=None, beam=None, xp=None):
    """Lab-frame positions (m) of every sub-pixel of every sensor layer.

    spix, fpix: (P,) pixel indices (integer arrays); sub_index: (S, 2) integer
    (subS, subF) pairs; layer_offset_m: (T,) depth of each sensor layer.
    ``curve_radius_m``: ``None`` for a flat panel, else the radius of a curved one (m),
    with ``beam`` (3,) the direction of its centre.  Returns (P, T, S, 3).
    """
    xp = kernel_namespace_of(fdet, layer_offset_m) if xp is None else xp
    dtype = fdet.dtype
    subS = xp.astype(sub_index[:, 0], dtype)
    subF = xp.astype(sub_index[:, 1], dtype)
    sp = xp.astype(spix, dtype)[:, None] * oversample + subS[None, :]
    fp = xp.astype(fpix, dtype)[:, None] * oversample + subF[None, :]
    Fdet = (subpixel_size_m * fp + subpixel_size_m / 2.0)[:, None, :]   # (P,1,S)
    Sdet = (subpixel_size_m * sp + subpixel_size_m / 2.0)[:, None, :]
    Odet = layer_offset_m[None, :, None]                                 # (1,T,1)
    # one component at a time (then stacked): NumPy runs a trailing axis of 3 several
    # times slower than scalar operands
    pos = xp.stack([((Fdet * fdet[c] + Sdet * sdet[c]) + Odet * odet[c]) + pix0[c] for c in range(3)],
                   axis=-1)
    if curve_radius_m is not None:
        # reference: treat the lab-frame y and z of the flat position as angles (rad) about
        # the slow then the fast axis, keeping every pixel at "distance" from the sample
        start = curve_radius_m * beam
        tmp = rotate_axis(xp, xp.broadcast_to(start, pos.shape), sdet, pos[..., 1] / curve_radius_m)
        pos = rotate_axis(xp, tmp, fdet, pos[..., 2] / curve_radius_m)
    return pos


def solid_angle(airpath_m, *, pixel_size_m: float, close_distance_m: float, point_pixel: bool):
    """Solid angle (sr) of a pixel seen from the sample: (pixel/R)^2 * close_distance/R.

    With ``point_pixel`` only the inverse-square law 1/R^2 remains, as in the reference.
    """
    if point_pixel:
        return 1.0 / airpath_m / airpath_m
    return pixel_size_m * pixel_size_m / airpath_m / airpath_m * close_distance_m / airpath_m


def capture_fraction(diffracted, odet, layer_index, *, thickstep_m: float, mu_per_m: float, xp=None):
    """Fraction of photons absorbed in each sensor layer.

    diffracted: (P, T, S, 3) unit vectors; layer_index: (T,) layer numbers as floats.
    Returns (P, T, S).
    """
    xp = kernel_namespace_of(diffracted, odet) if xp is None else xp
    parallax = diffracted[..., 0] * odet[0] + diffracted[..., 1] * odet[1] + diffracted[..., 2] * odet[2]
    t = layer_index[None, :, None]
    return (xp.exp(-t * thickstep_m * mu_per_m / parallax)
            - xp.exp(-(t + 1.0) * thickstep_m * mu_per_m / parallax))
