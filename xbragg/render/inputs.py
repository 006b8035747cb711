"""Host-side preparation: the experiment's arrays as the kernel takes them, on the backend.

The structure-factor table is prepared on the host (a dense grid gets a border of
``default_F`` for nearest-node lookups; a sparse table stays keys and values), then
every array moves to the render device in the working dtype once per render.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..constants import R_E_SQR_M2
from ..kernel.intensity import KernelInputs
from ..setup.experiment import Experiment


class HostTable(NamedTuple):
    """Structure factors as the kernel looks them up, on the host."""

    F_flat: np.ndarray            # flattened grid (C order), or a sparse table's values
    F_padded_flat: np.ndarray     # the grid with one plane of default_F on every side; sparse: the values
    keys: np.ndarray | None       # sparse table: sorted flat grid indices of the values; None: dense
    origin: tuple                 # (h, k, l) of the grid's first cell
    shape: tuple                  # the grid's shape, without the border
    fill_F: float                 # sparse table: F of the cells not listed


def host_table(exp: Experiment) -> HostTable:
    """The experiment's structure factors prepared for the kernel (a 1-cell dummy without a table)."""
    table = exp.hkl
    if table is not None and table.sparse:
        # listed cells only, looked up by flat index (kernel.structure_factor.sparse_take)
        return HostTable(table.values, table.values, table.keys, table.origin, table.shape, table.fill_F)
    F_grid = table.F if table is not None else np.zeros((1, 1, 1))
    origin = table.origin if table is not None else (0, 0, 0)
    shape = tuple(int(s) for s in F_grid.shape)
    # one plane of default_F on every side: nearest-node lookups clamp into it (nearest_F)
    F_padded = np.full(tuple(n + 2 for n in shape), float(exp.default_F))
    F_padded[1:-1, 1:-1, 1:-1] = F_grid
    return HostTable(F_grid.reshape(-1), F_padded.reshape(-1), None, origin, shape, 0.0)


def kernel_inputs(exp: Experiment, xp, device, dtype) -> KernelInputs:
    """Move the experiment's arrays to the backend, in the working dtype."""
    det = exp.detector

    def arr(x, dt=dtype):
        return xp.asarray(np.asarray(x), dtype=dt, device=device)

    o = exp.oversample
    sub = np.array([(s, f) for s in range(o) for f in range(o)], dtype=np.int64)
    T = exp.thickness.steps
    cells = exp.rotated_cells.reshape(-1, 3, 3)              # (R, 3[a,b,c], 3[xyz])
    table = host_table(exp)
    F_flat_on = arr(table.F_flat)
    cr = exp.crystal
    return KernelInputs(
        fdet=arr(det.fdet), sdet=arr(det.sdet), odet=arr(det.odet), pix0=arr(det.pix0),
        beam=arr(det.beam), sub_index=arr(sub, xp.int64),
        layer_offset_m=arr([i * exp.thickness.step_m for i in range(T)]),
        layer_index=arr([float(i) for i in range(T)]),
        incident=arr(-exp.sources.direction), wavelength_m=arr(exp.sources.wavelength_m),
        polar_axis=arr(det.polar_vector), cells=arr(cells),
        carried_cells=arr(exp.carried_cells.reshape(-1, 3, 3)) if exp.phi_carryover else None,
        first_pass_cells=arr(exp.first_pass_cells.reshape(-1, 3, 3)) if exp.phi_carryover else None,
        reciprocal=arr(np.stack([cr.a_star, cr.b_star, cr.c_star])), F_flat=F_flat_on,
        F_padded_flat=F_flat_on if table.keys is not None else arr(table.F_padded_flat),
        rotations=cells.shape[0], subpixel_size_m=det.pixel_size_m / o, pixel_size_m=det.pixel_size_m,
        oversample=o, close_distance_m=det.close_distance_m, distance_m=det.distance_m,
        curved=det.curved, point_pixel=det.point_pixel,
        thick=exp.thickness.thick_m != 0.0 or exp.capture_without_sensor,
        thickstep_m=exp.thickness.step_m, mu_per_m=exp.thickness.mu_per_m,
        kahn=exp.kahn_polarization, nopolar=exp.nopolar, shape=cr.xtal_shape, Na=cr.Na, Nb=cr.Nb,
        Nc=cr.Nc, fudge=cr.fudge, hkl_origin=table.origin, hkl_shape=table.shape, default_F=exp.default_F,
        have_table=exp.hkl is not None and exp.hkl.count > 0,
        oversample_thick=exp.oversample_thick, oversample_polar=exp.oversample_polar,
        oversample_omega=exp.oversample_omega, dmin_m=exp.dmin_m, water=exp.water_m != 0.0,
        scale=R_E_SQR_M2 * exp.fluence, steps=exp.steps, background_I=exp.background_I,
        reference_forms=exp.reference_forms,
        F_keys=None if table.keys is None else arr(table.keys, xp.int64),
        F_fill=table.fill_F,
    )
