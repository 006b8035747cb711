"""Host-side preparation: the experiment's arrays as the kernel takes them, on the backend.

The structure-factor table is prepared on the host (a dense grid gets a border of
``default_F`` for nearest-node lookups, which tricubic lookups index past, so the device
holds one copy; a sparse table stays keys and values), then
every array moves to the render device in the working dtype once per render.
"""
from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from ..constants import R_E_SQR_M2
from ..kernel.intensity import (BeamInputs, CrystalInputs, KernelInputs, PanelInputs, ScalingInputs,
                                TableInputs)
from ..setup.experiment import Experiment


class HostTable(NamedTuple):
    """Structure factors as the kernel looks them up, on the host."""

    F_padded_flat: np.ndarray     # the grid (C order) with one plane of default_F on every side; sparse: the values
    keys: np.ndarray | None       # sparse table: sorted flat grid indices of the values; None: dense
    origin: tuple                 # (h, k, l) of the grid's first cell
    shape: tuple                  # the grid's shape, without the border
    fill_F: float                 # sparse table: F of the cells not listed


def host_table(exp: Experiment) -> HostTable:
    """The experiment's structure factors prepared for the kernel (a 1-cell dummy without a table)."""
    table = exp.crystal.structure_factors
    if table is not None and table.sparse:
        # listed cells only, looked up by flat index (kernel.structure_factor.sparse_take)
        return HostTable(table.values, table.keys, table.origin, table.shape, table.fill_F)
    F_grid = table.F if table is not None else np.zeros((1, 1, 1))
    origin = table.origin if table is not None else (0, 0, 0)
    shape = tuple(int(s) for s in F_grid.shape)
    # one plane of default_F on every side: nearest-node lookups clamp into it (nearest_F)
    F_padded = np.full(tuple(n + 2 for n in shape), float(exp.crystal.default_F))
    F_padded[1:-1, 1:-1, 1:-1] = F_grid
    return HostTable(F_padded.reshape(-1), None, origin, shape, 0.0)


def panel_inputs(exp: Experiment, panel: int, arr) -> PanelInputs:
    """The panel's vectors and sampling; ``arr`` moves a host value to the device."""
    p = exp.detector[panel]
    o = exp.oversample
    sub = np.array([(s, f) for s in range(o) for f in range(o)], dtype=np.int64)
    sensor = p.sensor
    return PanelInputs(
        fdet=arr(p.fast_axis), sdet=arr(p.slow_axis), odet=arr(p.normal), pix0=arr(p.origin_m),
        close_distance_m=p.close_distance_m, curve_radius_m=p.curve_radius_m, pixel_size_m=p.pixel_size_m,
        point_pixel=p.point_pixel, sub_index=arr(sub, "int64"), subpixel_size_m=p.pixel_size_m / o, oversample=o,
        layer_offset_m=arr([i * sensor.step_m for i in range(sensor.steps)]),
        layer_index=arr([float(i) for i in range(sensor.steps)]),
        thick=sensor.thick_m != 0.0 or exp.capture_without_sensor, thickstep_m=sensor.step_m,
        mu_per_m=sensor.mu_per_m)


def beam_inputs(exp: Experiment, arr) -> BeamInputs:
    """The beam's sources and polarization on the device."""
    b = exp.beam
    return BeamInputs(beam=arr(b.direction), incident=arr(-b.sources.direction),
                      wavelength_m=arr(b.sources.wavelength_m), polar_axis=arr(b.polarization_axis),
                      kahn=b.kahn_factor, nopolar=not b.polarization_correction)


def crystal_inputs(exp: Experiment, arr) -> CrystalInputs:
    """The cells of every (phi step, mosaic domain), flattened to (R, 3, 3), and the spot shape."""
    cr = exp.crystal
    carried = exp.phi_carryover
    return CrystalInputs(
        cells=arr(exp.rotated_cells.reshape(-1, 3, 3)),
        carried_cells=arr(exp.carried_cells.reshape(-1, 3, 3)) if carried else None,
        first_pass_cells=arr(exp.first_pass_cells.reshape(-1, 3, 3)) if carried else None,
        reciprocal=arr(cr.reciprocal_axes_per_A), shape=cr.shape, Na=cr.Na, Nb=cr.Nb, Nc=cr.Nc, fudge=cr.fudge)


def table_inputs(exp: Experiment, arr) -> TableInputs:
    """The structure-factor table (:func:`host_table`) on the device."""
    table = host_table(exp)
    hkl = exp.crystal.structure_factors
    return TableInputs(
        F_padded_flat=arr(table.F_padded_flat),
        F_keys=None if table.keys is None else arr(table.keys, "int64"), F_fill=table.fill_F,
        hkl_origin=table.origin, hkl_shape=table.shape, default_F=exp.crystal.default_F,
        have_table=hkl is not None and hkl.count > 0)


def scaling_inputs(exp: Experiment) -> ScalingInputs:
    """The constants of the final scaling."""
    return ScalingInputs(
        scale=R_E_SQR_M2 * exp.beam.fluence, steps=exp.steps, background_I=exp.background_I,
        water=exp.water_m != 0.0, dmin_m=exp.dmin_m, oversample_thick=exp.oversample_thick,
        oversample_polar=exp.oversample_polar, oversample_omega=exp.oversample_omega,
        reference_forms=exp.reference_forms)


def _mover(xp, device, dtype):
    """A function moving a host value to ``device`` as an array of ``dtype`` (or of the dtype named)."""
    def arr(x, dt=None):
        dt = dtype if dt is None else getattr(xp, dt)
        return xp.asarray(np.asarray(x), dtype=dt, device=device)
    return arr


def kernel_inputs(exp: Experiment, xp, device, dtype, *, panel: int = 0) -> KernelInputs:
    """Move the experiment's arrays for ``panel`` to the backend, in the working dtype."""
    arr = _mover(xp, device, dtype)
    return KernelInputs(panel=panel_inputs(exp, panel, arr), beam=beam_inputs(exp, arr),
                        crystal=crystal_inputs(exp, arr), table=table_inputs(exp, arr),
                        scaling=scaling_inputs(exp))


def panel_kernel_inputs(exp: Experiment, xp, device, dtype) -> tuple[KernelInputs, ...]:
    """:func:`kernel_inputs` of every panel, sharing the arrays that are the same for all (one table)."""
    first = kernel_inputs(exp, xp, device, dtype)
    arr = _mover(xp, device, dtype)
    return (first, *(replace(first, panel=panel_inputs(exp, i, arr)) for i in range(1, len(exp.detector))))
