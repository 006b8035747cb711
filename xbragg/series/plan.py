"""The frame plan of a series: what differs from frame to frame, and nothing else.

A rotation sweep (:func:`sweep_plan`) moves the spindle start angle by one
oscillation width per frame; a set of stills (:func:`stills_plan`) gives every
frame a uniformly random orientation.  Either may give frames their own noise seed,
mosaic seed and fluence scale.  Each :class:`FrameSpec` is complete: with the
shared experiment it renders its frame alone (:func:`xbragg.series.frame.frame_experiment`).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

from ..errors import InputError
from .orientations import FLUENCE, MOSAIC, NOISE, ORIENTATION, frame_rng, frame_seed, random_quaternion

__all__ = ["FrameSpec", "SeriesPlan", "sweep_plan", "stills_plan", "DEFAULT_ORIENTATION_SEED"]

#: --orientation-seed when none is given: a fixed value, so that a re-run resumes
DEFAULT_ORIENTATION_SEED = 1


@dataclass(frozen=True)
class FrameSpec:
    """One frame of a series.

    - ``index``: 0-based (files and the manifest number frames from 1);
    - ``phi_start_deg``: spindle angle of the frame's first step (deg); its width and
      sub-steps are the experiment's (``-osc``, ``-phistep``, ``-phisteps``);
    - ``quaternion``: (w, x, y, z) rotation applied to the crystal in the lab frame
      (U becomes R U), ``None`` for the experiment's own orientation;
    - ``noise_seed``: the noise image's seed (the reference's ``-seed``), ``None``: the run's;
    - ``mosaic_seed``: the mosaic domains' seed (``-mosaic_seed``), ``None``: the experiment's;
    - ``fluence_scale``: factor on the experiment's fluence.
    """

    index: int
    phi_start_deg: float
    quaternion: tuple[float, float, float, float] | None = None
    noise_seed: int | None = None
    mosaic_seed: int | None = None
    fluence_scale: float = 1.0

    @property
    def number(self) -> int:
        """The frame's number in file names and the manifest (from 1)."""
        return self.index + 1


@dataclass(frozen=True)
class SeriesPlan:
    """The frames of a series and the seeds they were derived from.

    ``kind``: ``"sweep"`` or ``"stills"``; ``osc_deg``: each frame's oscillation width;
    ``identity``: text naming the shared experiment and output settings (the command
    line's options), part of :attr:`digest` so that a changed command never resumes
    from another's files.
    """

    kind: str
    frames: tuple[FrameSpec, ...]
    osc_deg: float
    orientation_seed: int | None = None
    noise_seed: int | None = None
    mosaic_seed: int | None = None
    fluence_jitter: float = 0.0
    identity: str = field(default="", repr=False)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def digest(self) -> str:
        """16 hex digits of SHA-256 over the plan and its identity: the same command, the same digest."""
        text = json.dumps({"plan": [asdict(f) for f in self.frames], "kind": self.kind, "osc_deg": self.osc_deg,
                           "identity": self.identity}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _count(n: int, option: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"expected a positive whole number of frames, got {n!r}", flag=option)
    return n


def _per_frame(i: int, noise_seed: int | None, mosaic_seed: int | None, fluence_jitter: float,
               jitter_seed: int) -> dict:
    """The noise seed, mosaic seed and fluence scale of frame ``i`` (see :class:`FrameSpec`)."""
    scale = 1.0
    if fluence_jitter > 0.0:
        # log-normal with mean 1: fluence stays positive and averages to the nominal one
        z = float(frame_rng(jitter_seed, i, FLUENCE).standard_normal())
        scale = math.exp(fluence_jitter * z - 0.5 * fluence_jitter * fluence_jitter)
    return {"noise_seed": None if noise_seed is None else frame_seed(noise_seed, i, NOISE),
            "mosaic_seed": None if mosaic_seed is None else frame_seed(mosaic_seed, i, MOSAIC),
            "fluence_scale": scale}


def _check_jitter(fluence_jitter: float) -> float:
    if not (math.isfinite(fluence_jitter) and fluence_jitter >= 0.0):
        raise InputError(f"expected a relative spread >= 0, got {fluence_jitter!r}", flag="--fluence-jitter")
    return float(fluence_jitter)


def sweep_plan(frames: int, *, phi_start_deg: float, osc_deg: float, noise_seed: int | None = None,
               mosaic_seed: int | None = None, fluence_jitter: float = 0.0,
               jitter_seed: int = DEFAULT_ORIENTATION_SEED, identity: str = "") -> SeriesPlan:
    """A rotation sweep: frame i starts at ``phi_start_deg + i * osc_deg`` (deg).

    ``noise_seed`` / ``mosaic_seed``: base seeds from which each frame's own seed is
    derived (``None``: every frame uses the run's); ``fluence_jitter``: relative spread
    (sigma of the log) of a per-frame fluence scale drawn from ``jitter_seed``.
    """
    _count(frames, "--frames")
    if not (math.isfinite(osc_deg) and osc_deg > 0.0):
        raise InputError(f"a sweep needs a positive oscillation width per frame, got {osc_deg:g} deg; give -osc",
                         flag="--frames")
    jitter = _check_jitter(fluence_jitter)
    specs = tuple(FrameSpec(index=i, phi_start_deg=phi_start_deg + i * osc_deg,
                            **_per_frame(i, noise_seed, mosaic_seed, jitter, jitter_seed))
                  for i in range(frames))
    return SeriesPlan("sweep", specs, osc_deg, orientation_seed=None, noise_seed=noise_seed,
                      mosaic_seed=mosaic_seed, fluence_jitter=jitter, identity=identity)


def stills_plan(frames: int, *, orientation_seed: int = DEFAULT_ORIENTATION_SEED, phi_start_deg: float = 0.0,
                osc_deg: float = 0.0, noise_seed: int | None = None, mosaic_seed: int | None = None,
                fluence_jitter: float = 0.0, identity: str = "") -> SeriesPlan:
    """Stills: frame i gets a uniformly random orientation drawn from ``orientation_seed`` and i.

    The spindle stays where the experiment puts it; the other arguments are as in :func:`sweep_plan`
    (the fluence scale is drawn from ``orientation_seed``).
    """
    _count(frames, "--stills")
    jitter = _check_jitter(fluence_jitter)
    specs = []
    for i in range(frames):
        q = random_quaternion(frame_rng(orientation_seed, i, ORIENTATION))
        specs.append(FrameSpec(index=i, phi_start_deg=phi_start_deg, quaternion=tuple(float(v) for v in q),
                               **_per_frame(i, noise_seed, mosaic_seed, jitter, orientation_seed)))
    return SeriesPlan("stills", tuple(specs), osc_deg, orientation_seed=orientation_seed, noise_seed=noise_seed,
                      mosaic_seed=mosaic_seed, fluence_jitter=jitter, identity=identity)
