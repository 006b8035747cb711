"""Kernel inputs recomputed from :class:`Parameters`, and the differentiable image."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace, device as device_of

from ..constants import R_E_SQR_M2, RTD
from ..kernel.intensity import KernelInputs
from ..kernel.vectors import rotate_umat
from ..render import kernel_inputs, render
from ..setup.experiment import water_background
from ..setup.geometry import (beam_centre_fs, detector_frame, detector_ratio, misset, real_from_reciprocal,
                              reciprocal_from_cell, rotated_cells)
from .parameters import Parameters, nanobragg_setup


@dataclass(frozen=True)
class DeviceConstants:
    """The host constants :func:`differentiable_fields` needs, on the parameters' device.

    Made once per :class:`Simulator`, so that a refinement step uploads nothing.
    """

    beam: Any
    twotheta_axis: Any
    basis0: tuple                   # fdet, sdet, odet before the detector rotations
    orientation: Any                # the -mat crystal's orientation before the misset, or None
    umats: Any                      # mosaic rotations, or None without mosaic spread
    spindle: Any
    wavelength_ratio: Any           # each source's wavelength over the nominal one
    carried_steps: Any              # phi step each step reuses (carry-over), or None
    first_pass_steps: Any           # the same in the run's first pass, or None

    @classmethod
    def of(cls, exp, xp, dtype, device) -> "DeviceConstants":
        def const(x):
            return xp.asarray(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)
        setup, cr = nanobragg_setup(exp), exp.crystal
        return cls(beam=const(exp.beam.direction), twotheta_axis=const(setup.twotheta_axis),
                   basis0=tuple(const(v) for v in setup.basis0),
                   orientation=const(cr.orientation) if cr.from_matrix else None,
                   umats=const(cr.mosaic_umats) if cr.mosaic_spread_rad > 0.0 else None,
                   spindle=const(exp.goniometer.rotation_axis),
                   wavelength_ratio=const(exp.beam.sources.wavelength_m / exp.beam.wavelength_m),
                   # which step each carried step reuses is a discrete choice, made on the host
                   carried_steps=(xp.asarray(exp.scan.carried_steps, device=device)
                                  if exp.phi_carryover else None),
                   first_pass_steps=(xp.asarray(exp.scan.first_pass_steps, device=device)
                                     if exp.phi_carryover else None))


def differentiable_fields(exp, params: Parameters, base: KernelInputs, *,
                          constants: DeviceConstants | None = None) -> KernelInputs:
    """``base`` with the fields that depend on ``params`` recomputed, as arrays of its namespace.

    Detector basis, pix0, distances, cells of every (phi step, mosaic domain) (and their
    phi carry-over copies), reciprocal vectors, source wavelengths, scale and water
    background.  ``constants``: :class:`DeviceConstants` of ``exp`` on the parameters'
    device (made when not given).
    """
    p = params
    xp = array_namespace(p.a_A)
    if constants is None:
        constants = DeviceConstants.of(exp, xp, p.a_A.dtype, device_of(p.a_A))
    k = constants
    det = nanobragg_setup(exp)
    rotations = {name: getattr(p, f"{name}_deg") / RTD for name in ("rotx", "roty", "rotz", "twotheta")}
    ratio = detector_ratio(xp, k.beam, k.basis0[2], rotations["rotx"], rotations["roty"], rotations["rotz"])
    # BEAM pivot: -Xbeam/-Ybeam of the convention; SAMPLE pivot: the near point before the rotations
    beam_xy = (p.beam_x_mm / 1000.0, p.beam_y_mm / 1000.0)
    fdet, sdet, odet, pix0, close, distance = detector_frame(
        xp, k.basis0, k.beam, k.twotheta_axis, **rotations, pivot=det.pivot, ratio=ratio,
        distance_m=p.distance_mm / 1000.0, close_fs_m=beam_xy,
        beam_fs_m=beam_centre_fs(det.convention, *beam_xy, exp.panel.pixel_size_m, det.detsize_fs_m[1]))

    # the -cell path of the host set-up; for -mat crystals the constant U before the misset
    reciprocal, V_cell, _ = reciprocal_from_cell(xp, p.a_A, p.b_A, p.c_A, p.alpha_deg / RTD,
                                                 p.beta_deg / RTD, p.gamma_deg / RTD)
    if k.orientation is not None:
        reciprocal = tuple(rotate_umat(k.orientation, v) for v in reciprocal)
    reciprocal = misset(xp, reciprocal, p.misset_x_deg / RTD, p.misset_y_deg / RTD, p.misset_z_deg / RTD)
    real, recip, _, _ = real_from_reciprocal(xp, *reciprocal, cell_A=(p.a_A, p.b_A, p.c_A), V_cell=V_cell)
    cells = rotated_cells(xp, tuple(v * 1e-10 for v in real), phi0_rad=p.phi0_deg / RTD,
                          phistep_rad=exp.scan.phistep_rad, phisteps=exp.scan.phisteps, spindle=k.spindle,
                          umats=k.umats)

    def flattened(c):                                    # (steps, D, 3, 3) -> (R, 3, 3)
        return xp.reshape(c, (-1, 3, 3))

    def reused(steps):                                   # carry-over copy of the cells, or None
        return None if steps is None else flattened(xp.take(cells, steps, axis=0))
    curved = base.panel.curve_radius_m is not None
    return dataclasses.replace(
        base,
        panel=dataclasses.replace(base.panel, fdet=fdet, sdet=sdet, odet=odet, pix0=pix0, close_distance_m=close,
                                  curve_radius_m=distance if curved else None),
        crystal=dataclasses.replace(base.crystal, cells=flattened(cells), carried_cells=reused(k.carried_steps),
                                    first_pass_cells=reused(k.first_pass_steps),
                                    reciprocal=xp.stack(list(recip))),
        beam=dataclasses.replace(base.beam, wavelength_m=(p.wavelength_A / 1e10) * k.wavelength_ratio),
        scaling=dataclasses.replace(base.scaling, scale=R_E_SQR_M2 * p.fluence,
                                    background_I=water_background(exp.water_m, p.fluence)))


class Simulator:
    """A differentiable image of ``exp`` as a function of :class:`Parameters`.

    Builds the constant kernel inputs (structure factors, sources, sampling) once for
    the parameters' namespace, device and dtype; each call recomputes only the fields
    that depend on the parameters and renders.  ``render_kwargs`` go to
    :func:`xbragg.render` (e.g. ``memory_budget_bytes``).
    """

    def __init__(self, exp, params: Parameters, **render_kwargs):
        self.exp = exp
        xp, dev, dtype = array_namespace(params.a_A), device_of(params.a_A), params.a_A.dtype
        self.base: KernelInputs = kernel_inputs(exp, xp, dev, dtype)
        self.constants = DeviceConstants.of(exp, xp, dtype, dev)
        self.render_kwargs = render_kwargs

    def inputs(self, params: Parameters) -> KernelInputs:
        """Kernel inputs for ``params``."""
        return differentiable_fields(self.exp, params, self.base, constants=self.constants)

    def __call__(self, params: Parameters):
        """Image (spixels, fpixels), photons per pixel, differentiable in ``params``."""
        return render(self.exp, inputs=self.inputs(params), **self.render_kwargs).image


def simulate(exp, params: Parameters, **render_kwargs):
    """Image of ``exp`` with the continuous parameters ``params``, differentiable (PyTorch).

    For repeated calls (refinement) build a :class:`Simulator` once instead.
    """
    return Simulator(exp, params, **render_kwargs)(params)
