"""Kernel inputs recomputed from :class:`Parameters`, and the differentiable image."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from array_api_compat import array_namespace, device as device_of

from ..constants import R_E_SQR_M2, RTD
from ..kernel.intensity import CrystalInputs, KernelInputs, PanelInputs
from ..kernel.vectors import rotate_umat
from ..render import panel_kernel_inputs, render
from ..setup.experiment import water_background
from ..setup.geometry import (beam_centre_fs, detector_frame, detector_ratio, misset, real_from_reciprocal,
                              reciprocal_from_cell, rotated_cells, shifted_panel_origin)
from .parameters import PanelParameters, Parameters, nanobragg_setup


@dataclass(frozen=True)
class DeviceConstants:
    """The host constants :func:`differentiable_fields` needs, on the parameters' device.

    Made once per :class:`Simulator`, so that a refinement step uploads nothing.
    """

    beam: Any
    twotheta_axis: Any              # None without a nanoBragg recipe
    basis0: tuple | None            # fdet, sdet, odet before the detector rotations
    orientation: Any                # the -mat crystal's orientation before the misset, or None
    umats: Any                      # mosaic rotations, or None without mosaic spread
    spindle: Any
    wavelength_ratio: Any           # each source's wavelength over the nominal one
    carried_steps: Any              # phi step each step reuses (carry-over), or None
    first_pass_steps: Any           # the same in the run's first pass, or None

    @classmethod
    def of(cls, exp, xp, dtype, device) -> "DeviceConstants":
        """The constants of ``exp``; without a nanoBragg recipe (an experiment list's detector)
        ``twotheta_axis`` and ``basis0`` are ``None``: only :class:`PanelParameters` move it."""
        def const(x):
            return xp.asarray(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)
        setup, cr = exp.detector_setup, exp.crystal
        return cls(beam=const(exp.beam.direction),
                   twotheta_axis=None if setup is None else const(setup.twotheta_axis),
                   basis0=None if setup is None else tuple(const(v) for v in setup.basis0),
                   orientation=const(cr.orientation) if cr.from_matrix else None,
                   umats=const(cr.mosaic_umats) if cr.mosaic_spread_rad > 0.0 else None,
                   spindle=const(exp.goniometer.rotation_axis),
                   wavelength_ratio=const(exp.beam.sources.wavelength_m / exp.beam.wavelength_m),
                   # which step each carried step reuses is a discrete choice, made on the host
                   carried_steps=(xp.asarray(exp.scan.carried_steps, device=device)
                                  if exp.phi_carryover else None),
                   first_pass_steps=(xp.asarray(exp.scan.first_pass_steps, device=device)
                                     if exp.phi_carryover else None))


def differentiable_fields(exp, params: Parameters | PanelParameters, base: KernelInputs, *,
                          constants: DeviceConstants | None = None, panel: int = 0) -> KernelInputs:
    """``base`` (the kernel inputs of panel ``panel``) with the fields that depend on ``params``
    recomputed, as arrays of its namespace.

    The panel's frame, pix0 and distances (from the nanoBragg recipe for :class:`Parameters`,
    by the panel's shift for :class:`PanelParameters`), the cells of every (phi step, mosaic
    domain) (and their phi carry-over copies), reciprocal vectors, source wavelengths, scale
    and water background.  ``constants``: :class:`DeviceConstants` of ``exp`` on the
    parameters' device (made when not given).
    """
    p = params
    xp = array_namespace(p.a_A)
    if constants is None:
        constants = DeviceConstants.of(exp, xp, p.a_A.dtype, device_of(p.a_A))
    if isinstance(p, PanelParameters):
        panel_fields = _shifted_panel(xp, exp, p, base.panel, panel)
    else:
        panel_fields = _nanobragg_panel(xp, exp, p, constants, base.panel)
    return dataclasses.replace(
        base, panel=panel_fields, crystal=_crystal_fields(xp, exp, p, constants, base.crystal),
        beam=dataclasses.replace(base.beam, wavelength_m=(p.wavelength_A / 1e10) * constants.wavelength_ratio),
        scaling=dataclasses.replace(base.scaling, scale=R_E_SQR_M2 * p.fluence,
                                    background_I=water_background(exp.water_m, p.fluence)))


def _nanobragg_panel(xp, exp, p: Parameters, k: DeviceConstants, base: PanelInputs) -> PanelInputs:
    """The panel placed by the nanoBragg recipe (convention, pivot, rotations) from ``p``."""
    det = nanobragg_setup(exp)
    rotations = {name: getattr(p, f"{name}_deg") / RTD for name in ("rotx", "roty", "rotz", "twotheta")}
    ratio = detector_ratio(xp, k.beam, k.basis0[2], rotations["rotx"], rotations["roty"], rotations["rotz"])
    # BEAM pivot: -Xbeam/-Ybeam of the convention; SAMPLE pivot: the near point before the rotations
    beam_xy = (p.beam_x_mm / 1000.0, p.beam_y_mm / 1000.0)
    fdet, sdet, odet, pix0, close, distance = detector_frame(
        xp, k.basis0, k.beam, k.twotheta_axis, **rotations, pivot=det.pivot, ratio=ratio,
        distance_m=p.distance_mm / 1000.0, close_fs_m=beam_xy,
        beam_fs_m=beam_centre_fs(det.convention, *beam_xy, exp.panel.pixel_size_m, det.detsize_fs_m[1]))
    curved = base.curve_radius_m is not None
    return dataclasses.replace(base, fdet=fdet, sdet=sdet, odet=odet, pix0=pix0, close_distance_m=close,
                               curve_radius_m=distance if curved else None)


def _shifted_panel(xp, exp, p: PanelParameters, base: PanelInputs, panel: int) -> PanelInputs:
    """Panel ``panel`` moved by its row of ``p.panel_shift_mm`` along its own axes."""
    if base.curve_radius_m is not None:
        raise ValueError("PanelParameters move flat panels; this panel is curved (-curved_det)")
    shift_m = p.panel_shift_mm[panel, ...] / 1000.0
    pix0, close = shifted_panel_origin(xp, base.pix0, base.fdet, base.sdet, base.odet, shift_m)
    return dataclasses.replace(base, pix0=pix0, close_distance_m=close)


def _crystal_fields(xp, exp, p, k: DeviceConstants, base: CrystalInputs) -> CrystalInputs:
    """The cells of every (phi step, mosaic domain) and the reciprocal vectors from ``p``'s cell,
    misset and phi0 (for -mat and experiment-list crystals, with their constant orientation)."""
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
    return dataclasses.replace(base, cells=flattened(cells), carried_cells=reused(k.carried_steps),
                               first_pass_cells=reused(k.first_pass_steps), reciprocal=xp.stack(list(recip)))


class Simulator:
    """A differentiable image of ``exp`` as a function of :class:`Parameters` or :class:`PanelParameters`.

    Builds the constant kernel inputs (structure factors, sources, sampling, every panel's
    sampling) once for the parameters' namespace, device and dtype; each call recomputes
    only the fields that depend on the parameters and renders.  ``render_kwargs`` go to
    :func:`xbragg.render` (e.g. ``memory_budget_bytes``).
    """

    def __init__(self, exp, params: Parameters | PanelParameters, **render_kwargs):
        self.exp = exp
        xp, dev, dtype = array_namespace(params.a_A), device_of(params.a_A), params.a_A.dtype
        self.bases: tuple[KernelInputs, ...] = panel_kernel_inputs(exp, xp, dev, dtype)
        self.base: KernelInputs = self.bases[0]
        self.constants = DeviceConstants.of(exp, xp, dtype, dev)
        self.render_kwargs = render_kwargs

    def inputs(self, params: Parameters | PanelParameters, panel: int = 0) -> KernelInputs:
        """Kernel inputs of panel ``panel`` for ``params``."""
        return differentiable_fields(self.exp, params, self.bases[panel], constants=self.constants, panel=panel)

    def __call__(self, params: Parameters | PanelParameters, panel: int = 0):
        """Image (spixels, fpixels) of panel ``panel``, photons per pixel, differentiable in ``params``."""
        return render(self.exp, inputs=self.inputs(params, panel), panel=panel, **self.render_kwargs).image

    def panels(self, params: Parameters | PanelParameters) -> tuple:
        """The image of every panel, in the detector's order."""
        return tuple(self(params, index) for index in range(len(self.exp.detector)))


def simulate(exp, params: Parameters | PanelParameters, *, panel: int = 0, **render_kwargs):
    """Image of panel ``panel`` of ``exp`` with the continuous parameters ``params``, differentiable (PyTorch).

    For repeated calls (refinement) build a :class:`Simulator` once instead.
    """
    return Simulator(exp, params, **render_kwargs)(params, panel)
