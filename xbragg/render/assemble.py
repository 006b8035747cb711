"""Assembly: the tiles' values joined into the region, and the region placed in the detector image."""
from __future__ import annotations

from array_api_compat import device as device_of

from .plan import TilePlan


class TileValues:
    """The tiles' values as they arrive, in raster order, joined every :data:`JOIN_EVERY` tiles.

    A many-domain render has tens of thousands of small tiles; held one array each, their
    objects alone took 20 MB for a 1024 x 1024 image of 1000 mosaic domains.  ``len`` is
    the number of tiles added.
    """

    #: tiles held separately before they are joined into one array
    JOIN_EVERY = 256

    def __init__(self, xp):
        self.xp = xp
        self.joined: list = []
        self.pending: list = []
        self.tiles = 0

    def append(self, values) -> None:
        """Add the next tile's (P,) values."""
        self.pending.append(values)
        self.tiles += 1
        if len(self.pending) >= self.JOIN_EVERY:
            self.joined.append(self.xp.concat(self.pending, axis=0))
            self.pending = []

    def __len__(self) -> int:
        return self.tiles

    def take(self):
        """Every value in order, one (pixels,) array; the collector is empty afterwards."""
        parts = self.joined + self.pending
        self.joined, self.pending = [], []
        return self.xp.concat(parts, axis=0) if len(parts) > 1 else parts[0]


def assemble(pieces: TileValues, plan: TilePlan, spixels: int, fpixels: int, xp):
    """The (spixels, fpixels) image: the tiles' values in raster order fill the plan's region, 0 elsewhere.

    Empties ``pieces`` once joined (the tiles are then no longer needed: halves the peak).
    """
    block = pieces.take()
    return _embed(xp, xp.reshape(block, (plan.ny, plan.nx)), spixels, fpixels, plan.x0, plan.y0)


def _embed(xp, block, spixels: int, fpixels: int, x0: int, y0: int):
    """Place ``block`` at (y0, x0) in a zero image of (spixels, fpixels), without scatter."""
    ny, nx = block.shape
    if (ny, nx) == (spixels, fpixels):
        return block

    def zeros(r, c):
        return xp.zeros((r, c), dtype=block.dtype, device=device_of(block))
    parts = []
    if x0 > 0:
        parts.append(zeros(ny, x0))
    parts.append(block)
    if fpixels - x0 - nx > 0:
        parts.append(zeros(ny, fpixels - x0 - nx))
    row_band = xp.concat(parts, axis=1) if len(parts) > 1 else block
    rows = []
    if y0 > 0:
        rows.append(zeros(y0, fpixels))
    rows.append(row_band)
    if spixels - y0 - ny > 0:
        rows.append(zeros(spixels - y0 - ny, fpixels))
    return xp.concat(rows, axis=0) if len(rows) > 1 else row_band
