"""Render an :class:`~xbragg.setup.experiment.Experiment` tile by tile on any backend.

Tiles are runs of pixels in raster order inside the region of interest,
sized from a memory budget so that peak memory does not grow with the
detector.  Tiles run in raster order because the reference's interpolation
fall-back depends on which pixel first leaves the structure-factor table.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from array_api_compat import array_namespace, device as device_of

from .backends import FACTS, backend_of, compiled_kernel, kernel_namespace, resolve_device, resolve_dtype, to_numpy
from .constants import R_E_SQR_M2
from .errors import InputError
from .kernel.intensity import KernelInputs, tile_intensity
from .memory import check_memory, image_bytes, table_bytes
from .setup.experiment import Experiment
from .workers import ForkPool

DEFAULT_MEMORY_BUDGET_BYTES = 128 * 2**20
# Below this many evaluations a fork (~20 ms) costs more than the other cores give.
PROCESS_MIN_EVALUATIONS = 500_000
_BYTES_PER_EVALUATION = 400          # working arrays per (pixel, layer, sub-pixel, source, rotation)
_BYTES_PER_EVALUATION_INTERP = 2600  # plus the 4x4x4 neighbourhood and weights


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


def kernel_inputs(exp: Experiment, xp, device, dtype) -> KernelInputs:
    """Move the experiment's arrays to the backend, in the working dtype."""
    det = exp.detector

    def arr(x, dt=dtype):
        return xp.asarray(np.asarray(x), dtype=dt, device=device)

    o = exp.oversample
    sub = np.array([(s, f) for s in range(o) for f in range(o)], dtype=np.int64)
    T = exp.thickness.steps
    cells = exp.rotated_cells.reshape(-1, 3, 3)              # (R, 3[a,b,c], 3[xyz])
    table = exp.hkl
    keys = None
    if table is not None and table.sparse:
        # listed cells only, looked up by flat index (kernel.structure_factor.sparse_take)
        F_flat = F_padded_flat = table.values
        keys = table.keys
        shape, origin = table.shape, table.origin
    else:
        F_grid = table.F if table is not None else np.zeros((1, 1, 1))
        origin = table.origin if table is not None else (0, 0, 0)
        shape = tuple(int(s) for s in F_grid.shape)
        F_flat = F_grid.reshape(-1)
        # one plane of default_F on every side: nearest-node lookups clamp into it (nearest_F)
        F_padded = np.full(tuple(n + 2 for n in shape), float(exp.default_F))
        F_padded[1:-1, 1:-1, 1:-1] = F_grid
        F_padded_flat = F_padded.reshape(-1)
    F_flat_on = arr(F_flat)
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
        F_padded_flat=F_flat_on if keys is not None else arr(F_padded_flat),
        rotations=cells.shape[0], subpixel_size_m=det.pixel_size_m / o, pixel_size_m=det.pixel_size_m,
        oversample=o, close_distance_m=det.close_distance_m, distance_m=det.distance_m,
        curved=det.curved, point_pixel=det.point_pixel,
        thick=exp.thickness.thick_m != 0.0 or exp.capture_without_sensor,
        thickstep_m=exp.thickness.step_m, mu_per_m=exp.thickness.mu_per_m,
        kahn=exp.kahn_polarization, nopolar=exp.nopolar, shape=cr.xtal_shape, Na=cr.Na, Nb=cr.Nb,
        Nc=cr.Nc, fudge=cr.fudge, hkl_origin=origin, hkl_shape=shape, default_F=exp.default_F,
        have_table=exp.hkl is not None and exp.hkl.count > 0,
        oversample_thick=exp.oversample_thick, oversample_polar=exp.oversample_polar,
        oversample_omega=exp.oversample_omega, dmin_m=exp.dmin_m, water=exp.water_m != 0.0,
        scale=R_E_SQR_M2 * exp.fluence, steps=exp.steps, background_I=exp.background_I,
        reference_forms=exp.reference_forms,
        F_keys=None if keys is None else arr(keys, xp.int64),
        F_fill=table.fill_F if keys is not None else 0.0,
    )


def roi_bounds(exp: Experiment) -> tuple[int, int, int, int]:
    """Inclusive pixel bounds (x0, x1, y0, y1) of the rendered region, clipped to the detector."""
    xmin, xmax, ymin, ymax = exp.roi
    det = exp.detector
    return (max(xmin, 0), min(xmax, det.fpixels - 1), max(ymin, 0), min(ymax, det.spixels - 1))


