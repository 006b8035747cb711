"""Pixel intensities for one tile: the reference's per-pixel loop, as broadcasts.

Axes, in the reference's loop order (which the accumulation and the
interpolation fall-back depend on): P pixels, T sensor layers, S sub-pixels
(slow-major), N sources, R rotations (phi-major, then mosaic domain).

The per-pixel geometry is laid out (P, T, S, N, ...).  The per-evaluation
arrays, R times larger, are laid out (T, S, N, R, P), pixels last, one array
per Miller index: every operation then runs along the long pixel axis with
scalar or row constants (NumPy runs short trailing axes several times slower),
and the sum over evaluations runs over the leading axes.

:func:`tile_intensity` runs six stages, each a function of the previous ones'
results: :func:`geometry` (sub-pixel positions, solid angle, absorption,
scattering vectors, resolution cut, polarization), :func:`miller` (fractional
Miller indices of every rotation), :func:`lattice` (lattice factors and which
evaluations the reference reaches), :func:`structure_factor` (nearest node or
tricubic), :func:`accumulate` (the sum over evaluations) and :func:`scale`
(the pixel's final value).  Each returns its intermediate arrays; a trace picks
them up in one place (:func:`record_stages`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from array_api_compat import device

from ..backends import kernel_namespace_of
from .detector import capture_fraction, solid_angle, subpixel_positions
from .lattice import lattice_factor, nearest_index
from .layout import c_order, first_true, loop_order, pixel_last, sum_leading
from .polarization import polarization_factor
from .structure_factor import interpolation_out_of_range, nearest_F, tricubic_F
from .vectors import unit3


@dataclass(frozen=True)
class PanelInputs:
    """The panel rendered, and how its pixels are sampled (arrays on the render device)."""

    fdet: Any                 # (3,) fast axis
    sdet: Any                 # (3,) slow axis
    odet: Any                 # (3,) normal
    pix0: Any                 # (3,) origin (m)
    close_distance_m: Any
    curve_radius_m: Any       # None: flat
    pixel_size_m: float
    point_pixel: bool
    sub_index: Any            # (S, 2) integer (subS, subF)
    subpixel_size_m: float
    oversample: int
    layer_offset_m: Any       # (T,)
    layer_index: Any          # (T,) float
    thick: bool               # evaluate the sensor's capture fraction
    thickstep_m: float
    mu_per_m: float


@dataclass(frozen=True)
class BeamInputs:
    """The incident beam: its sources and polarization."""

    beam: Any                 # (3,) propagation direction
    incident: Any             # (N, 3) unit vectors along the incident beams
    wavelength_m: Any         # (N,)
    polar_axis: Any           # (3,)
    kahn: float
    nopolar: bool


@dataclass(frozen=True)
class CrystalInputs:
    """The crystal's cells at every rotation, and its spot shape."""

    cells: Any                # (R, 3, 3): rows a, b, c of each rotation (m), phi-major
    carried_cells: Any        # same, with the reference's phi carry-over; None when off
    first_pass_cells: Any     # same, for the run's first pass through the phi loop; None when off
    reciprocal: Any           # (3, 3) rows a*, b*, c* (1/A)
    shape: str
    Na: float
    Nb: float
    Nc: float
    fudge: float


@dataclass(frozen=True)
class TableInputs:
    """Structure factors as the kernel looks them up."""

    F_padded_flat: Any        # flattened F grid with a border of default_F (one 1x1x1 cell without a table);
                              # sparse: the listed values
    F_keys: Any               # sparse table: sorted flat grid indices of the values; None: dense
    F_fill: float             # sparse table: F of the grid cells not listed
    hkl_origin: tuple
    hkl_shape: tuple
    default_F: float
    have_table: bool


@dataclass(frozen=True)
class ScalingInputs:
    """How evaluations are summed and scaled into photons."""

    scale: Any                # r_e^2 * fluence
    steps: int
    background_I: Any
    water: bool
    dmin_m: float
    oversample_thick: bool
    oversample_polar: bool
    oversample_omega: bool
    reference_forms: bool     # the reference's direct sincg and sinc3 (c_parity)


