"""Uniformly random crystal orientations and per-frame seeds, reproducible frame by frame.

A rotation drawn uniformly on SO(3) (the Haar measure) is the rotation of a unit
quaternion drawn uniformly on the 3-sphere; normalising four independent standard
normal deviates gives exactly that (Muller 1959; Shoemake, "Uniform random
rotations", Graphics Gems III, 1992).  The reference's ``-misset random`` generator is
not uniform (see :func:`xbragg.setup.random_numbers.random_misset`) and is not used.

Every per-frame number comes from its own :class:`numpy.random.SeedSequence` whose
entropy is the series' base seed and whose spawn key is ``(frame, stream)``: frame i's
draws depend on nothing but the base seed, i and the stream, never on how many frames
there are, in which order they run or on which worker.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ORIENTATION", "FLUENCE", "NOISE", "MOSAIC", "frame_rng", "frame_seed", "random_quaternion",
           "quaternion_matrix"]

#: stream numbers of the per-frame spawn keys (fixed: changing one changes every dataset)
ORIENTATION, FLUENCE, NOISE, MOSAIC = 0, 1, 2, 3

#: seeds handed to the reference's generator must be positive C ints
_SEED_MAX = 2**31 - 1


def frame_rng(base_seed: int, frame: int, stream: int) -> np.random.Generator:
    """The generator of ``stream`` for frame ``frame`` (from 0) of a series seeded with ``base_seed``."""
    return np.random.default_rng(np.random.SeedSequence(int(base_seed), spawn_key=(int(frame), int(stream))))


def frame_seed(base_seed: int, frame: int, stream: int) -> int:
    """A seed for the reference's generator (1 .. 2^31-2) derived from the base seed, frame and stream."""
    word = np.random.SeedSequence(int(base_seed), spawn_key=(int(frame), int(stream))).generate_state(1)[0]
    return int(word) % (_SEED_MAX - 1) + 1


def random_quaternion(rng: np.random.Generator) -> np.ndarray:
    """A unit quaternion (w, x, y, z) uniform on the 3-sphere, with w >= 0 (q and -q are one rotation)."""
    while True:
        q = rng.standard_normal(4)
        norm = float(np.sqrt(q @ q))
        if norm > 1e-12:        # a zero draw has no direction (probability 0, checked anyway)
            break
    q = q / norm
    return -q if q[0] < 0 else q


def quaternion_matrix(q) -> np.ndarray:
    """The rotation matrix (3, 3) of the unit quaternion ``q`` = (w, x, y, z), acting on column vectors."""
    w, x, y, z = (float(v) for v in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])