def render_memory_bytes(exp: Experiment, dtype: str = "float64",
                        memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES) -> int:
    """Estimated peak bytes of :func:`render`: structure factors, tiles, and the assembled image."""
    itemsize = 4 if dtype == "float32" else 8
    x0, x1, y0, y1 = roi_bounds(exp)
    region = max(x1 - x0 + 1, 0) * max(y1 - y0 + 1, 0)
    full = exp.detector.fpixels * exp.detector.spixels
    return table_bytes(exp.hkl, itemsize) + memory_budget_bytes + image_bytes(region, full, itemsize)


def check_render_memory(needed_bytes: int, limit_bytes: int | None, exp: Experiment, what: str,
                        limit_flag: str = "memory_limit_bytes") -> None:
    """Refuse a run estimated to need more than ``limit_bytes``, naming the flags that shrink it."""
    det = exp.detector
    check_memory(needed_bytes, limit_bytes, what=f"{what} of a {det.fpixels}x{det.spixels}-pixel detector",
                 change="use a smaller detector (-detpixels, -detsize, -pixel) or --dtype float32",
                 limit_flag=limit_flag)


def evaluations_per_pixel(exp: Experiment) -> int:
    """Kernel evaluations per pixel: layers x sub-pixels x sources x phi x mosaic."""
    return (exp.thickness.steps * exp.oversample ** 2 * exp.sources.count
            * exp.phi.phisteps * exp.mosaic_umats.shape[0])