@dataclass(frozen=True)
class KernelInputs:
    """Everything the kernel reads, by what it describes (:mod:`xbragg.render.inputs` builds it)."""

    panel: PanelInputs
    beam: BeamInputs
    crystal: CrystalInputs
    table: TableInputs
    scaling: ScalingInputs


class Geometry(NamedTuple):
    """Per-pixel geometry of a tile: positions, corrections and scattering vectors."""

    pos: Any                  # (P, T, S, 3) lab-frame sub-pixel positions (m)
    diffracted: Any           # (P, T, S, 3) unit vectors towards them
    airpath: Any              # (P, T, S) distances (m)
    omega: Any                # (P, T, S) solid angles (sr)
    capture: Any              # (P, T, S) sensor capture fractions (1 without a sensor)
    scattering: Any           # (3, T, S, N, P) scattering vectors by component (1/m)
    keep: Any                 # (P, T, S, N) inside the resolution limit and not masked
    polar: Any                # (P, T, S, N) polarization factors


class Miller(NamedTuple):
    """Fractional Miller indices of every evaluation."""

    hkl: tuple                # (h, k, l), each (T, S, N, R, P)
    first_pass: Any           # (P, T, S, N) evaluations of the run's first phi pass (carry-over), or None
    carry_next: Any           # carry_started after this tile (carry-over), or None


class Lattice(NamedTuple):
    """Lattice factors and the evaluations the reference reaches."""

    nearest: tuple            # (h0, k0, l0) nearest nodes, each (T, S, N, R, P)
    F_latt: Any               # (T, S, N, R, P)
    parts: tuple | None       # (F_latt_a, F_latt_b, F_latt_c) for SQUARE, else None
    reached: Any              # (T, S, N, 1 or R, P) evaluations that add a term


class StructureFactor(NamedTuple):
    """Structure factors of every evaluation, and the interpolation state."""

    F_cell: Any               # (T, S, N, R, P)
    interp_state: dict | None  # updated ``active`` flag and ``first_hkl`` (interpolation), or None
    tricubic: dict | None     # F_tri, tri_weights, tri_nodes, use_tri (interpolation), or None


class Accumulation(NamedTuple):
    """The terms of every evaluation and their sum per pixel."""

    term: Any                 # (T, S, N, R, P)
    I: Any                    # (P,) before scaling


class Scaled(NamedTuple):
    """The pixels' final values."""

    value: Any                # (P,) photons
    polar_used: Any           # (P,) the polarization factor applied once per pixel, or None


def miller_indices(scattering: tuple, cells, *, xp) -> tuple:
    """Fractional h, k, l = (a, b, c) . s for every rotation.

    scattering: (s_x, s_y, s_z), each (..., P); cells: (R, 3, 3) rows a, b, c.
    Returns (h, k, l), each (..., R, P).  Summed elementwise in the reference's
    order (``dot_product``), not as a matrix product, so that every element is
    computed the same way whatever the tile size (BLAS rounding depends on the shapes).
    """
    R = cells.shape[0]
    sx, sy, sz = (s[..., None, :] for s in scattering)
    out = []
    for j in range(3):
        cx, cy, cz = (xp.reshape(cells[:, j, c], (R, 1)) for c in range(3))
        out.append((sx * cx + sy * cy) + sz * cz)
    return tuple(out)


