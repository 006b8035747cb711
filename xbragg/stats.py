"""Image statistics in the reference's form: max_I and where, mean, rms, rmsd."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ImageStats:
    """Statistics over the rendered pixels (float32 values, as the reference stores them)."""

    max_I: float
    max_I_x_m: float          # fast position of the last sub-pixel of the brightest pixel
    max_I_y_m: float
    mean: float
    rms: float
    rmsd: float
    rendered_pixels: int


def image_stats(image32: np.ndarray, roi: tuple[int, int, int, int], mask: np.ndarray | None,
                *, pixel_size_m: float, oversample: int) -> ImageStats:
    """Statistics as the reference prints them.

    image32: (spixels, fpixels) float32; roi: inclusive (xmin, xmax, ymin, ymax),
    clipped to the image.  max, mean and rms skip masked pixels; rmsd, like the
    reference, runs over the whole ROI.
    """
    x0, x1, y0, y1 = roi
    block = image32[y0:y1 + 1, x0:x1 + 1].astype(np.float64)
    used = np.ones(block.shape, dtype=bool) if mask is None else mask[y0:y1 + 1, x0:x1 + 1]
    values = block[used]
    n = values.size
    max_I, max_x, max_y = 0.0, 0.0, 0.0
    if n and values.max() > 0.0:
        flat = np.where(used, block, -np.inf).ravel()
        k = int(np.argmax(flat))           # first maximum in raster order
        sy, sx = divmod(k, block.shape[1])
        max_I = float(flat[k])
        sub = pixel_size_m / oversample
        max_x = sub * ((x0 + sx) * oversample + oversample - 1) + sub / 2.0
        max_y = sub * ((y0 + sy) * oversample + oversample - 1) + sub / 2.0
    total = float(values.sum())
    sumsqr = float((values * values).sum())
    sumn = n if n > 0 else 1
    mean = total / sumn
    rms = math.sqrt(sumsqr / ((n if n > 1 else 2) - 1))
    m = block.size
    dev = block - mean
    rmsd = math.sqrt(float((dev * dev).sum()) / ((m if m > 1 else 2) - 1))
    return ImageStats(max_I=max_I, max_I_x_m=max_x, max_I_y_m=max_y, mean=mean, rms=rms, rmsd=rmsd,
                      rendered_pixels=n)
