"""Assembly: the tiles' values joined into the region, and the region placed in the detector image."""
from __future__ import annotations

from array_api_compat import device as device_of

from .plan import TilePlan


def assemble(pieces: list, plan: TilePlan, spixels: int, fpixels: int, xp):
    """The (spixels, fpixels) image: the tiles' values in raster order fill the plan's region, 0 elsewhere.

    Empties ``pieces`` once joined (the tiles are then no longer needed: halves the peak).
    """
    block = xp.concat(pieces, axis=0) if len(pieces) > 1 else pieces[0]
    pieces.clear()
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