def geometry(inp: KernelInputs, spix, fpix, valid, *, xp) -> Geometry:
    """Stage 1: sub-pixel positions, solid angle, capture fraction, scattering vectors,
    resolution cut (with the mask ``valid``) and polarization of the pixels (spix, fpix)."""
    pos = subpixel_positions(spix, fpix, inp.panel.sub_index, inp.panel.layer_offset_m,
                             subpixel_size_m=inp.panel.subpixel_size_m, oversample=inp.panel.oversample,
                             fdet=inp.panel.fdet, sdet=inp.panel.sdet, odet=inp.panel.odet, pix0=inp.panel.pix0,
                             curve_radius_m=inp.panel.curve_radius_m, beam=inp.beam.beam, xp=xp)
    diffracted, airpath = unit3(pos, xp=xp)                   # (P,T,S,3), (P,T,S)
    omega = solid_angle(airpath, pixel_size_m=inp.panel.pixel_size_m,
                        close_distance_m=inp.panel.close_distance_m, point_pixel=inp.panel.point_pixel)
    if inp.panel.thick:
        capture = capture_fraction(diffracted, inp.panel.odet, inp.panel.layer_index,
                                   thickstep_m=inp.panel.thickstep_m, mu_per_m=inp.panel.mu_per_m, xp=xp)
    else:
        capture = xp.ones_like(omega)

    # scattering vectors laid out (3, T, S, N, P) from the start: every later operation
    # runs along pixels (NumPy broadcasts a trailing axis of 3 several times slower, and
    # torch.compile fuses this broadcast better than a stack of components)
    P, T, S = diffracted.shape[:3]
    N = inp.beam.incident.shape[0]
    d_by_axis = c_order(xp.permute_dims(diffracted, (3, 1, 2, 0)), xp=xp)[:, :, :, None, :]   # (3,T,S,1,P)
    incident_by_axis = xp.reshape(xp.permute_dims(inp.beam.incident, (1, 0)), (3, 1, 1, N, 1))
    by_axis = (d_by_axis - incident_by_axis) / xp.reshape(inp.beam.wavelength_m, (1, 1, 1, N, 1))
    if inp.scaling.dmin_m > 0.0:
        stol = 0.5 * xp.sqrt(by_axis[0, ...] * by_axis[0, ...] + by_axis[1, ...] * by_axis[1, ...]
                             + by_axis[2, ...] * by_axis[2, ...])
        stol = xp.permute_dims(stol, (3, 0, 1, 2))                    # (P,T,S,N)
        safe = xp.where(stol > 0.0, stol, xp.ones_like(stol))
        keep = ~((stol > 0.0) & (inp.scaling.dmin_m > 0.5 / safe))
    else:
        keep = xp.ones((P, T, S, N), dtype=xp.bool, device=device(by_axis))
    if valid is not None:
        keep = keep & valid[:, None, None, None]
    polar = polarization_factor(inp.beam.incident, diffracted[:, :, :, None, :], inp.beam.polar_axis,
                                kahn_factor=inp.beam.kahn, xp=xp)                          # (P,T,S,N)
    return Geometry(pos, diffracted, airpath, omega, capture, by_axis, keep, polar)


def miller(inp: KernelInputs, geo: Geometry, carry_started, *, xp) -> Miller:
    """Stage 2: fractional Miller indices of every evaluation, from here on (T, S, N, R, P).

    With the reference's phi carry-over, a step at phi = 0 reuses the latest rotation,
    which in the first pass of the run (first kept evaluation group in loop order) may
    be none: those evaluations take ``first_pass_cells``.
    """
    components = tuple(geo.scattering[c, ...] for c in range(3))
    if inp.crystal.carried_cells is None:
        return Miller(miller_indices(components, inp.crystal.cells, xp=xp), None, None)
    P, T, S, N = geo.keep.shape
    hkl_first = miller_indices(components, inp.crystal.first_pass_cells, xp=xp)
    hkl_carried = miller_indices(components, inp.crystal.carried_cells, xp=xp)
    flat_keep = xp.reshape(geo.keep, (P * T * S * N,))
    first_pass = xp.reshape(first_true(flat_keep, xp=xp) & ~carry_started, (P, T, S, N))
    first_pass_q = pixel_last(first_pass, xp=xp)[..., None, :]           # (T,S,N,1,P)
    hkl = tuple(xp.where(first_pass_q, x, y) for x, y in zip(hkl_first, hkl_carried))
    return Miller(hkl, first_pass, carry_started | xp.any(flat_keep))


def lattice(inp: KernelInputs, hkl: tuple, keep, *, signed: bool, skip_zero: bool, xp) -> Lattice:
    """Stage 3: lattice factors, and the evaluations that add a term.

    ``signed``: keep the sign of each factor (intensities use squares; the trace shows
    them).  ``skip_zero``: evaluations whose lattice factor is 0 are not reached (the
    reference skips them: no multiplier, no interpolation check); for a plain sum a
    zero term adds nothing, so the test is left out there.
    """
    nearest = tuple(nearest_index(x, xp=xp) for x in hkl)
    F_latt, parts = lattice_factor(hkl, shape=inp.crystal.shape, Na=inp.crystal.Na, Nb=inp.crystal.Nb, Nc=inp.crystal.Nc,
                                   fudge=inp.crystal.fudge, reciprocal=inp.crystal.reciprocal, nearest=nearest,
                                   signed=signed, direct=inp.scaling.reference_forms, xp=xp)
    reached = pixel_last(keep, xp=xp)[..., None, :]                      # (T,S,N,1,P)
    if skip_zero:
        reached = reached & (F_latt != 0.0)
    return Lattice(nearest, F_latt, parts, reached)


