"""Datasets, not frames: rotation sweeps and serial-crystallography stills, here or on Dask.

>>> import xbragg
>>> s = xbragg.series("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -osc 0.5",
...                   frames=4)
>>> len(s.plan), s.render(2).shape          # each frame renders alone from its plan entry
(4, (16, 16))

:func:`series` plans the frames (:mod:`.plan`, :mod:`.orientations`); :class:`Series`
renders one alone or runs them all (:mod:`.run`) in this process or on a Dask cluster
(:mod:`.execute`), writing per-frame files (:mod:`.files`), one NeXus file
(:mod:`.nexus_stack`) and a manifest (:mod:`.manifest`).  See docs/series.md.
"""
from __future__ import annotations

import sys
import types

from ..constants import RTD
from ..errors import InputError
from ..setup.experiment import Experiment, build_experiment
from ..setup.options import SimulationOptions
from .execute import ClusterSettings, FrameFailed
from .files import FrameFormats, frame_path
from .frame import FrameImage, RenderSettings, frame_experiment, render_frame
from .plan import DEFAULT_ORIENTATION_SEED, FrameSpec, SeriesPlan, stills_plan, sweep_plan
from .run import Series, SeriesReport

__all__ = ["series", "Series", "SeriesPlan", "SeriesReport", "FrameSpec", "FrameImage", "FrameFormats",
           "RenderSettings", "ClusterSettings", "FrameFailed", "frame_experiment", "render_frame",
           "frame_path", "sweep_plan", "stills_plan", "plan_for"]


def plan_for(options: SimulationOptions, exp: Experiment, *, frames: int | None = None,
             stills: int | None = None, orientation_seed: int = DEFAULT_ORIENTATION_SEED,
             noise_seed: int | None = None, mosaic_seed: int | None = None, fluence_jitter: float = 0.0,
             identity: str = "") -> SeriesPlan:
    """The plan of ``frames`` sweep frames or ``stills`` stills over ``exp`` (built from ``options``).

    A sweep starts at ``-phi`` and steps by the frame's oscillation width (``-osc``, as
    given, so that frame i's start angle is exactly what ``-phi`` would be given).
    """
    if (frames is None) == (stills is None):
        raise InputError("give either --frames N (a rotation sweep) or --stills N (random orientations)",
                         flag="--frames")
    # -phi as given (a single run converts it the same way), else the experiment's own start
    phi0 = options.phi_deg if options.phi_deg is not None else exp.scan.phi0_rad * RTD
    osc = options.osc_deg if options.osc_deg is not None else exp.scan.osc_rad * RTD
    common = dict(noise_seed=noise_seed, mosaic_seed=mosaic_seed, fluence_jitter=fluence_jitter,
                  identity=identity)
    if frames is not None:
        return sweep_plan(frames, phi_start_deg=phi0, osc_deg=osc, jitter_seed=orientation_seed, **common)
    return stills_plan(stills, orientation_seed=orientation_seed, phi_start_deg=phi0, osc_deg=osc, **common)


def series(options: SimulationOptions | str | list[str], *, frames: int | None = None, stills: int | None = None,
           orientation_seed: int = DEFAULT_ORIENTATION_SEED, noise_seed: int | None = None,
           mosaic_seed: int | None = None, fluence_jitter: float = 0.0,
           formats: FrameFormats = FrameFormats(), nexus: str | None = None, nexus_counts: bool = False,
           manifest: str | None = None,
           settings: RenderSettings = RenderSettings(), cluster: ClusterSettings = ClusterSettings(),
           experiment: Experiment | None = None) -> Series:
    """Plan a rotation sweep (``frames``) or ``stills`` over the experiment of ``options``.

    ``options``: :class:`SimulationOptions` or nanoBragg flags; ``experiment``: the one
    built from them when already at hand.  Seeds and jitter as in
    :func:`~xbragg.series.plan.sweep_plan`; ``formats``, ``nexus``, ``nexus_counts``,
    ``manifest``: the files :meth:`Series.run` writes; ``settings``: backend, device, dtype; ``cluster``:
    where frames run.  Returns a :class:`Series`: ``.plan``, ``.render(i)`` (frame i
    alone), ``.run()`` (every frame, to files).
    """
    if not isinstance(options, SimulationOptions):
        from .. import options_from_flags
        options = options_from_flags(options)
    exp = experiment if experiment is not None else build_experiment(options)
    identity = repr((options, formats, nexus_counts, settings.backend, settings.dtype))
    plan = plan_for(options, exp, frames=frames, stills=stills, orientation_seed=orientation_seed,
                    noise_seed=noise_seed, mosaic_seed=mosaic_seed, fluence_jitter=fluence_jitter,
                    identity=identity)
    return Series(exp, plan, settings=settings, cluster=cluster, formats=formats, nexus=nexus,
                  nexus_counts=nexus_counts, manifest=manifest)


class _CallableModule(types.ModuleType):
    """This package, callable: ``xbragg.series(...)`` is :func:`series`, and ``xbragg.series.Series``
    and the rest stay reachable as attributes."""

    def __call__(self, *args, **kwargs) -> Series:
        return series(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
