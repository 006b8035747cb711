"""Differentiable forward model: the image as a function of the continuous parameters.

The host set-up resolves the discrete choices once (convention, pivot, step counts,
oversampling, sources, structure factors); this package recomputes, with array-API
operations, every kernel input that depends on the continuous parameters, so that with
PyTorch the image can be differentiated by autograd::

    params = Parameters.from_experiment(exp, requires_grad=("a_A", "misset_z_deg"))
    image = simulate(exp, params)            # torch tensor (spixels, fpixels)
    image.sum().backward(); params.a_A.grad

For a detector placed by a DIALS experiment list (or to move any detector panel by panel),
:class:`PanelParameters` replace the nanoBragg detector parameters by a shift of each
panel's origin (``Simulator.panels`` renders every panel).  See ``docs/refinement.md``.
"""
from __future__ import annotations

from .model import Simulator, differentiable_fields, simulate
from .parameters import UNITS, PanelParameters, Parameters

__all__ = ["Parameters", "PanelParameters", "Simulator", "simulate", "differentiable_fields", "UNITS"]
