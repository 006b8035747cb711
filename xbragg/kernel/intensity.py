"""Pixel intensities for one tile: the reference's per-pixel loop, as broadcasts.

Axes of the evaluation arrays, in the reference's loop order (which the
accumulation and the interpolation fall-back depend on):
P pixels, T sensor layers, S sub-pixels (slow-major), N sources, R rotations
(phi-major, then mosaic domain).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from array_api_compat import array_namespace, device

from .detector import capture_fraction, solid_angle, subpixel_positions
from .lattice import lattice_factor, nearest_index
from .polarization import polarization_factor
from .structure_factor import interpolation_out_of_range, nearest_F, tricubic_F
from .vectors import unit3


@dataclass(frozen=True)
class KernelInputs:
    """Arrays (on the render device, in the working dtype) and scalars for the kernel."""

    fdet: Any
    sdet: Any
    odet: Any
    pix0: Any
    beam: Any
    sub_index: Any            # (S, 2) integer (subS, subF)
    layer_offset_m: Any       # (T,)
    layer_index: Any          # (T,) float
    incident: Any             # (N, 3) unit vectors along the incident beams
    wavelength_m: Any         # (N,)
    polar_axis: Any           # (3,)
    cells: Any                # (R, 3, 3): rows a, b, c of each rotation (m), phi-major
    carried_cells: Any        # same, with the reference's phi carry-over; None when off
    reciprocal: Any           # (3, 3) rows a*, b*, c* (1/A)
    F_flat: Any               # flattened structure-factor grid (or a 1-element dummy)
    F_padded_flat: Any        # the same with a border of default_F (nearest lookups)
    rotations: int
    subpixel_size_m: float
    pixel_size_m: float
    oversample: int
    close_distance_m: float
    distance_m: float
    curved: bool
    point_pixel: bool
    thick: bool
    thickstep_m: float
    mu_per_m: float
    kahn: float
    nopolar: bool
    shape: str
    Na: float
    Nb: float
    Nc: float
    fudge: float
    hkl_origin: tuple
    hkl_shape: tuple
    default_F: float
    have_table: bool
    oversample_thick: bool
    oversample_polar: bool
    oversample_omega: bool
    dmin_m: float
    water: bool
    scale: float              # r_e^2 * fluence
    steps: int
    background_I: float


def miller_indices(scattering, cells):
    """Fractional h, k, l = (a, b, c) . s for every rotation: (..., 3) x (R, 3, 3) -> (..., R, 3).

    Written as outer products summed in the reference's order (``dot_product``),
    not a matrix product, so that every element is computed the same way whatever the
    tile size (BLAS rounding depends on the number of rows).
    """
    xp = array_namespace(scattering, cells)
    lead = scattering.shape[:-1]
    R = cells.shape[0]
    flat = xp.reshape(scattering, (-1, 3))
    columns = [xp.reshape(cells[..., j], (1, 3 * R)) for j in range(3)]   # x, y, z of a, b, c
    hkl = (flat[:, 0:1] * columns[0] + flat[:, 1:2] * columns[1]) + flat[:, 2:3] * columns[2]
    return xp.reshape(hkl, (*lead, R, 3))


def first_true(flags):
    """Boolean array marking the first True along the last axis."""
    xp = array_namespace(flags)
    as_int = xp.astype(flags, xp.int32)
    return flags & (xp.cumulative_sum(as_int, axis=-1) == 1)


def tile_intensity(inp: KernelInputs, spix, fpix, valid=None, interp_active=None,
                   carry_started=None, record: dict | None = None):
    """Intensity (photons) of the pixels (spix[i], fpix[i]), shape (P,).

    valid: (P,) bool, False for masked pixels (they return 0 and are skipped by
    the interpolation fall-back order).  interp_active: 0-d bool array while
    tricubic interpolation is still on (``None``: interpolation off).
    carry_started: with phi carry-over, a 0-d bool array: True once any earlier pixel
    has run the phi loop (the very first run uses the unrotated cell at phi = 0).
    ``record``: when a dict is given, intermediate arrays are stored in it (trace).
    Returns (intensity, interp_state, carry_started): interp_state is ``None`` or a
    dict with the updated ``active`` flag and the ``first_hkl`` that switched it off;
    carry_started is the updated flag (``None`` without carry-over).
    """
    xp = array_namespace(inp.fdet)
    pos = subpixel_positions(spix, fpix, inp.sub_index, inp.layer_offset_m,
                             subpixel_size_m=inp.subpixel_size_m, oversample=inp.oversample,
                             fdet=inp.fdet, sdet=inp.sdet, odet=inp.odet, pix0=inp.pix0,
                             curved=inp.curved, distance_m=inp.distance_m, beam=inp.beam)
    diffracted, airpath = unit3(pos)                          # (P,T,S,3), (P,T,S)
    omega = solid_angle(airpath, pixel_size_m=inp.pixel_size_m,
                        close_distance_m=inp.close_distance_m, point_pixel=inp.point_pixel)
    if inp.thick:
        capture = capture_fraction(diffracted, inp.odet, inp.layer_index,
                                   thickstep_m=inp.thickstep_m, mu_per_m=inp.mu_per_m)
    else:
        capture = xp.ones_like(omega)

    d5 = diffracted[:, :, :, None, :]                                  # (P,T,S,1,3)
    scattering = (d5 - inp.incident) / inp.wavelength_m[:, None]       # (P,T,S,N,3)
    P, T, S, N = scattering.shape[:4]
    R = inp.rotations
    if inp.dmin_m > 0.0:
        stol = 0.5 * xp.sqrt(xp.sum(scattering * scattering, axis=-1))
        safe = xp.where(stol > 0.0, stol, xp.ones_like(stol))
        keep = ~((stol > 0.0) & (inp.dmin_m > 0.5 / safe))
    else:
        keep = xp.ones(scattering.shape[:4], dtype=xp.bool, device=device(scattering))
    if valid is not None:
        keep = keep & valid[:, None, None, None]
    polar = polarization_factor(inp.incident, d5, inp.polar_axis, kahn_factor=inp.kahn)  # (P,T,S,N)

    hkl = miller_indices(scattering, inp.cells)
    carry_next = None
    if inp.carried_cells is not None:
        # reference phi carry-over: every pass through the phi loop reuses the last rotation at
        # phi = 0, except the first pass of the run (first kept evaluation group in loop order)
        hkl_carried = miller_indices(scattering, inp.carried_cells)
        flat_keep = xp.reshape(keep, (P * T * S * N,))
        first_pass = first_true(flat_keep) & ~carry_started
        first_pass = xp.reshape(first_pass, (P, T, S, N))[..., None, None]
        hkl = xp.where(first_pass, hkl, hkl_carried)
        carry_next = carry_started | xp.any(flat_keep)
        if record is not None:
            record["first_pass"] = first_pass[..., 0, 0]
    nearest = nearest_index(hkl)
    # signs of the lattice factors matter only to the trace: intensities use squares
    F_latt, latt_parts = lattice_factor(hkl, shape=inp.shape, Na=inp.Na, Nb=inp.Nb, Nc=inp.Nc,
                                        fudge=inp.fudge, reciprocal=inp.reciprocal, nearest=nearest,
                                        signed=record is not None)
    ordered_terms = (interp_active is not None or inp.oversample_thick or inp.oversample_polar
                     or inp.oversample_omega)
    reached = keep[..., None]
    if not inp.water and (ordered_terms or record is not None):
        # the reference skips zero lattice factors (no multiplier, no interpolation check);
        # for a plain sum a zero term adds nothing, so the test is left out there
        reached = reached & (F_latt != 0.0)

    F_cell = nearest_F(hkl, inp.F_padded_flat, origin=inp.hkl_origin, shape=inp.hkl_shape,
                       default_F=inp.default_F, have_table=inp.have_table, nearest=nearest)
    interp_state = None
    if interp_active is not None:
        F_tri, weights, nodes = tricubic_F(hkl, inp.F_flat, origin=inp.hkl_origin, shape=inp.hkl_shape)
        oob = interpolation_out_of_range(hkl, origin=inp.hkl_origin, shape=inp.hkl_shape) & reached
        # the first out-of-range evaluation (in loop order) switches interpolation off for
        # itself and for the rest of the run: those use the nearest node (reference behaviour)
        n_eval = P * T * S * N * R
        order = xp.reshape(xp.arange(n_eval, dtype=xp.int64, device=device(hkl)), oob.shape)
        sentinel = n_eval
        first = xp.min(xp.where(oob, order, xp.full_like(order, sentinel)))
        use_tri = interp_active & (order < first)
        F_cell = xp.where(use_tri, F_tri, F_cell)
        first_clipped = xp.minimum(first, xp.asarray(n_eval - 1, dtype=xp.int64, device=device(hkl)))
        first_hkl = xp.take(xp.reshape(hkl, (-1, 3)), xp.reshape(first_clipped, (1,)), axis=0)[0, :]
        interp_state = {"active": interp_active & (first == sentinel), "first_hkl": first_hkl}
        if record is not None:
            record.update(F_tri=F_tri, tri_weights=weights, tri_nodes=nodes, use_tri=use_tri)

    term = F_cell * F_cell * F_latt * F_latt
    if inp.dmin_m > 0.0 or valid is not None or ordered_terms or record is not None:
        term = xp.where(reached, term, xp.zeros_like(term))
    E = T * S * N * R
    if inp.oversample_thick or inp.oversample_polar or inp.oversample_omega:
        # reference quirk: with per-sub-pixel corrections it multiplies the running sum,
        # I = (I + term) * factor, at every evaluation; reproduced with suffix products
        mult = xp.ones_like(term)
        if inp.oversample_thick:
            mult = mult * capture[:, :, :, None, None]
        if inp.oversample_polar:
            mult = mult * polar[..., None]
        if inp.oversample_omega:
            mult = mult * omega[:, :, :, None, None]
        mult = xp.where(reached, mult, xp.ones_like(mult))
        mult = xp.reshape(mult, (P, E))
        suffix = xp.flip(xp.cumulative_prod(xp.flip(mult, axis=-1), axis=-1), axis=-1)
        I = inp.background_I * suffix[:, 0] + xp.sum(xp.reshape(term, (P, E)) * suffix, axis=-1)
    else:
        I = inp.background_I + xp.sum(xp.reshape(term, (P, E)), axis=-1)

    value = inp.scale * I / inp.steps
    if not inp.oversample_thick:
        value = value * capture[:, T - 1, 0]        # last layer, first sub-pixel
    if not inp.oversample_polar:
        if inp.nopolar:
            polar_used = xp.ones_like(value)
        else:
            # the first source that survived the resolution cut, in loop order; 0 if none
            flat_keep = xp.reshape(keep, (P, T * S * N))
            first = first_true(flat_keep)
            polar_used = xp.sum(xp.where(first, xp.reshape(polar, (P, T * S * N)),
                                         xp.zeros_like(xp.reshape(polar, (P, T * S * N)))), axis=-1)
        value = value * polar_used
    if not inp.oversample_omega:
        value = value * omega[:, 0, 0]              # first layer, first sub-pixel
    if valid is not None:
        value = xp.where(valid, value, xp.zeros_like(value))
    if record is not None:
        record.update(pos=pos, diffracted=diffracted, airpath=airpath, omega=omega, capture=capture,
                      scattering=scattering, keep=keep, polar=polar, hkl=hkl, nearest=nearest,
                      F_latt=F_latt, term=term,
                      F_latt_parts=latt_parts, F_cell=F_cell, reached=reached, I=I, value=value,
                      polar_used=polar_used if not inp.oversample_polar else None)
    return value, interp_state, carry_next