def structure_factor(inp: KernelInputs, hkl: tuple, lat: Lattice, interp_active, *, xp) -> StructureFactor:
    """Stage 4: F of the nearest node, or tricubic while interpolation is on.

    The first out-of-range evaluation (in loop order: pixel-major) switches
    interpolation off for itself and for the rest of the run: those use the nearest
    node (reference).
    """
    F_cell = nearest_F(lat.nearest, inp.table.F_padded_flat, origin=inp.table.hkl_origin, shape=inp.table.hkl_shape,
                       default_F=inp.table.default_F, have_table=inp.table.have_table, keys=inp.table.F_keys,
                       fill_F=inp.table.F_fill, xp=xp)
    if interp_active is None:
        return StructureFactor(F_cell, None, None)
    hkl_stack = xp.stack(hkl, axis=-1)                                     # (T,S,N,R,P,3)
    # the one table on the device: a dense grid carries nearest_F's border of default_F
    F_tri, weights, nodes = tricubic_F(hkl_stack, inp.table.F_padded_flat, origin=inp.table.hkl_origin,
                                       shape=inp.table.hkl_shape, border=0 if inp.table.F_keys is not None else 1,
                                       keys=inp.table.F_keys, fill_F=inp.table.F_fill, xp=xp)
    oob = interpolation_out_of_range(hkl_stack, origin=inp.table.hkl_origin, shape=inp.table.hkl_shape) & lat.reached
    T, S, N, R, P = F_tri.shape
    E = T * S * N * R
    n_eval = P * E
    sentinel = n_eval
    first, order = first_in_loop_order(oob, xp=xp)
    use_tri = interp_active & (order < first)
    F_cell = xp.where(use_tri, F_tri, F_cell)
    first_clipped = xp.clamp(first, 0, n_eval - 1)
    at = (first_clipped % E) * P + first_clipped // E                      # its place in (E, P)
    first_hkl = xp.take(xp.reshape(hkl_stack, (-1, 3)), xp.reshape(at, (1,)), axis=0)[0, :]
    state = {"active": interp_active & (first == sentinel), "first_hkl": first_hkl}
    return StructureFactor(F_cell, state, {"F_tri": F_tri, "tri_weights": weights, "tri_nodes": nodes,
                                           "use_tri": use_tri})


def first_in_loop_order(flags, *, xp) -> tuple:
    """The loop-order index (pixel-major: e + E p) of the first True of ``flags``, (T, S, N, R, P).

    Returns (first, order): ``first`` a 0-d int64 array, the number of evaluations when
    none is True; ``order`` every evaluation's index, shaped like ``flags``.
    """
    T, S, N, R, P = flags.shape
    E = T * S * N * R
    dev = device(flags)
    order = (xp.reshape(xp.arange(E, dtype=xp.int64, device=dev), (E, 1))
             + E * xp.reshape(xp.arange(P, dtype=xp.int64, device=dev), (1, P)))
    order = xp.reshape(order, flags.shape)
    return xp.min(xp.where(flags, order, xp.full_like(order, P * E))), order


