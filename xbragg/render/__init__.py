"""Render an :class:`~xbragg.setup.experiment.Experiment` tile by tile on any backend.

One job per module: host-side preparation of the kernel's inputs (:mod:`.inputs`),
tile planning (:mod:`.plan`), running the kernel over the tiles (:mod:`.execute`)
and assembling the image (:mod:`.assemble`).  The reference's interpolation
fall-back and phi carry-over depend on which pixel comes first in raster order:
serial renders carry that state from tile to tile, side-by-side ones find it in a
pre-pass (:func:`~xbragg.render.execute.run_prepassed`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from array_api_compat import array_namespace, device as device_of

from ..backends import backend_of, kernel_namespace, resolve_device, resolve_dtype
from ..kernel.intensity import KernelInputs, tile_intensity
from ..setup.experiment import Experiment
from .assemble import assemble
from .execute import run_prepassed, run_serial, run_side_by_side, tile_kernel
from .inputs import kernel_inputs, panel_kernel_inputs
from .plan import DEFAULT_MEMORY_BUDGET_BYTES, check_render_memory, plan_tiles, render_memory_bytes

__all__ = ["DEFAULT_MEMORY_BUDGET_BYTES", "RenderResult", "check_render_memory", "kernel_inputs",
           "panel_kernel_inputs", "render",
           "render_detector", "render_memory_bytes", "counted_from"]


@dataclass
class RenderResult:
    """A rendered image and what happened while rendering it.

    ``image``: (spixels, fpixels) array of the chosen backend, device and dtype,
    photons per pixel; pixels outside the ROI or masked are 0.
    """

    image: Any
    interpolation_fell_back: bool
    fallback_hkl: tuple[float, float, float] | None
    tiles: int
    trace: dict | None = None            # kernel arrays of the traced pixel (render(trace_pixel=...))


def render(exp: Experiment, *, backend: str = "numpy", device: str | None = None,
           dtype: str = "float64", memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
           tile_pixels: int | None = None,
           progress: Callable[[int, int], None] | None = None,
           trace_pixel: tuple[int, int] | None = None, workers: int | None = None,
           inputs: KernelInputs | None = None, compile: bool | None = None,
           record_tile: Callable[[dict, Any, Any], None] | None = None,
           memory_limit_bytes: int | None = None, panel: int = 0) -> RenderResult:
    """Render the image of one detector panel (ROI and mask applied) on the chosen backend.

    ``panel``: index into ``exp.detector``; the image is that panel's (slow, fast).

    ``progress(done_pixels, total_pixels)`` is called after each tile.
    ``trace_pixel`` (slow, fast): that pixel is rendered as a one-pixel tile with the
    kernel's intermediate arrays recorded in ``RenderResult.trace`` (same numbers as
    the image: tiling never changes a pixel); ``None`` costs nothing.
    ``workers``: tiles rendered at once (default: every core for NumPy, 1 for the other
    backends, which thread inside operations); see :func:`~xbragg.render.plan.parallel_plan` for when they
    are processes and when threads.
    ``inputs``: kernel inputs already on the backend (for instance built from PyTorch
    tensors that require gradients, see :mod:`xbragg.differentiable`); their namespace,
    device and dtype then replace ``backend``, ``device`` and ``dtype``.  By default
    they are made from ``exp`` by :func:`~xbragg.render.inputs.kernel_inputs`.  ``compile``: compile the
    kernel where the backend can (PyTorch); ``None`` decides from the image size
    (:func:`xbragg.backends.compiled_kernel`).
    ``record_tile(record, spix, fpix)``: called after each tile, in raster order, with
    the kernel's recorded arrays of that tile (as for ``trace_pixel``) and its pixels'
    slow and fast indices, (P,) arrays; tiles then run one after another.
    Interpolation (fall-back) and phi carry-over renders give the same image whatever
    the tiles and workers: side by side, a pre-pass finds where the serial stream's state
    changes (:func:`~xbragg.render.execute.run_prepassed`).
    ``memory_limit_bytes``: raise :class:`InputError` before allocating anything when
    the estimate (:func:`~xbragg.render.plan.render_memory_bytes`) exceeds it; ``None``: no limit.
    """
    if inputs is not None:
        # the inputs' own namespace, device and dtype (for instance tensors that require grad)
        backend = backend_of(array_namespace(inputs.panel.fdet))
        xp = kernel_namespace(backend)
        dev, dt = device_of(inputs.panel.fdet), inputs.panel.fdet.dtype
        dtype = "float32" if dt == xp.float32 else "float64"
    else:
        xp = kernel_namespace(backend)
        dev = resolve_device(xp, backend, device)
        dt = resolve_dtype(xp, dtype)
    shape = exp.detector[panel].shape
    plan = plan_tiles(exp, backend, dtype, memory_budget_bytes=memory_budget_bytes, tile_pixels=tile_pixels,
                      workers=workers, trace_pixel=trace_pixel, recording=record_tile is not None, panel=panel)
    check_render_memory(render_memory_bytes(exp, dtype, memory_budget_bytes, panel), memory_limit_bytes, exp,
                        "rendering the image", panel=panel)
    inp = inputs if inputs is not None else kernel_inputs(exp, xp, dev, dt, panel=panel)
    if plan.total == 0:
        image = xp.zeros(shape, dtype=dt, device=dev)
        return RenderResult(image=image, interpolation_fell_back=False, fallback_hkl=None, tiles=0)
    kernel = tile_kernel(backend, plan, xp, compile=compile,
                         evaluations=plan.total * exp.evaluations_per_pixel_of(panel))
    record: dict | None = {} if plan.traced is not None else None
    fell_back_at = None
    # an eager kernel takes larger tiles once interpolation is off; a compiled one keeps its shape
    retile = kernel is tile_intensity
    if plan.mode == "serial" or len(plan.spans) <= 1:
        pieces, fell_back_at = run_serial(kernel, inp, exp, plan, xp, dev, record=record,
                                          record_tile=record_tile, progress=progress, retile=retile)
    elif exp.interpolate or exp.phi_carryover:
        pieces, fell_back_at = run_prepassed(kernel, inp, exp, plan, xp, dev, record=record, progress=progress,
                                             retile=retile)
    else:
        pieces = run_side_by_side(kernel, inp, exp, plan, xp, dev, record=record, progress=progress)
    tiles = len(pieces)
    image = assemble(pieces, plan, *shape, xp)
    return RenderResult(image=image, interpolation_fell_back=fell_back_at is not None,
                        fallback_hkl=fell_back_at, tiles=tiles, trace=record)


def render_detector(exp: Experiment, *, progress: Callable[[int, int], None] | None = None,
                    **render_kwargs) -> tuple[RenderResult, ...]:
    """Render every panel of ``exp.detector``, one :func:`render` each (tiles never span panels).

    ``progress(done_pixels, total_pixels)`` counts over all panels.  The interpolation
    fall-back and the phi carry-over, which depend on which pixel comes first, run per
    panel in its own raster order.  ``render_kwargs`` as for :func:`render` (not ``panel``).
    """
    totals = [exp.roi_pixels_of(i) for i in range(len(exp.detector))]
    return tuple(render(exp, panel=index, progress=counted_from(progress, sum(totals[:index]), sum(totals)),
                        **render_kwargs) for index in range(len(exp.detector)))


def counted_from(progress: Callable[[int, int], None] | None, before: int, total: int):
    """``progress`` for one panel's render: its pixels counted after ``before`` of ``total``
    (``None`` for ``None``)."""
    if progress is None:
        return None
    return lambda done, _panel_total: progress(before + done, total)