def tile_size(exp: Experiment, memory_budget_bytes: int, dtype: str, *, workers: int = 1,
              backend: str = "numpy") -> int:
    """Pixels per tile so that the kernel's working arrays fit the budget.

    ``workers`` tiles are in flight at once and share the budget.  Raises
    :class:`~xbragg.errors.InputError` when a single pixel needs more than the budget (for instance an automatic oversampling of thousands for a huge crystal).
    """
    per_eval = _BYTES_PER_EVALUATION_INTERP if exp.interpolate else _BYTES_PER_EVALUATION
    if dtype == "float32":
        per_eval //= 2
    per_pixel = per_eval * evaluations_per_pixel(exp)
    if not memory_budget_bytes > 0:
        raise InputError(f"the memory budget must be positive, got {memory_budget_bytes} bytes",
                         flag="--memory-budget")
    if per_pixel > memory_budget_bytes:
        # blame -oversample only where it is what makes one pixel large
        lower = (f"lower -oversample (auto-selected {exp.oversample_recommended} from the crystal size) or "
                 if exp.oversample > 1 else "")
        raise InputError(
            f"one pixel needs {evaluations_per_pixel(exp)} evaluations ({exp.thickness.steps} layers x "
            f"{exp.oversample}^2 sub-pixels x {exp.sources.count} sources x {exp.phi.phisteps} phi steps x "
            f"{exp.mosaic_umats.shape[0]} domains), about {_size(per_pixel)}, more than the "
            f"memory budget of {_size(memory_budget_bytes)}; {lower}raise --memory-budget",
            flag="-oversample" if lower else "--memory-budget")
    # tiles in flight at once share the budget, but each holds at least one pixel
    per_tile = min(memory_budget_bytes // workers, FACTS[backend].tile_bytes)
    return max(1, int(per_tile // per_pixel))


def _size(nbytes: int) -> str:
    """A byte count for a message: bytes below a MiB, whole MiB above."""
    return f"{nbytes:.0f} bytes" if nbytes < 2**20 else f"{nbytes / 2**20:.0f} MiB"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def parallel_plan(backend: str, workers: int | None, *, ordered: bool, evaluations: int,
                  tracing: bool) -> tuple[str, int]:
    """How a render's tiles run: ("serial", 1), ("processes", n) or ("threads", n).

    NumPy: forked processes on Linux for renders of at least
    :data:`PROCESS_MIN_EVALUATIONS` evaluations (every core by default, at most
    one per that many evaluations), serial below; threads where forking is not possible (other systems, a daemonic
    process, a traced render, whose record stays in this process) or when
    ``workers`` asks for them on a small render.  The other backends thread
    inside their operations: serial unless ``workers`` says otherwise.
    """
    facts = FACTS[backend]
    if ordered or workers == 1 or (workers is None and not facts.tiles_side_by_side):
        return "serial", 1
    n = workers if workers is not None else available_cores()
    if n <= 1:
        return "serial", 1
    large = evaluations >= PROCESS_MIN_EVALUATIONS
    can_fork = (facts.forks and sys.platform.startswith("linux") and not tracing
                and not multiprocessing.current_process().daemon)
    if large and can_fork:
        # each worker is worth its fork only with PROCESS_MIN_EVALUATIONS of work
        return "processes", min(n, max(2, evaluations // max(1, PROCESS_MIN_EVALUATIONS)))
    if large or workers is not None:
        return "threads", n
    return "serial", 1


def render(exp: Experiment, *, backend: str = "numpy", device: str | None = None,
           dtype: str = "float64", memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES,
           tile_pixels: int | None = None,
           progress: Callable[[int, int], None] | None = None,
           trace_pixel: tuple[int, int] | None = None, workers: int | None = None,
           inputs: KernelInputs | None = None, compile: bool | None = None,
           record_tile: Callable[[dict, Any, Any], None] | None = None,
           memory_limit_bytes: int | None = None) -> RenderResult:
    """Render the whole image (ROI and mask applied) and return it on the chosen backend.

    ``progress(done_pixels, total_pixels)`` is called after each tile.
    ``trace_pixel`` (slow, fast): that pixel is rendered as a one-pixel tile with the
    kernel's intermediate arrays recorded in ``RenderResult.trace`` (same numbers as
    the image: tiling never changes a pixel); ``None`` costs nothing.
    ``workers``: tiles rendered at once (default: every core for NumPy, 1 for the other
    backends, which thread inside operations); see :func:`parallel_plan` for when they
    are processes and when threads.
    ``inputs``: kernel inputs already on the backend (for instance built from PyTorch
    tensors that require gradients, see :mod:`xbragg.differentiable`); their namespace,
    device and dtype then replace ``backend``, ``device`` and ``dtype``.  By default
    they are made from ``exp`` by :func:`kernel_inputs`.  ``compile``: compile the
    kernel where the backend can (PyTorch); ``None`` decides from the image size
    (:func:`xbragg.backends.compiled_kernel`).
    ``record_tile(record, spix, fpix)``: called after each tile, in raster order, with
    the kernel's recorded arrays of that tile (as for ``trace_pixel``) and its pixels'
    slow and fast indices, (P,) arrays; tiles then run one after another.
    ``memory_limit_bytes``: raise :class:`InputError` before allocating anything when
    the estimate (:func:`render_memory_bytes`) exceeds it; ``None``: no limit.
    """
    if inputs is not None:
        # the inputs' own namespace, device and dtype (for instance tensors that require grad)
        backend = backend_of(array_namespace(inputs.fdet))
        xp = kernel_namespace(backend)
        dev, dt = device_of(inputs.fdet), inputs.fdet.dtype
        dtype = "float32" if dt == xp.float32 else "float64"
    else:
        xp = kernel_namespace(backend)
        dev = resolve_device(xp, backend, device)
        dt = resolve_dtype(xp, dtype)
    det = exp.detector
    x0, x1, y0, y1 = roi_bounds(exp)
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    total = max(nx, 0) * max(ny, 0)
    # interpolation and phi carry-over keep one ordered stream: both depend on which pixel
    # comes first in raster order
    mode, workers = parallel_plan(backend, workers,
                                  ordered=exp.interpolate or exp.phi_carryover or record_tile is not None,
                                  evaluations=total * evaluations_per_pixel(exp),
                                  tracing=trace_pixel is not None)
    if tile_pixels is not None and not (isinstance(tile_pixels, (int, np.integer)) and tile_pixels >= 1):
        raise InputError(f"tile_pixels must be a whole number of pixels, at least 1, got {tile_pixels!r}")
    step = tile_pixels or tile_size(exp, memory_budget_bytes, dtype, workers=workers, backend=backend)
    check_render_memory(render_memory_bytes(exp, dtype, memory_budget_bytes), memory_limit_bytes, exp,
                        "rendering the image")
    inp = inputs if inputs is not None else kernel_inputs(exp, xp, dev, dt)
    if total == 0:
        image = xp.zeros((det.spixels, det.fpixels), dtype=dt, device=dev)
        return RenderResult(image=image, interpolation_fell_back=False, fallback_hkl=None, tiles=0)
    bounds = set(range(0, total, step)) | {total}
    traced = None
    if trace_pixel is not None:
        ts, tf = trace_pixel
        if x0 <= tf <= x1 and y0 <= ts <= y1:
            traced = (ts - y0) * nx + (tf - x0)
            bounds |= {traced, traced + 1}
    edges = sorted(bounds)
    tiles_span = list(zip(edges[:-1], edges[1:]))
    interp_active = xp.asarray(True, device=dev) if exp.interpolate else None
    carry_started = xp.asarray(False, device=dev) if exp.phi_carryover else None
    fell_back_at = None
    record: dict | None = {} if traced is not None else None
    pieces = []

    def tile_arrays(start: int, stop: int):
        idx = np.arange(start, stop, dtype=np.int64)
        spix_np = y0 + idx // nx
        fpix_np = x0 + idx % nx
        valid = None
        if exp.mask is not None:
            valid = xp.asarray(exp.mask[spix_np, fpix_np], device=dev)
        return xp.asarray(spix_np, device=dev), xp.asarray(fpix_np, device=dev), valid

    kernel = compiled_kernel(backend, tile_intensity, enabled=compile,
                             evaluations=total * evaluations_per_pixel(exp))
    if kernel is not tile_intensity:
        # one tile shape for the compiled kernel: pad short tiles by repeating their last
        # pixel (padding comes after every real pixel, so it changes no result) and cut back
        def tile_kernel(inp, spix, fpix, valid=None, **kw):
            if kw.get("record") is not None:
                return tile_intensity(inp, spix, fpix, valid=valid, **kw)
            short = step - spix.shape[0]
            if short <= 0:
                return kernel(inp, spix, fpix, valid=valid, **kw)
            def pad(a):
                return xp.concat([a, xp.broadcast_to(a[-1:], (short,))], axis=0)
            values, state, carry = kernel(inp, pad(spix), pad(fpix),
                                          valid=None if valid is None else pad(valid), **kw)
            return values[:spix.shape[0]], state, carry
    else:
        tile_kernel = tile_intensity

    if mode != "serial" and len(tiles_span) > 1:
        def one(span):
            spix, fpix, valid = tile_arrays(*span)
            rec = record if span[0] == traced else None
            return tile_kernel(inp, spix, fpix, valid=valid, record=rec, xp=xp)[0]
        in_processes = mode == "processes"
        for span, values in zip(tiles_span, _map_tiles(one, tiles_span, workers, in_processes)):
            pieces.append(values)
            if progress is not None:
                progress(span[1], total)
    else:
        for span in tiles_span:
            spix, fpix, valid = tile_arrays(*span)
            rec = record if span[0] == traced else ({} if record_tile is not None else None)
            values, state, carry_started = tile_kernel(
                inp, spix, fpix, valid=valid, interp_active=interp_active, carry_started=carry_started,
                record=rec, xp=xp)
            if record_tile is not None:
                record_tile(rec, spix, fpix)
            if state is not None:
                interp_active = state["active"]
                if not bool(interp_active):
                    # interpolation is off for the rest of the run: later tiles skip the
                    # tricubic work altogether
                    fell_back_at = tuple(float(v) for v in to_numpy(state["first_hkl"]))
                    interp_active = None
            pieces.append(values)
            if progress is not None:
                progress(span[1], total)
    tiles = len(pieces)
    block = xp.concat(pieces, axis=0) if tiles > 1 else pieces[0]
    pieces.clear()                      # the tiles are no longer needed: halves the peak
    image = _embed(xp, xp.reshape(block, (ny, nx)), det.spixels, det.fpixels, x0, y0)
    return RenderResult(image=image, interpolation_fell_back=fell_back_at is not None,
                        fallback_hkl=fell_back_at, tiles=tiles, trace=record)


def _map_tiles(one, spans, workers: int, in_processes: bool):
    """``one(span)`` for every span, results in order: forked processes or threads.

    Forked workers (:class:`~xbragg.workers.ForkPool`) inherit ``one`` (and the
    experiment it closes over) without pickling; only the spans go out and the
    tiles' values (NumPy arrays) come back.  An exception here (Ctrl-C, SIGTERM on
    the command line) kills them at once, and they exit if this process dies.
    """
    if in_processes:
        with ForkPool(one, workers) as pool:
            yield from pool.map(spans)
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield from pool.map(one, spans)
    finally:
        # an interrupted render does not wait for the tiles still queued
        pool.shutdown(wait=True, cancel_futures=True)


def _embed(xp, block, spixels: int, fpixels: int, x0: int, y0: int):
    """Place ``block`` at (y0, x0) in a zero image of (spixels, fpixels), without scatter."""
    ny, nx = block.shape
    if (ny, nx) == (spixels, fpixels):
        return block

    def zeros(r, c):
        return xp.zeros((r, c), dtype=block.dtype, device=device_of(block))
    parts = []
    if x0 > 0:
        parts.append(zeros(ny, x0))
    parts.append(block)
    if fpixels - x0 - nx > 0:
        parts.append(zeros(ny, fpixels - x0 - nx))
    row_band = xp.concat(parts, axis=1) if len(parts) > 1 else block
    rows = []
    if y0 > 0:
        rows.append(zeros(y0, fpixels))
    rows.append(row_band)
    if spixels - y0 - ny > 0:
        rows.append(zeros(spixels - y0 - ny, fpixels))
    return xp.concat(rows, axis=0) if len(rows) > 1 else row_band