def first_fallback(inp: KernelInputs, spix, fpix, valid=None, carry_started=None, *, xp=None):
    """Pre-pass of the interpolation fall-back: where in this tile interpolation would switch off.

    The stages up to the lattice factors, as :func:`tile_intensity` runs them with
    interpolation on, without the tricubic work.  Arguments as for :func:`tile_intensity`.
    Returns a 0-d int64 array: the loop-order index (e + E p, E evaluations per pixel)
    of the tile's first reached evaluation whose neighbourhood leaves the table, or
    P E when there is none.
    """
    xp = kernel_namespace_of(inp.panel.fdet) if xp is None else xp
    geo = geometry(inp, spix, fpix, valid, xp=xp)
    mil = miller(inp, geo, carry_started, xp=xp)
    lat = lattice(inp, mil.hkl, geo.keep, signed=False, skip_zero=not inp.scaling.water, xp=xp)
    oob = interpolation_out_of_range(xp.stack(mil.hkl, axis=-1), origin=inp.table.hkl_origin,
                                     shape=inp.table.hkl_shape) & lat.reached
    return first_in_loop_order(oob, xp=xp)[0]


def first_phi_pass(inp: KernelInputs, spix, fpix, valid=None, *, xp=None):
    """Pre-pass of the phi carry-over: the tile's first pixel that reaches the phi loop.

    Returns a 0-d int64 array: its index in the tile (the first pixel with a kept
    layer, sub-pixel and source), or P when no pixel does.
    """
    xp = kernel_namespace_of(inp.panel.fdet) if xp is None else xp
    keep = geometry(inp, spix, fpix, valid, xp=xp).keep
    P = keep.shape[0]
    reaches = xp.any(xp.reshape(keep, (P, -1)), axis=1)
    index = xp.arange(P, dtype=xp.int64, device=device(keep))
    return xp.min(xp.where(reaches, index, xp.full_like(index, P)))


def accumulate(inp: KernelInputs, geo: Geometry, lat: Lattice, F_cell, *, masked: bool, xp) -> Accumulation:
    """Stage 5: the terms F_cell^2 F_latt^2 and their sum over evaluations, per pixel.

    ``masked``: terms of evaluations not reached are set to 0 (needed unless every
    evaluation is reached or adds nothing when it is not).
    """
    term = F_cell * F_cell * lat.F_latt * lat.F_latt
    if masked:
        term = xp.where(lat.reached, term, xp.zeros_like(term))
    T, S, N, R, P = term.shape
    E = T * S * N * R
    if not (inp.scaling.oversample_thick or inp.scaling.oversample_polar or inp.scaling.oversample_omega):
        return Accumulation(term, inp.scaling.background_I + sum_leading(xp.reshape(term, (E, P))))
    # reference quirk: with per-sub-pixel corrections it multiplies the running sum,
    # I = (I + term) * factor, at every evaluation; reproduced with suffix products
    mult = xp.ones_like(term)
    if inp.scaling.oversample_thick:
        mult = mult * pixel_last(geo.capture, xp=xp)[:, :, None, None, :]
    if inp.scaling.oversample_polar:
        mult = mult * pixel_last(geo.polar, xp=xp)[..., None, :]
    if inp.scaling.oversample_omega:
        mult = mult * pixel_last(geo.omega, xp=xp)[:, :, None, None, :]
    mult = xp.where(lat.reached, mult, xp.ones_like(mult))
    mult = xp.reshape(mult, (E, P))
    suffix = xp.flip(xp.cumulative_prod(xp.flip(mult, axis=0), axis=0), axis=0)
    # a zero term adds nothing to the reference's running sum, even where the product of the
    # later factors overflows: 0 * inf must not turn an inf (or 0) pixel into NaN
    flat = xp.reshape(term, (E, P))
    I = sum_leading(xp.where(flat == 0.0, xp.zeros_like(flat), flat * suffix))
    if inp.scaling.background_I != 0.0:          # likewise a zero background (no -water)
        I = inp.scaling.background_I * suffix[0, :] + I
    return Accumulation(term, I)


def scale(inp: KernelInputs, geo: Geometry, I, valid, *, xp) -> Scaled:
    """Stage 6: r_e^2 fluence I / steps, times the corrections applied once per pixel."""
    P, T, S, N = geo.keep.shape
    value = inp.scaling.scale * I / inp.scaling.steps
    if not inp.scaling.oversample_thick:
        value = value * geo.capture[:, T - 1, 0]    # last layer, first sub-pixel
    polar_used = None
    if not inp.scaling.oversample_polar:
        if inp.beam.nopolar:
            polar_used = xp.ones_like(value)
        else:
            # the first source that survived the resolution cut, in loop order; 0 if none
            flat_keep = xp.reshape(geo.keep, (P, T * S * N))
            first = first_true(flat_keep, xp=xp)
            polar = xp.reshape(geo.polar, (P, T * S * N))
            polar_used = xp.sum(xp.where(first, polar, xp.zeros_like(polar)), axis=-1)
        value = value * polar_used
    if not inp.scaling.oversample_omega:
        value = value * geo.omega[:, 0, 0]          # first layer, first sub-pixel
    if valid is not None:
        value = xp.where(valid, value, xp.zeros_like(value))
    return Scaled(value, polar_used)


