"""Running the kernel over a plan's tiles: one after another, forked or threaded, eager or compiled.

Serial runs carry the state that makes the order matter from tile to tile: the
tricubic interpolation's fall-back and the phi carry-over's first pass.
Side-by-side runs hold neither (:func:`xbragg.render.plan.parallel_plan` keeps
such renders serial).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from ..backends import compiled_kernel, to_numpy
from ..kernel.intensity import KernelInputs, tile_intensity
from ..setup.experiment import Experiment
from .plan import TilePlan


def tile_arrays(exp: Experiment, plan: TilePlan, start: int, stop: int, xp, device):
    """Slow and fast indices, (P,) integer arrays on ``device``, of the region's raster
    pixels ``start`` to ``stop``, and their mask flags (``None`` without a mask)."""
    idx = np.arange(start, stop, dtype=np.int64)
    spix_np = plan.y0 + idx // plan.nx
    fpix_np = plan.x0 + idx % plan.nx
    valid = None
    mask = exp.mask_of(plan.panel)
    if mask is not None:
        valid = xp.asarray(mask[spix_np, fpix_np], device=device)
    return xp.asarray(spix_np, device=device), xp.asarray(fpix_np, device=device), valid


def tile_kernel(backend: str, plan: TilePlan, xp, *, compile: bool | None, evaluations: int) -> Callable:
    """:func:`~xbragg.kernel.intensity.tile_intensity`, compiled where that pays
    (:func:`xbragg.backends.compiled_kernel`).

    The compiled kernel sees one tile shape: short tiles are padded by repeating their
    last pixel (padding comes after every real pixel, so it changes no result) and cut
    back.  Recorded tiles run eagerly.
    """
    kernel = compiled_kernel(backend, tile_intensity, enabled=compile, evaluations=evaluations)
    if kernel is tile_intensity:
        return tile_intensity
    step = plan.tile_pixels

    def padded(inp, spix, fpix, valid=None, **kw):
        if kw.get("record") is not None:
            return tile_intensity(inp, spix, fpix, valid=valid, **kw)
        short = step - spix.shape[0]
        if short <= 0:
            return kernel(inp, spix, fpix, valid=valid, **kw)

        def pad(a):
            return xp.concat([a, xp.broadcast_to(a[-1:], (short,))], axis=0)
        values, state, carry = kernel(inp, pad(spix), pad(fpix), valid=None if valid is None else pad(valid), **kw)
        return values[:spix.shape[0]], state, carry
    return padded


def run_serial(kernel: Callable, inp: KernelInputs, exp: Experiment, plan: TilePlan, xp, device, *,
               record: dict | None, record_tile: Callable[[dict, Any, Any], None] | None,
               progress: Callable[[int, int], None] | None) -> tuple[list, tuple | None]:
    """The tiles' values in order, and the Miller indices that switched interpolation off (or ``None``)."""
    interp_active = xp.asarray(True, device=device) if exp.interpolate else None
    carry_started = xp.asarray(False, device=device) if exp.phi_carryover else None
    fell_back_at = None
    pieces = []
    for span in plan.spans:
        spix, fpix, valid = tile_arrays(exp, plan, *span, xp, device)
        rec = record if span[0] == plan.traced else ({} if record_tile is not None else None)
        values, state, carry_started = kernel(inp, spix, fpix, valid=valid, interp_active=interp_active,
                                              carry_started=carry_started, record=rec, xp=xp)
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
            progress(span[1], plan.total)
    return pieces, fell_back_at


def run_side_by_side(kernel: Callable, inp: KernelInputs, exp: Experiment, plan: TilePlan, xp, device, *,
                     record: dict | None, progress: Callable[[int, int], None] | None) -> list:
    """The tiles' values in order, rendered ``plan.workers`` at a time in forked processes or threads."""
    def one(span):
        spix, fpix, valid = tile_arrays(exp, plan, *span, xp, device)
        rec = record if span[0] == plan.traced else None
        return kernel(inp, spix, fpix, valid=valid, record=rec, xp=xp)[0]
    pieces = []
    for span, values in zip(plan.spans, _map_tiles(one, plan.spans, plan.workers, plan.mode == "processes")):
        pieces.append(values)
        if progress is not None:
            progress(span[1], plan.total)
    return pieces


def _map_tiles(one, spans, workers: int, in_processes: bool):
    """``one(span)`` for every span, results in order: forked processes or threads.

    Forked workers (:class:`~xbragg.workers.ForkPool`) inherit ``one`` (and the
    experiment it closes over) without pickling; only the spans go out and the
    tiles' values (NumPy arrays) come back.  An exception here (Ctrl-C, SIGTERM on
    the command line) kills them at once, and they exit if this process dies.
    """
    if in_processes:
        from ..workers import ForkPool          # multiprocessing's import, only for forked renders
        with ForkPool(one, workers) as pool:
            yield from pool.map(spans)
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield from pool.map(one, spans)
    finally:
        # an interrupted render does not wait for the tiles still queued
        pool.shutdown(wait=True, cancel_futures=True)
