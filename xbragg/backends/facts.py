"""What the renderer plans by, per backend: one table instead of name tests in the renderer.

The figures were measured on the supervisor frame (docs/performance.md).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackendFacts:
    """How a backend's tiles are best sized and run."""

    #: working set of one tile: NumPy (one pass over memory per operation) runs best when a
    #: tile's arrays stay in cache, 2k-pixel tiles (8 MiB) ~1.3x faster than 4k-pixel ones
    #: and ~2x faster than 32k-pixel ones; PyTorch pays more per operation and prefers
    #: 16k-pixel tiles (64 MiB)
    tile_bytes: int
    #: tiles render side by side on every core by default; False: the library threads
    #: inside each operation and tiles run one after another
    tiles_side_by_side: bool
    #: side-by-side tiles may run in forked worker processes (where fork is possible): the
    #: kernel is some two hundred short NumPy operations per tile, and threads handing the
    #: GIL to each other between them were no faster than one thread on 2 cores
    #: (processes: 1.6-1.9x)
    forks: bool
    #: the kernel can be compiled (``torch.compile``, see :mod:`xbragg.backends.compile`)
    compiles: bool


DEFAULT_TILE_BYTES = 64 * 2**20

FACTS = {
    "numpy": BackendFacts(tile_bytes=8 * 2**20, tiles_side_by_side=True, forks=True, compiles=False),
    "torch": BackendFacts(tile_bytes=DEFAULT_TILE_BYTES, tiles_side_by_side=False, forks=False, compiles=True),
    "cupy": BackendFacts(tile_bytes=DEFAULT_TILE_BYTES, tiles_side_by_side=False, forks=False, compiles=False),
    "array_api_strict": BackendFacts(tile_bytes=DEFAULT_TILE_BYTES, tiles_side_by_side=False, forks=False,
                                     compiles=False),
}
