"""Kernel inputs recomputed from :class:`Parameters`, and the differentiable image."""
from __future__ import annotations

import dataclasses

import numpy as np
from array_api_compat import array_namespace, device as device_of

from ..constants import R_E_SQR_M2, RTD
from ..kernel.intensity import KernelInputs
from ..render import kernel_inputs, render
from ..setup.experiment import water_background
from .geometry import crystal_vectors, detector_frame, reciprocal_from_cell, rotate_xyz, rotated_cells
from .parameters import Parameters

def crystal_orientation(exp) -> np.ndarray | None:
    """Constant map U with a*, b*, c* = R_misset U B(cell) for ``-mat`` crystals, else ``None``.

    B(cell) is the reference's reciprocal construction from the cell of
    :meth:`Parameters.values_of`; U is solved on the host from the crystal's reciprocal
    vectors.  (The reference's construction is not an exact B matrix for oblique cells,
    so U is a general linear map, close to a rotation.)
    """
    import array_api_compat.numpy as npx
    cr = exp.crystal
    if not cr.from_matrix:
        return None
    v = Parameters.values_of(exp)
    B = np.stack(reciprocal_from_cell(npx, *(np.float64(v[k]) for k in ("a_A", "b_A", "c_A")),
                                      *(np.float64(v[k]) / RTD for k in ("alpha_deg", "beta_deg", "gamma_deg"))
                                      )[:3], axis=1)
    A = np.stack([cr.a_star, cr.b_star, cr.c_star], axis=1)
    misset = [np.float64(v[k]) / RTD for k in ("misset_x_deg", "misset_y_deg", "misset_z_deg")]
    Rm = np.stack([rotate_xyz(npx, e, *misset) for e in np.eye(3)], axis=1)
    return Rm.T @ A @ np.linalg.inv(B)


def differentiable_fields(exp, params: Parameters, *, orientation=None) -> dict:
    """The :class:`KernelInputs` fields that depend on ``params``, as arrays of its namespace.

    Detector basis, pix0, distances, cells of every (phi step, mosaic domain) (and their
    phi carry-over copy), reciprocal vectors, source wavelengths, scale and water
    background.  ``orientation``: :func:`crystal_orientation` of ``exp`` (computed when
    not given).
    """
    p = params
    xp = array_namespace(p.a_A)
    dtype, dev = p.a_A.dtype, device_of(p.a_A)

    def const(x):
        return xp.asarray(np.asarray(x, dtype=np.float64), dtype=dtype, device=dev)

    if orientation is None:
        orientation = crystal_orientation(exp)
    fdet, sdet, odet, pix0, close, distance = detector_frame(
        xp, exp.detector, distance_mm=p.distance_mm, beam_x_mm=p.beam_x_mm, beam_y_mm=p.beam_y_mm,
        rotx_deg=p.rotx_deg, roty_deg=p.roty_deg, rotz_deg=p.rotz_deg, twotheta_deg=p.twotheta_deg,
        const=const)
    real, recip = crystal_vectors(
        xp, a_A=p.a_A, b_A=p.b_A, c_A=p.c_A, alpha_deg=p.alpha_deg, beta_deg=p.beta_deg,
        gamma_deg=p.gamma_deg, misset_deg=(p.misset_x_deg, p.misset_y_deg, p.misset_z_deg),
        orientation=None if orientation is None else const(orientation))
    umats = const(exp.mosaic_umats) if exp.mosaic_spread_rad > 0.0 else None
    cells = rotated_cells(xp, real, phi0_deg=p.phi0_deg, phistep_rad=exp.phi.phistep_rad,
                          phisteps=exp.phi.phisteps, spindle=const(exp.detector.spindle_axis), umats=umats)

    def flattened(c):                                    # (steps, D, 3, 3) -> (R, 3, 3)
        return xp.reshape(c, (-1, 3, 3))
    carried = None
    if exp.phi_carryover:
        # which step each carried step reuses is a discrete choice, resolved on the host
        index = xp.asarray(exp.phi.carried_steps, device=dev)
        carried = flattened(xp.take(cells, index, axis=0))

    ratio = const(exp.sources.wavelength_m / exp.wavelength_m)
    background = water_background(exp.water_m, p.fluence) if exp.water_m != 0.0 else exp.background_I
    return dict(
        fdet=fdet, sdet=sdet, odet=odet, pix0=pix0, close_distance_m=close, distance_m=distance,
        cells=flattened(cells), carried_cells=carried, reciprocal=xp.stack(list(recip)),
        wavelength_m=(p.wavelength_A / 1e10) * ratio, scale=R_E_SQR_M2 * p.fluence,
        background_I=background)


def backend_name(xp) -> str:
    """The :func:`xbragg.render` backend name of an array namespace."""
    from array_api_compat import is_cupy_namespace, is_numpy_namespace, is_torch_namespace
    for name, test in (("torch", is_torch_namespace), ("numpy", is_numpy_namespace),
                       ("cupy", is_cupy_namespace)):
        if test(xp):
            return name
    if getattr(xp, "__name__", "") == "array_api_strict":
        return "array_api_strict"
    raise ValueError(f"no xbragg backend for the array namespace {xp!r}")


class Simulator:
    """A differentiable image of ``exp`` as a function of :class:`Parameters`.

    Builds the constant kernel inputs (structure factors, sources, sampling) once for
    the parameters' namespace, device and dtype; each call recomputes only the fields
    that depend on the parameters and renders.  ``render_kwargs`` go to
    :func:`xbragg.render` (e.g. ``memory_budget_bytes``).
    """

    def __init__(self, exp, params: Parameters, **render_kwargs):
        self.exp = exp
        xp = array_namespace(params.a_A)
        self._backend = backend_name(xp)
        dev = device_of(params.a_A)
        self._device = None if self._backend == "numpy" else str(dev)
        self._dtype = "float32" if params.a_A.dtype == xp.float32 else "float64"
        self.base: KernelInputs = kernel_inputs(exp, xp, dev, params.a_A.dtype)
        self.orientation = crystal_orientation(exp)
        self.render_kwargs = render_kwargs

    def inputs(self, params: Parameters) -> KernelInputs:
        """Kernel inputs for ``params``."""
        return dataclasses.replace(self.base, **differentiable_fields(self.exp, params,
                                                                      orientation=self.orientation))

    def __call__(self, params: Parameters):
        """Image (spixels, fpixels), photons per pixel, differentiable in ``params``."""
        return render(self.exp, backend=self._backend, device=self._device, dtype=self._dtype,
                      inputs=self.inputs(params), **self.render_kwargs).image


def simulate(exp, params: Parameters, **render_kwargs):
    """Image of ``exp`` with the continuous parameters ``params``, differentiable (PyTorch).

    For repeated calls (refinement) build a :class:`Simulator` once instead.
    """
    return Simulator(exp, params, **render_kwargs)(params)
