"""One frame of a series: its experiment from the shared one and its plan entry, and its image.

Only what the plan entry names changes (:class:`~xbragg.series.plan.FrameSpec`): the
scan's start angle, the crystal's orientation, its mosaic domains and the fluence.
Everything a render moves to the device that no frame changes (detector pixels, beam
sources, the structure-factor table) is kept per process between frames
(:func:`render_frame`), so a worker prepares it once, not once per frame.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, replace

import numpy as np

from ..backends import kernel_namespace, resolve_device, resolve_dtype, to_numpy
from ..constants import RTD
from ..errors import InputError
from ..render import DEFAULT_MEMORY_BUDGET_BYTES, kernel_inputs, render
from ..render.inputs import crystal_inputs, scaling_inputs
from ..setup.experiment import Experiment
from ..setup.random_numbers import Ran1, ShuffleTable, mosaic_umats
from .orientations import quaternion_matrix
from .plan import FrameSpec

__all__ = ["RenderSettings", "FrameImage", "frame_experiment", "render_frame", "worker_name"]


@dataclass(frozen=True)
class RenderSettings:
    """How every frame is rendered (the command line's --backend, --device, --dtype, ...).

    ``workers``: tiles of one frame rendered at once (``None``: the renderer's default;
    a Dask worker renders its frame with 1, its siblings use the other cores).
    """

    backend: str = "numpy"
    device: str | None = None
    dtype: str = "float64"
    memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES
    compile: bool | None = None
    workers: int | None = None
    c_parity: bool = False


@dataclass(frozen=True)
class FrameImage:
    """A rendered frame: ``image`` (slow, fast) float32 photons, render ``seconds``, the ``worker`` that ran it."""

    index: int
    image: np.ndarray
    seconds: float
    worker: str


def frame_experiment(exp: Experiment, spec: FrameSpec) -> Experiment:
    """The experiment of frame ``spec``: ``exp`` with the frame's start angle, orientation, mosaic and fluence.

    The start angle is converted from degrees exactly as a single run's ``-phi`` is, so a
    sweep's frame equals, bit for bit, the run with ``-phi`` set to its start angle.  A
    rotation R turns both the real and the reciprocal axes (U becomes R U), keeping the
    kernel's vectors consistent; ``exp.rotated_cells`` is recomputed for the new experiment.
    """
    changes: dict = {"scan": replace(exp.scan, phi0_rad=spec.phi_start_deg / RTD)}
    crystal = exp.crystal
    if spec.quaternion is not None:
        R = quaternion_matrix(spec.quaternion)
        crystal = replace(crystal, real_axes_m=crystal.real_axes_m @ R.T,
                          reciprocal_axes_per_A=crystal.reciprocal_axes_per_A @ R.T)
    if spec.mosaic_seed is not None and crystal.mosaic_spread_rad > 0.0:
        # as a single run with -mosaic_seed: a negative seed reloads the shuffle table, and the
        # table the draws leave is the one the noise image continues from
        table = ShuffleTable.from_snapshot(exp.random_table)
        umats = mosaic_umats(crystal.mosaic_spread_rad, crystal.domains, Ran1(-spec.mosaic_seed, table))
        crystal = replace(crystal, mosaic_umats=umats)
        changes["random_table"] = table.snapshot()
    if crystal is not exp.crystal:
        changes["crystal"] = crystal
    if spec.fluence_scale != 1.0:
        changes["beam"] = replace(exp.beam, fluence=exp.beam.fluence * spec.fluence_scale)
    return replace(exp, **changes)


def worker_name() -> str:
    """Host and process id of this process: the manifest's ``worker``."""
    return f"{socket.gethostname()}:{os.getpid()}"


#: per process: (key, backend, device, dtype) and the kernel inputs no frame changes; the lock
#: keeps the threads of one worker from building it twice or reading it half replaced
_WARM: dict = {}
_WARM_LOCK = threading.Lock()


def _shared_inputs(exp: Experiment, key: str, settings: RenderSettings):
    """The base experiment's kernel inputs on the device, built once per process and ``key``."""
    xp = kernel_namespace(settings.backend)
    dev = resolve_device(xp, settings.backend, settings.device)
    dt = resolve_dtype(xp, settings.dtype)
    ident = (key, settings.backend, str(dev), settings.dtype)
    with _WARM_LOCK:
        if _WARM.get("ident") != ident:
            _WARM.clear()          # one experiment at a time: the table is the memory that matters
            _WARM.update(ident=ident, inputs=kernel_inputs(exp, xp, dev, dt))
        return _WARM["inputs"], xp, dev, dt


def render_frame(exp: Experiment, spec: FrameSpec, settings: RenderSettings = RenderSettings(), *,
                 cache_key: str | None = None) -> FrameImage:
    """Render frame ``spec`` of the series over ``exp``: float32 image as the command line writes it.

    ``cache_key``: names ``exp`` for the per-process cache of its device inputs (a series'
    digest); ``None`` builds them afresh.  Raises :class:`InputError` for an image with
    non-finite pixels (intensities beyond float32), unless ``settings.c_parity``.
    """
    start = time.perf_counter()
    frame_exp = frame_experiment(exp, spec)
    inputs = None
    if cache_key is not None:
        base, xp, dev, dt = _shared_inputs(exp, cache_key, settings)

        def arr(x, name=None):
            return xp.asarray(np.asarray(x), dtype=dt if name is None else getattr(xp, name), device=dev)
        inputs = replace(base, crystal=crystal_inputs(frame_exp, arr), scaling=scaling_inputs(frame_exp))
    with np.errstate(over="ignore", invalid="ignore"):
        result = render(frame_exp, backend=settings.backend, device=settings.device, dtype=settings.dtype,
                        memory_budget_bytes=settings.memory_budget_bytes, workers=settings.workers,
                        compile=settings.compile, inputs=inputs)
        image = to_numpy(result.image).astype(np.float32)
    bad = int(np.count_nonzero(~np.isfinite(image)))
    if bad and not settings.c_parity:
        raise InputError(f"frame {spec.number}: {bad} pixels are not finite (intensities overflow float32); "
                         "lower -fluence, the crystal size or the structure factors")
    return FrameImage(spec.index, image, time.perf_counter() - start, worker_name())
