"""Running the frames of a series: in this process, or on Dask (dask.distributed).

xbragg schedules nothing itself.  One worker renders in this process with no Dask at
all; more run on a Dask cluster, a :class:`distributed.LocalCluster` on this machine by
default or any scheduler by address.  The experiment (with its structure-factor table)
is scattered to every worker once; each frame is one future with a deterministic key,
retried on failure, and Dask re-runs the frames of a worker that dies.  At most
``in_flight`` frames are submitted at a time, another as each completes, so the
coordinator's memory does not grow with the number of frames.
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..errors import InputError, XbraggError
from ..setup.experiment import Experiment
from .frame import FrameImage, RenderSettings, render_frame
from .plan import FrameSpec

__all__ = ["ClusterSettings", "FrameFailed", "run_frames", "frame_key", "dask_available", "local_cluster"]

#: how long a scheduler given by address may take to answer
CONNECT_TIMEOUT_S = 10


@dataclass(frozen=True)
class ClusterSettings:
    """Where frames run.

    ``workers``: 1 renders in this process; more start a LocalCluster of that many
    single-threaded worker processes (``None``: one per core, or one per GPU with a CUDA
    device); ``scheduler``: address of an existing cluster (``workers`` is then ignored);
    ``processes``: False runs a LocalCluster's workers as threads of this process (tests);
    ``in_flight``: frames submitted at once (``None``: twice the workers' threads);
    ``retries``: times a frame that raised is tried again.
    """

    workers: int | None = 1
    scheduler: str | None = None
    processes: bool = True
    in_flight: int | None = None
    retries: int = 2


class FrameFailed(XbraggError):
    """A frame that raised: ``index`` names it, ``__cause__`` is what it raised."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(f"frame {index + 1} failed: {error}")
        self.index = index
        self.error = error


def dask_available() -> bool:
    """Whether dask.distributed is installed (it is not imported here)."""
    return importlib.util.find_spec("distributed") is not None


def frame_key(digest: str, spec: FrameSpec) -> str:
    """The Dask key of a frame: the same plan and frame, the same key."""
    return f"xbragg-frame-{digest}-{spec.number:05d}"


def _gpu(settings: RenderSettings) -> bool:
    return (settings.device or "").startswith("cuda")


def _gpu_count() -> int:
    try:
        import torch
        return max(1, torch.cuda.device_count())
    except ImportError:
        return 1


def run_frames(exp: Experiment, specs: Iterable[FrameSpec], settings: RenderSettings, *, digest: str,
               cluster: ClusterSettings = ClusterSettings(),
               on_frame: Callable[[FrameImage], None],
               on_error: Callable[[FrameFailed], bool],
               notify: Callable[[str], None] = lambda line: None) -> None:
    """Render ``specs`` and hand each image to ``on_frame`` as it completes (in any order).

    ``on_error(failure)`` is called for a frame that failed after its retries; it returns
    True to go on, False to stop (the frames in flight are cancelled and the
    :class:`FrameFailed` is raised).  ``notify`` receives one-line messages (the dashboard
    address).  ``digest`` (the plan's) names the frames' keys and the workers' cache.
    """
    specs = list(specs)
    if cluster.scheduler is None and cluster.workers == 1:
        _run_here(exp, specs, settings, digest, on_frame, on_error)
        return
    _run_dask(exp, specs, settings, digest, cluster, on_frame, on_error, notify)


def _run_here(exp, specs, settings, digest, on_frame, on_error) -> None:
    for spec in specs:
        try:
            image = render_frame(exp, spec, settings, cache_key=digest)
        except (XbraggError, ArithmeticError, ValueError) as exc:
            failure = FrameFailed(spec.index, exc)
            if not on_error(failure):
                raise failure from exc
            continue
        on_frame(image)


def _client(cluster: ClusterSettings, settings: RenderSettings, stack) -> object:
    """A connected :class:`distributed.Client` (closed by ``stack``)."""
    try:
        import distributed
    except ImportError:
        raise InputError("more than one worker needs dask.distributed: pip install 'xbragg[dask]'",
                         flag="--workers" if cluster.scheduler is None else "--scheduler") from None
    if cluster.scheduler is not None:
        try:
            return stack.enter_context(distributed.Client(cluster.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"))
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {cluster.scheduler} within "
                             f"{CONNECT_TIMEOUT_S} s: {exc}", flag="--scheduler") from None
    gpu = _gpu(settings)
    workers = cluster.workers or (_gpu_count() if gpu else os.cpu_count() or 1)
    local = stack.enter_context(local_cluster(workers, processes=cluster.processes, gpu=gpu))
    return stack.enter_context(distributed.Client(local))


def local_cluster(workers: int, *, processes: bool = True, gpu: bool = False):
    """A :class:`distributed.LocalCluster` of ``workers`` single-threaded workers for frames.

    ``gpu``: each worker holds one ``GPU`` resource (one frame per GPU at a time).  The
    workers start without the ``MALLOC_TRIM_THRESHOLD_`` Dask's nanny sets by default:
    fixing it switches off glibc's adaptive mmap threshold, and the renderer's large
    temporary arrays are then mapped and unmapped at every use (measured: a 512x512 frame
    3.3x slower).
    """
    import dask
    import distributed
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                        resources={"GPU": 1} if gpu else None, dashboard_address=":0")


def _run_dask(exp, specs, settings, digest, cluster, on_frame, on_error, notify) -> None:
    import contextlib

    from distributed import as_completed
    with contextlib.ExitStack() as stack:
        client = _client(cluster, settings, stack)
        if client.dashboard_link:
            notify(f"Dask dashboard: {client.dashboard_link}")
        threads = sum(client.nthreads().values()) or 1
        limit = cluster.in_flight or 2 * threads
        # a worker renders its frame's tiles one after another (the default of every backend but
        # NumPy, which would fork one process per core): its sibling workers use the other cores
        frame_settings = replace(settings, workers=1)
        extra = {}
        if _gpu(settings):
            workers = client.scheduler_info().get("workers", {}).values()
            if not any(w.get("resources", {}).get("GPU", 0) >= 1 for w in workers):
                # frames asking for a GPU would wait for ever on such a cluster
                raise InputError("--device cuda: no worker of the cluster offers a GPU; start one worker per "
                                 "GPU with 'dask worker ADDRESS --nthreads 1 --resources GPU=1'",
                                 flag="--scheduler")
            extra = {"resources": {"GPU": 1}}
        shared = client.scatter(exp, broadcast=True, hash=False)
        by_key = {}
        pending = iter(specs)

        def submit_next():
            spec = next(pending, None)
            if spec is None:
                return None
            key = frame_key(digest, spec)
            by_key[key] = spec
            return client.submit(render_frame, shared, spec, frame_settings, cache_key=digest, key=key,
                                 retries=cluster.retries, pure=False, **extra)

        first = [f for f in (submit_next() for _ in range(limit)) if f is not None]
        stream = as_completed(first)
        for future in stream:
            spec = by_key.pop(future.key)
            if future.status == "error":
                exc = future.exception()
                failure = FrameFailed(spec.index, exc)
                if not on_error(failure):
                    for other in list(stream.futures):
                        other.cancel()
                    raise failure from exc
            else:
                on_frame(future.result())
            future.release()
            nxt = submit_next()
            if nxt is not None:
                stream.add(nxt)