def tile_intensity(inp: KernelInputs, spix, fpix, valid=None, interp_active=None,
                   carry_started=None, record: dict | None = None, *, xp=None):
    """Intensity (photons) of the pixels (spix[i], fpix[i]), shape (P,).

    valid: (P,) bool, False for masked pixels (they return 0 and are skipped by
    the interpolation fall-back order).  interp_active: 0-d bool array while
    tricubic interpolation is still on (``None``: interpolation off).
    carry_started: with phi carry-over, a 0-d bool array: True once any earlier pixel
    has run the phi loop (the very first run uses the unrotated cell at phi = 0).
    ``record``: when a dict is given, intermediate arrays are stored in it (trace),
    in the reference's loop order (P, T, S, N, R, ...).
    ``xp``: the kernel namespace (:func:`~xbragg.backends.kernel_namespace`), looked
    up from ``inp`` when not given.
    Returns (intensity, interp_state, carry_started): interp_state is ``None`` or a
    dict with the updated ``active`` flag and the ``first_hkl`` that switched it off;
    carry_started is the updated flag (``None`` without carry-over).
    """
    xp = kernel_namespace_of(inp.panel.fdet) if xp is None else xp
    # a record needs exact intermediates (signs, reached flags, masked terms) that the
    # image alone can skip; terms are ordered when their order or mask changes the sum
    full = record is not None
    ordered = (interp_active is not None or inp.scaling.oversample_thick or inp.scaling.oversample_polar
               or inp.scaling.oversample_omega)
    geo = geometry(inp, spix, fpix, valid, xp=xp)
    mil = miller(inp, geo, carry_started, xp=xp)
    lat = lattice(inp, mil.hkl, geo.keep, signed=full, skip_zero=not inp.scaling.water and (ordered or full), xp=xp)
    sf = structure_factor(inp, mil.hkl, lat, interp_active, xp=xp)
    acc = accumulate(inp, geo, lat, sf.F_cell,
                     masked=inp.scaling.dmin_m > 0.0 or valid is not None or ordered or full, xp=xp)
    out = scale(inp, geo, acc.I, valid, xp=xp)
    if full:
        record_stages(record, geo, mil, lat, sf, acc, out, xp=xp)
    return out.value, sf.interp_state, mil.carry_next


def record_stages(record: dict, geo: Geometry, mil: Miller, lat: Lattice, sf: StructureFactor,
                  acc: Accumulation, out: Scaled, *, xp) -> None:
    """Store the stages' arrays in ``record``, per-evaluation ones in loop order (P, T, S, N, R, ...)."""
    def ordered(x):
        return loop_order(x, xp=xp)
    record.update(pos=geo.pos, diffracted=geo.diffracted, airpath=geo.airpath, omega=geo.omega,
                  capture=geo.capture, scattering=xp.permute_dims(geo.scattering, (4, 1, 2, 3, 0)),
                  keep=geo.keep, polar=geo.polar, hkl=ordered(xp.stack(mil.hkl, axis=-1)),
                  nearest=ordered(xp.stack(lat.nearest, axis=-1)), F_latt=ordered(lat.F_latt),
                  term=ordered(acc.term),
                  F_latt_parts=tuple(ordered(p) for p in lat.parts) if lat.parts else None,
                  F_cell=ordered(sf.F_cell), reached=ordered(xp.broadcast_to(lat.reached, acc.term.shape)),
                  I=acc.I, value=out.value, polar_used=out.polar_used)
    if mil.first_pass is not None:
        record["first_pass"] = mil.first_pass
    if sf.tricubic is not None:
        record.update({k: ordered(v) for k, v in sf.tricubic.items()})
