"""Running the kernel over a plan's tiles: one after another, forked or threaded, eager or compiled.

Serial runs carry the state that makes the order matter from tile to tile: the
tricubic interpolation's fall-back and the phi carry-over's first pass.
Side-by-side runs of such renders find that state with a pre-pass first
(:func:`run_prepassed`).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np

from ..backends import compiled_kernel, to_numpy
from ..kernel.intensity import KernelInputs, first_fallback, first_phi_pass, tile_intensity
from ..setup.experiment import Experiment
from .assemble import TileValues
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
               progress: Callable[[int, int], None] | None, retile: bool = False) -> tuple[TileValues, tuple | None]:
    """The tiles' values in order, and the Miller indices that switched interpolation off (or ``None``).

    ``retile``: once interpolation is off, the remaining pixels run in tiles of
    ``plan.plain_tile_pixels`` (an eager kernel; a compiled one keeps its tile shape).
    The first tile is then looked at first with the fall-back's pre-pass
    (:func:`~xbragg.kernel.intensity.first_fallback`): the raster starts at a corner
    of the detector, its highest resolution, where the fall-back is likeliest, and a
    tricubic tile costs about ten times its pre-pass; when the fall-back is there,
    the tile ends at its pixel.
    """
    interp_active = xp.asarray(True, device=device) if exp.interpolate else None
    carry_started = xp.asarray(False, device=device) if exp.phi_carryover else None
    fell_back_at = None
    pieces = TileValues(xp)
    spans = list(plan.spans)
    if retile and interp_active is not None and spans:
        start, stop = spans[0]
        spix, fpix, valid = tile_arrays(exp, plan, start, stop, xp, device)
        local = int(first_fallback(inp, spix, fpix, valid, carry_started, xp=xp))
        per_pixel = exp.evaluations_per_pixel_of(plan.panel)
        if local < (stop - start) * per_pixel:
            end = start + local // per_pixel + 1
            spans = (plan.spans_between(start, end, plan.tile_pixels)
                     + plan.spans_between(end, plan.total, plan.plain_tile_pixels))
    k = 0
    while k < len(spans):
        span = spans[k]
        k += 1
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
                # tricubic work altogether, and hold more pixels
                fell_back_at = tuple(float(v) for v in to_numpy(state["first_hkl"]))
                interp_active = None
                if retile:
                    spans[k:] = plan.spans_between(span[1], plan.total, plan.plain_tile_pixels)
        pieces.append(values)
        if progress is not None:
            progress(span[1], plan.total)
    return pieces, fell_back_at


def run_prepassed(kernel: Callable, inp: KernelInputs, exp: Experiment, plan: TilePlan, xp, device, *,
                  record: dict | None, progress: Callable[[int, int], None] | None,
                  retile: bool = False) -> tuple[TileValues, tuple | None]:
    """As :func:`run_serial`, with the tiles side by side (``plan.workers`` at a time).

    A pre-pass, itself side by side, finds the points where the order of the
    evaluations matters, tile by tile in raster order until the first tile that
    has one: the first pixel that reaches the phi loop (carry-over,
    :func:`~xbragg.kernel.intensity.first_phi_pass`), then the first reached
    evaluation whose neighbourhood leaves the table
    (:func:`~xbragg.kernel.intensity.first_fallback`).  Every tile of the main pass
    is then told the state the serial stream would have handed it: carry-over
    started before its first pixel or not, interpolation on (the tiles up to the
    fall-back's pixel, which finds it again) or off (every later tile, in tiles of
    ``plan.plain_tile_pixels`` when ``retile``).
    """
    per_pixel = exp.evaluations_per_pixel_of(plan.panel)
    true = xp.asarray(True, device=device)

    def started(start: int, carry_pixel: int | None):
        if not exp.phi_carryover:
            return None
        return xp.asarray(carry_pixel is not None and carry_pixel < start, device=device)

    def one(item):
        kind, (start, stop), carry_pixel, interpolating = item
        spix, fpix, valid = tile_arrays(exp, plan, start, stop, xp, device)
        if kind == "carry":
            return int(first_phi_pass(inp, spix, fpix, valid, xp=xp))
        if kind == "fallback":
            return int(first_fallback(inp, spix, fpix, valid, started(start, carry_pixel), xp=xp))
        values, state, _ = kernel(inp, spix, fpix, valid=valid, interp_active=true if interpolating else None,
                                  carry_started=started(start, carry_pixel),
                                  record=record if start == plan.traced else None, xp=xp)
        if state is None or bool(state["active"]):
            return values, None
        return values, tuple(float(v) for v in to_numpy(state["first_hkl"]))

    # the pre-pass needs no tricubic arrays: tiles of the plain size
    find_spans = plan.spans_between(0, plan.total, plan.plain_tile_pixels)
    with _tile_pool(one, plan.workers, plan.mode == "processes") as map_tiles:
        carry_pixel = fallback_pixel = None
        if exp.phi_carryover:
            carry_pixel = _first_hit(map_tiles([("carry", s, None, False) for s in find_spans]), find_spans, 1)
        if exp.interpolate:
            first = _first_hit(map_tiles([("fallback", s, carry_pixel, True) for s in find_spans]),
                               find_spans, per_pixel)
            fallback_pixel = None if first is None else first // per_pixel
        if fallback_pixel is None:
            spans = list(plan.spans)
        else:
            spans = (plan.spans_between(0, fallback_pixel + 1, plan.tile_pixels)
                     + plan.spans_between(fallback_pixel + 1, plan.total,
                                          plan.plain_tile_pixels if retile else plan.tile_pixels))
        items = [("render", s, carry_pixel, exp.interpolate and (fallback_pixel is None or s[0] <= fallback_pixel))
                 for s in spans]
        pieces, fell_back_at = TileValues(xp), None
        for span, (values, hkl) in zip(spans, map_tiles(items)):
            pieces.append(values)
            fell_back_at = fell_back_at or hkl
            if progress is not None:
                progress(span[1], plan.total)
    return pieces, fell_back_at


def _first_hit(results, spans: list, per_pixel: int) -> int | None:
    """The region-wide index of the first hit of a pre-pass, or ``None``.

    ``results``: each tile's own first index (per_pixel indices per pixel), its
    size when the tile has none; closed at the first hit (later tiles cannot come first).
    """
    try:
        for (start, stop), local in zip(spans, results):
            if local < (stop - start) * per_pixel:
                return start * per_pixel + local
        return None
    finally:
        results.close()


def run_side_by_side(kernel: Callable, inp: KernelInputs, exp: Experiment, plan: TilePlan, xp, device, *,
                     record: dict | None, progress: Callable[[int, int], None] | None) -> TileValues:
    """The tiles' values in order, rendered ``plan.workers`` at a time in forked processes or threads."""
    def one(span):
        spix, fpix, valid = tile_arrays(exp, plan, *span, xp, device)
        rec = record if span[0] == plan.traced else None
        return kernel(inp, spix, fpix, valid=valid, record=rec, xp=xp)[0]
    pieces = TileValues(xp)
    for span, values in zip(plan.spans, _map_tiles(one, plan.spans, plan.workers, plan.mode == "processes")):
        pieces.append(values)
        if progress is not None:
            progress(span[1], plan.total)
    return pieces


def _map_tiles(one, spans, workers: int, in_processes: bool):
    """``one(span)`` for every span, results in order (see :func:`_tile_pool`)."""
    with _tile_pool(one, workers, in_processes) as map_tiles:
        yield from map_tiles(spans)


@contextmanager
def _tile_pool(one, workers: int, in_processes: bool):
    """A function mapping ``one`` over items, results in order, in forked processes or threads.

    Forked workers (:class:`~xbragg.workers.ForkPool`) inherit ``one`` (and the
    experiment it closes over) without pickling; only the items go out and the
    results (NumPy arrays, numbers) come back.  An exception here (Ctrl-C, SIGTERM on
    the command line) kills them at once, and they exit if this process dies.
    """
    if in_processes:
        from ..workers import ForkPool          # multiprocessing's import, only for forked renders
        with ForkPool(one, workers) as pool:
            yield pool.map
        return
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield lambda items: pool.map(one, items)
    finally:
        # an interrupted render does not wait for the tiles still queued
        pool.shutdown(wait=True, cancel_futures=True)
