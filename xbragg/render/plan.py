"""Tile planning: how many pixels a tile holds, how the tiles run, and the memory a render needs.

Tiles are runs of pixels in raster order inside the region of interest, sized
from a memory budget so that peak memory does not grow with the detector, and
capped per backend (:data:`xbragg.backends.FACTS`).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from ..backends import FACTS
from ..errors import InputError
from ..memory import check_memory, image_bytes, table_bytes
from ..setup.experiment import Experiment

DEFAULT_MEMORY_BUDGET_BYTES = 128 * 2**20
# Below this many evaluations a fork (~20 ms) costs more than the other cores give.
PROCESS_MIN_EVALUATIONS = 500_000
_BYTES_PER_EVALUATION = 400          # working arrays per (pixel, layer, sub-pixel, source, rotation)
_BYTES_PER_EVALUATION_INTERP = 2600  # plus the 4x4x4 neighbourhood and weights


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one render: the region, the tiles' spans and how they run."""

    x0: int                            # first fast pixel of the region
    y0: int                            # first slow pixel of the region
    nx: int                            # region width (pixels; 0 or less: empty)
    ny: int                            # region height
    mode: str                          # "serial", "processes" or "threads" (see parallel_plan)
    workers: int
    tile_pixels: int
    plain_tile_pixels: int             # pixels per tile once interpolation is off
    spans: tuple                       # (start, stop) raster indices in the region, in order
    traced: int | None                 # raster index of the traced pixel (a one-pixel tile), or None
    panel: int = 0                     # the detector panel rendered

    def spans_between(self, start: int, stop: int, step: int) -> list:
        """Tiles of ``step`` pixels from raster index ``start`` to ``stop``, the traced pixel alone."""
        return _raster_spans(start, stop, step, self.traced)

    @property
    def total(self) -> int:
        """Pixels in the region."""
        return max(self.nx, 0) * max(self.ny, 0)


def plan_tiles(exp: Experiment, backend: str, dtype: str, *, memory_budget_bytes: int,
               tile_pixels: int | None, workers: int | None, trace_pixel: tuple[int, int] | None,
               recording: bool, panel: int = 0) -> TilePlan:
    """Tiles of the region of ``exp``'s ``panel`` for ``backend`` (see :func:`xbragg.render.render` for the arguments).

    ``recording``: every tile's kernel arrays go to a callback, so tiles run one
    after another.  Raises :class:`InputError` for a ``tile_pixels`` that is not a whole
    number of at least 1 and where one pixel exceeds the memory budget (:func:`tile_size`).
    """
    x0, x1, y0, y1 = exp.roi_bounds_of(panel)
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    total = max(nx, 0) * max(ny, 0)
    # interpolation and phi carry-over depend on which pixel comes first in raster order: side
    # by side, a pre-pass finds that pixel first (render.execute.run_prepassed)
    mode, workers = parallel_plan(backend, workers, ordered=recording,
                                  evaluations=total * exp.evaluations_per_pixel_of(panel),
                                  tracing=trace_pixel is not None)
    if tile_pixels is not None and not (isinstance(tile_pixels, (int, np.integer)) and tile_pixels >= 1):
        raise InputError(f"tile_pixels must be a whole number of pixels, at least 1, got {tile_pixels!r}")
    step = tile_pixels or tile_size(exp, memory_budget_bytes, dtype, workers=workers, backend=backend, panel=panel)
    # without the tricubic neighbourhood's arrays a tile holds several times more pixels
    plain = tile_pixels or tile_size(exp, memory_budget_bytes, dtype, workers=workers, backend=backend, panel=panel,
                                     interpolate=False)
    traced = None
    if trace_pixel is not None:
        ts, tf = trace_pixel
        if x0 <= tf <= x1 and y0 <= ts <= y1:
            traced = (ts - y0) * nx + (tf - x0)
    return TilePlan(x0=x0, y0=y0, nx=nx, ny=ny, mode=mode, workers=workers, tile_pixels=step,
                    spans=tuple(_raster_spans(0, total, step, traced)), traced=traced, panel=panel,
                    plain_tile_pixels=plain)


