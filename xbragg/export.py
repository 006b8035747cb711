"""Files for processing programs written from an :class:`~xbragg.setup.experiment.Experiment`.

The writers of :mod:`xbragg.io.nexus` and :mod:`xbragg.io.cbf` take the models (beam,
detector, goniometer, scans); these take the experiment that holds them, so that a
rendered image and the experiment it came from are all a caller needs::

    exp = xbragg.build_experiment(opts)
    xbragg.write_nexus("image.nxs", xbragg.render(exp).image, exp)

A rotation sweep is one experiment per image (each with its own scan) and one NXmx file:
``xbragg.write_nexus("sweep.nxs", np.stack(images), experiments)``.  h5py and fabio are
imported only when a file is written.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError
from .io.atomic import atomic_write_bytes, refuse_inputs

if TYPE_CHECKING:
    from .setup.experiment import Experiment

__all__ = ["write_nexus", "write_cbf", "experiment_nexus_bytes", "experiment_cbf_bytes", "unrendered_mask"]


def unrendered_mask(experiment: Experiment) -> list[np.ndarray | None]:
    """Per panel, the (slow, fast) bool array of pixels the experiment does not render
    (outside ``-roi``, or skipped by ``-mask``): True there; ``None`` for a panel rendered whole."""
    masks = []
    for i, panel in enumerate(experiment.detector):
        x0, x1, y0, y1 = experiment.roi_bounds_of(i)
        rendered = np.zeros(panel.shape, dtype=bool)
        rendered[y0:y1 + 1, x0:x1 + 1] = True      # empty when the ROI misses the panel
        if i == 0 and experiment.mask is not None:
            rendered &= experiment.mask
        masks.append(None if rendered.all() else ~rendered)
    return masks


def _vectors_differ(a, b) -> bool:
    return not np.array_equal(np.asarray(a), np.asarray(b))


def _geometry_difference(first: Experiment, other: Experiment) -> str | None:
    """What of the geometry one NXmx file holds differs between two experiments, or ``None``."""
    if _vectors_differ(first.beam.direction, other.beam.direction) or \
            first.beam.wavelength_m != other.beam.wavelength_m:
        return "the beam (direction or wavelength)"
    if _vectors_differ(first.goniometer.rotation_axis, other.goniometer.rotation_axis):
        return "the rotation axis"
    if len(first.detector) != len(other.detector):
        return "the number of panels"
    for p, q in zip(first.detector, other.detector):
        if (p.shape != q.shape or p.pixel_size_m != q.pixel_size_m or _vectors_differ(p.origin_m, q.origin_m)
                or _vectors_differ(p.fast_axis, q.fast_axis) or _vectors_differ(p.slow_axis, q.slow_axis)):
            return "the detector"
    return None


def _experiments(experiment: Experiment | Sequence[Experiment]) -> list[Experiment]:
    experiments = [experiment] if not isinstance(experiment, (list, tuple)) else list(experiment)
    if not experiments:
        raise InputError("experiment: an empty sequence (one experiment per image expected)")
    for i, other in enumerate(experiments[1:], start=1):
        differs = _geometry_difference(experiments[0], other)
        if differs is not None:
            raise InputError(f"experiment {i}: {differs} differs from experiment 0's; one NXmx file holds "
                             "one geometry (write one file per geometry)")
    return experiments


def experiment_nexus_bytes(images, experiment: Experiment | Sequence[Experiment], **options) -> bytes:
    """The NXmx file :func:`write_nexus` writes, as bytes."""
    from .io.nexus import nexus_bytes
    experiments = _experiments(experiment)
    first = experiments[0]
    if "mask" not in options:
        options["mask"] = unrendered_mask(first)
    return nexus_bytes(images, beam=first.beam, detector=first.detector, goniometer=first.goniometer,
                       scans=[e.scan for e in experiments], **options)


def write_nexus(path: str | os.PathLike[str], images, experiment: Experiment | Sequence[Experiment], *,
                inputs: Sequence[str | os.PathLike[str]] = (), flag: str | None = None, **options) -> None:
    """Write images and the experiment's geometry as a NeXus NXmx file, atomically.

    - ``images``: per panel, a (frames, slow, fast) array of any backend ((slow, fast) for
      one frame); a single array for a one-panel detector;
    - ``experiment``: the :class:`~xbragg.setup.experiment.Experiment` the images were
      rendered from, or a sequence of them, one per frame, that differ only in their scan
      (a rotation sweep); its beam, detector, goniometer and scans are written;
    - ``options``: those of :func:`xbragg.io.nexus.write_nexus` (``counts``, ``saturation``,
      ``up``, ``axis_name``, ``compression``, ``start_time``, ``mask``).  Without ``mask``,
      the pixels the experiment does not render (outside ``-roi``, skipped by ``-mask``) are
      marked "user defined mask" (bit 8), so that a processing program does not take their
      zeros for measurements;
    - ``inputs``: files the output must not be (an :class:`~xbragg.errors.OutputError`).

    :class:`~xbragg.errors.InputError` for images that do not fit the detector, experiments
    whose geometries differ, or a detector NXmx cannot describe (curved panels).
    """
    refuse_inputs(path, inputs, flag=flag)
    atomic_write_bytes(path, experiment_nexus_bytes(images, experiment, **options), flag=flag)


def experiment_cbf_bytes(image, experiment: Experiment, **options) -> bytes:
    """The miniCBF file :func:`write_cbf` writes, as bytes."""
    from .io.cbf import cbf_bytes
    return cbf_bytes(image, beam=experiment.beam, detector=experiment.detector,
                     goniometer=experiment.goniometer, scan=experiment.scan, **options)


def write_cbf(path: str | os.PathLike[str], image, experiment: Experiment, *,
              inputs: Sequence[str | os.PathLike[str]] = (), flag: str | None = None, **options) -> None:
    """Write one image of integer counts as a miniCBF with the experiment's geometry, atomically.

    ``image``: (slow, fast) whole numbers (any backend), e.g. a noise or integer image;
    ``experiment``: the :class:`~xbragg.setup.experiment.Experiment` it was rendered from
    (one flat panel normal to the beam, rotation axis along the fast axis: MOSFLM and XDS
    conventions); ``options``: ``saturation`` (``Count_cutoff``); ``inputs``: files the
    output must not be.  :class:`~xbragg.errors.InputError` for a geometry miniCBF cannot
    state (the message points at NXmx) or an image that is not integer counts.
    """
    refuse_inputs(path, inputs, flag=flag)
    atomic_write_bytes(path, experiment_cbf_bytes(image, experiment, **options), flag=flag)
