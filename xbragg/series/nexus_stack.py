"""The frames of a series' NeXus file, gathered on disk as they arrive in any order.

Frames are written into a preallocated float32 stack beside the NeXus file (a hidden
``.NAME.xbragg-frames`` file, memory-mapped), so the coordinator never holds more than
one frame; the stack survives an interrupted run (it is how frames already rendered are
kept for the NeXus file) and is removed once the NeXus file is written from it.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np

__all__ = ["FrameStack"]


class FrameStack:
    """A (frames, slow, fast) float32 stack in a file, created or reopened at ``path``."""

    def __init__(self, path: str, frames: int, shape: tuple[int, int]) -> None:
        self.path = path
        full = (frames, *shape)
        size = int(np.prod(full)) * 4
        mode = "r+" if os.path.exists(path) and os.path.getsize(path) == size else "w+"
        self.data = np.memmap(path, dtype=np.float32, mode=mode, shape=full)

    @staticmethod
    def beside(nexus_path: str) -> str:
        """The stack's path for the NeXus file ``nexus_path``."""
        head, tail = os.path.split(nexus_path)
        return os.path.join(head, f".{tail}.xbragg-frames")

    def put(self, index: int, image: np.ndarray) -> str:
        """Store frame ``index`` (from 0); returns the SHA-256 of its bytes."""
        self.data[index] = image
        self.data.flush()
        return self.checksum(index)

    def checksum(self, index: int) -> str:
        """SHA-256 (hex) of frame ``index``'s bytes as stored."""
        return hashlib.sha256(np.ascontiguousarray(self.data[index]).tobytes()).hexdigest()

    def remove(self) -> None:
        """Delete the stack's file."""
        del self.data
        try:
            os.unlink(self.path)
        except OSError:
            pass