def _raster_spans(start: int, stop: int, step: int, traced: int | None) -> list:
    """(start, stop) pairs of ``step`` pixels covering ``start`` to ``stop``; ``traced`` a tile of its own."""
    bounds = set(range(start, stop, step)) | {stop}
    if traced is not None and start <= traced < stop:
        bounds |= {traced, traced + 1}
    edges = sorted(bounds)
    return list(zip(edges[:-1], edges[1:]))


def render_memory_bytes(exp: Experiment, dtype: str = "float64",
                        memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES, panel: int = 0) -> int:
    """Estimated peak bytes of :func:`xbragg.render.render` of a panel: structure factors, tiles, and the image."""
    itemsize = 4 if dtype == "float32" else 8
    x0, x1, y0, y1 = exp.roi_bounds_of(panel)
    region = max(x1 - x0 + 1, 0) * max(y1 - y0 + 1, 0)
    full = exp.detector[panel].fast_pixels * exp.detector[panel].slow_pixels
    return table_bytes(exp.crystal.structure_factors, itemsize) + memory_budget_bytes + image_bytes(region, full, itemsize)


def check_render_memory(needed_bytes: int, limit_bytes: int | None, exp: Experiment, what: str,
                        limit_flag: str = "memory_limit_bytes", panel: int = 0) -> None:
    """Refuse a run estimated to need more than ``limit_bytes``, naming the flags that shrink it."""
    p = exp.detector[panel]
    check_memory(needed_bytes, limit_bytes, what=f"{what} of a {p.fast_pixels}x{p.slow_pixels}-pixel detector",
                 change="use a smaller detector (-detpixels, -detsize, -pixel) or --dtype float32",
                 limit_flag=limit_flag)


def tile_size(exp: Experiment, memory_budget_bytes: int, dtype: str, *, workers: int = 1,
              backend: str = "numpy", panel: int = 0, interpolate: bool | None = None) -> int:
    """Pixels per tile so that the kernel's working arrays fit the budget.

    ``workers`` tiles are in flight at once and share the budget.  ``interpolate``:
    size for tiles with (True) or without (False) tricubic interpolation; ``None``:
    as ``exp`` says.  Raises
    :class:`~xbragg.errors.InputError` when a single pixel needs more than the budget
    (for instance an automatic oversampling of thousands for a huge crystal).
    """
    per_eval = _BYTES_PER_EVALUATION_INTERP if (exp.interpolate if interpolate is None else interpolate) \
        else _BYTES_PER_EVALUATION
    if dtype == "float32":
        per_eval //= 2
    evaluations = exp.evaluations_per_pixel_of(panel)
    per_pixel = per_eval * evaluations
    if not memory_budget_bytes > 0:
        raise InputError(f"the memory budget must be positive, got {memory_budget_bytes} bytes",
                         flag="--memory-budget")
    if per_pixel > memory_budget_bytes:
        # blame -oversample only where it is what makes one pixel large
        lower = (f"lower -oversample (auto-selected {exp.oversample_recommended} from the crystal size) or "
                 if exp.oversample > 1 else "")
        raise InputError(
            f"one pixel needs {evaluations} evaluations ({exp.detector[panel].sensor.steps} layers x "
            f"{exp.oversample}^2 sub-pixels x {exp.beam.sources.count} sources x {exp.scan.phisteps} phi steps x "
            f"{exp.crystal.domains} domains), about {_size(per_pixel)}, more than the "
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
    one per that many evaluations), serial below; threads where forking is not
    possible (other systems, a daemonic process, a traced render, whose record
    stays in this process) or when ``workers`` asks for them on a small render.  The other backends thread
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
                and not _in_daemon_process())
    if large and can_fork:
        # each worker is worth its fork only with PROCESS_MIN_EVALUATIONS of work
        return "processes", min(n, max(2, evaluations // max(1, PROCESS_MIN_EVALUATIONS)))
    if large or workers is not None:
        return "threads", n
    return "serial", 1


def _in_daemon_process() -> bool:
    """Whether this process is a daemonic multiprocessing worker (it may not fork children)."""
    import multiprocessing          # not imported by runs that never get here
    return multiprocessing.current_process().daemon
