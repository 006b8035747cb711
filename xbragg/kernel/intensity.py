"""Pixel intensities for one tile: the reference's per-pixel loop, as broadcasts.

Axes, in the reference's loop order (which the accumulation and the
interpolation fall-back depend on): P pixels, T sensor layers, S sub-pixels
(slow-major), N sources, R rotations (phi-major, then mosaic domain).

The per-pixel geometry is laid out (P, T, S, N, ...).  The per-evaluation
arrays, R times larger, are laid out (T, S, N, R, P), pixels last, one array
per Miller index: every operation then runs along the long pixel axis with
scalar or row constants (NumPy runs short trailing axes several times slower),
and the sum over evaluations runs over the leading axes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from array_api_compat import device

from .detector import capture_fraction, solid_angle, subpixel_positions
from .lattice import lattice_factor, nearest_index
from .namespace import array_namespace
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
    first_pass_cells: Any     # same, for the run's first pass through the phi loop; None when off
    reciprocal: Any           # (3, 3) rows a*, b*, c* (1/A)
    F_flat: Any               # flattened structure-factor grid (or a 1-element dummy); sparse: values
    F_padded_flat: Any        # the same with a border of default_F (nearest lookups); sparse: values
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
    reference_forms: bool = False   # the reference's direct sincg and sinc3 (c_parity)
    F_keys: Any = None        # sparse table: sorted flat grid indices of F_flat's values; None: dense
    F_fill: float = 0.0       # sparse table: F of the grid cells not listed


def c_order(x):
    """``x`` materialized in C order (a copy only when it is a transposed view).

    Reshaping to one axis forces the copy that a bare transpose would leave to
    later operations, which would then run along the short axes.
    """
    xp = array_namespace(x)
    return xp.reshape(xp.reshape(x, (-1,)), x.shape)


def pixel_last(x):
    """(P, ...) -> (..., P) in C order."""
    xp = array_namespace(x)
    return c_order(xp.permute_dims(x, (*range(1, x.ndim), 0)))


def loop_order(x):
    """(T, S, N, R, P, ...) -> (P, T, S, N, R, ...): the reference's loop order (for records)."""
    xp = array_namespace(x)
    return xp.permute_dims(x, (4, 0, 1, 2, 3, *range(5, x.ndim)))


def miller_indices(scattering: tuple, cells) -> tuple:
    """Fractional h, k, l = (a, b, c) . s for every rotation.

    scattering: (s_x, s_y, s_z), each (..., P); cells: (R, 3, 3) rows a, b, c.
    Returns (h, k, l), each (..., R, P).  Summed elementwise in the reference's
    order (``dot_product``), not as a matrix product, so that every element is
    computed the same way whatever the tile size (BLAS rounding depends on the shapes).
    """
    xp = array_namespace(cells, *scattering)
    R = cells.shape[0]
    sx, sy, sz = (s[..., None, :] for s in scattering)
    out = []
    for j in range(3):
        cx, cy, cz = (xp.reshape(cells[:, j, c], (R, 1)) for c in range(3))
        out.append((sx * cx + sy * cy) + sz * cz)
    return tuple(out)


def sum_leading(x):
    """Sum over axis 0 by pairwise halving, one elementwise add per level.

    The order of the additions depends only on the length of axis 0, never on
    the other axes (a library reduction may switch order when a tile has one
    pixel) nor on the backend, so tiling never changes a bit.
    """
    n = x.shape[0]
    rest = None
    while n > 1:
        if n % 2:
            n -= 1
            rest = x[n, ...] if rest is None else x[n, ...] + rest
        half = n // 2
        x = x[:half, ...] + x[half:n, ...]
        n = half
    return x[0, ...] if rest is None else x[0, ...] + rest


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
    ``record``: when a dict is given, intermediate arrays are stored in it (trace),
    in the reference's loop order (P, T, S, N, R, ...).
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

    # scattering vectors laid out (3, T, S, N, P) from the start: every later operation
    # runs along pixels (NumPy broadcasts a trailing axis of 3 several times slower, and
    # torch.compile fuses this broadcast better than a stack of components)
    P, T, S = diffracted.shape[:3]
    N = inp.incident.shape[0]
    d_by_axis = c_order(xp.permute_dims(diffracted, (3, 1, 2, 0)))[:, :, :, None, :]   # (3,T,S,1,P)
    incident_by_axis = xp.reshape(xp.permute_dims(inp.incident, (1, 0)), (3, 1, 1, N, 1))
    by_axis = (d_by_axis - incident_by_axis) / xp.reshape(inp.wavelength_m, (1, 1, 1, N, 1))
    R = inp.rotations
    if inp.dmin_m > 0.0:
        stol = 0.5 * xp.sqrt(by_axis[0, ...] * by_axis[0, ...] + by_axis[1, ...] * by_axis[1, ...]
                             + by_axis[2, ...] * by_axis[2, ...])
        stol = xp.permute_dims(stol, (3, 0, 1, 2))                    # (P,T,S,N)
        safe = xp.where(stol > 0.0, stol, xp.ones_like(stol))
        keep = ~((stol > 0.0) & (inp.dmin_m > 0.5 / safe))
    else:
        keep = xp.ones((P, T, S, N), dtype=xp.bool, device=device(by_axis))
    if valid is not None:
        keep = keep & valid[:, None, None, None]
    polar = polarization_factor(inp.incident, diffracted[:, :, :, None, :], inp.polar_axis,
                                kahn_factor=inp.kahn)                                  # (P,T,S,N)

    # from here on (T, S, N, R, P): see the module docstring
    components = tuple(by_axis[c, ...] for c in range(3))
    carry_next = None
    if inp.carried_cells is None:
        hkl = miller_indices(components, inp.cells)
    else:
        # reference phi carry-over: a step at phi = 0 reuses the latest rotation, which in
        # the first pass of the run (first kept evaluation group in loop order) may be none
        hkl_first = miller_indices(components, inp.first_pass_cells)
        hkl_carried = miller_indices(components, inp.carried_cells)
        flat_keep = xp.reshape(keep, (P * T * S * N,))
        first_pass = xp.reshape(first_true(flat_keep) & ~carry_started, (P, T, S, N))
        first_pass_q = pixel_last(first_pass)[..., None, :]               # (T,S,N,1,P)
        hkl = tuple(xp.where(first_pass_q, x, y) for x, y in zip(hkl_first, hkl_carried))
        carry_next = carry_started | xp.any(flat_keep)
        if record is not None:
            record["first_pass"] = first_pass
    nearest = tuple(nearest_index(x) for x in hkl)
    # signs of the lattice factors matter only to the trace: intensities use squares
    F_latt, latt_parts = lattice_factor(hkl, shape=inp.shape, Na=inp.Na, Nb=inp.Nb, Nc=inp.Nc,
                                        fudge=inp.fudge, reciprocal=inp.reciprocal, nearest=nearest,
                                        signed=record is not None, direct=inp.reference_forms)
    per_subpixel = inp.oversample_thick or inp.oversample_polar or inp.oversample_omega
    ordered_terms = interp_active is not None or per_subpixel
    reached = pixel_last(keep)[..., None, :]                              # (T,S,N,1,P)
    if not inp.water and (ordered_terms or record is not None):
        # the reference skips zero lattice factors (no multiplier, no interpolation check);
        # for a plain sum a zero term adds nothing, so the test is left out there
        reached = reached & (F_latt != 0.0)

    F_cell = nearest_F(nearest, inp.F_padded_flat, origin=inp.hkl_origin, shape=inp.hkl_shape,
                       default_F=inp.default_F, have_table=inp.have_table, keys=inp.F_keys,
                       fill_F=inp.F_fill)
    E = T * S * N * R
    interp_state = None
    if interp_active is not None:
        hkl_stack = xp.stack(hkl, axis=-1)                                 # (T,S,N,R,P,3)
        F_tri, weights, nodes = tricubic_F(hkl_stack, inp.F_flat, origin=inp.hkl_origin,
                                           shape=inp.hkl_shape, keys=inp.F_keys, fill_F=inp.F_fill)
        oob = interpolation_out_of_range(hkl_stack, origin=inp.hkl_origin, shape=inp.hkl_shape) & reached
        # the first out-of-range evaluation (in loop order: pixel-major) switches interpolation
        # off for itself and for the rest of the run: those use the nearest node (reference)
        n_eval = P * E
        dev = device(F_tri)
        order = (xp.reshape(xp.arange(E, dtype=xp.int64, device=dev), (E, 1))
                 + E * xp.reshape(xp.arange(P, dtype=xp.int64, device=dev), (1, P)))
        order = xp.reshape(order, oob.shape)
        sentinel = n_eval
        first = xp.min(xp.where(oob, order, xp.full_like(order, sentinel)))
        use_tri = interp_active & (order < first)
        F_cell = xp.where(use_tri, F_tri, F_cell)
        first_clipped = xp.minimum(first, xp.asarray(n_eval - 1, dtype=xp.int64, device=dev))
        at = (first_clipped % E) * P + first_clipped // E                  # its place in (E, P)
        first_hkl = xp.take(xp.reshape(hkl_stack, (-1, 3)), xp.reshape(at, (1,)), axis=0)[0, :]
        interp_state = {"active": interp_active & (first == sentinel), "first_hkl": first_hkl}
        if record is not None:
            record.update(F_tri=loop_order(F_tri), tri_weights=loop_order(weights),
                          tri_nodes=loop_order(nodes), use_tri=loop_order(use_tri))

    term = F_cell * F_cell * F_latt * F_latt
    if inp.dmin_m > 0.0 or valid is not None or ordered_terms or record is not None:
        term = xp.where(reached, term, xp.zeros_like(term))
    if per_subpixel:
        # reference quirk: with per-sub-pixel corrections it multiplies the running sum,
        # I = (I + term) * factor, at every evaluation; reproduced with suffix products
        mult = xp.ones_like(term)
        if inp.oversample_thick:
            mult = mult * pixel_last(capture)[:, :, None, None, :]
        if inp.oversample_polar:
            mult = mult * pixel_last(polar)[..., None, :]
        if inp.oversample_omega:
            mult = mult * pixel_last(omega)[:, :, None, None, :]
        mult = xp.where(reached, mult, xp.ones_like(mult))
        mult = xp.reshape(mult, (E, P))
        suffix = xp.flip(xp.cumulative_prod(xp.flip(mult, axis=0), axis=0), axis=0)
        I = sum_leading(xp.reshape(term, (E, P)) * suffix)
        if inp.background_I != 0.0:
            # only a real background is carried through the products: 0 * an overflowed
            # product would be NaN where the reference's running sum stays 0 * ... = inf
            I = inp.background_I * suffix[0, :] + I
    else:
        I = inp.background_I + sum_leading(xp.reshape(term, (E, P)))

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
        full = (T, S, N, R, P)
        record.update(pos=pos, diffracted=diffracted, airpath=airpath, omega=omega, capture=capture,
                      scattering=xp.permute_dims(by_axis, (4, 1, 2, 3, 0)), keep=keep, polar=polar,
                      hkl=loop_order(xp.stack(hkl, axis=-1)), nearest=loop_order(xp.stack(nearest, axis=-1)),
                      F_latt=loop_order(F_latt), term=loop_order(term),
                      F_latt_parts=tuple(loop_order(p) for p in latt_parts) if latt_parts else None,
                      F_cell=loop_order(F_cell), reached=loop_order(xp.broadcast_to(reached, full)),
                      I=I, value=value, polar_used=polar_used if not inp.oversample_polar else None)
    return value, interp_state, carry_next
