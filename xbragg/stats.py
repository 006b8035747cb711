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
                *, pixel_size_m: float, oversample: int, rows_per_chunk: int = 256) -> ImageStats:
    """Statistics as the reference prints them.

    image32: (spixels, fpixels) float32; roi: inclusive (xmin, xmax, ymin, ymax),
    clipped to the image.  max, mean and rms skip masked pixels; rmsd, like the
    reference, runs over the whole ROI.  Sums are accumulated in float64 over
    chunks of rows, so memory stays small for full frames.
    """
    x0, x1, y0, y1 = roi
    max_I, max_at = 0.0, None
    total = sumsqr = 0.0
    n = 0
    for r0 in range(y0, y1 + 1, rows_per_chunk):
        r1 = min(r0 + rows_per_chunk, y1 + 1)
        block = image32[r0:r1, x0:x1 + 1].astype(np.float64)
        if mask is not None:
            used = np.asarray(mask[r0:r1, x0:x1 + 1], dtype=bool)
        else:
            used = np.ones(block.shape, dtype=bool)
        values = block if mask is None else block[used]   # NaN reaches the sums, as in the reference
        n += values.size
        total += float(values.sum())
        sumsqr += float((values * values).sum())
        # The reference's ``pixel > max_I`` is never true for NaN, so NaN cannot
        # be the maximum; the running max only moves on a strictly larger value,
        # so the first maximum in raster order wins.
        candidates = np.where(used & ~np.isnan(block), block, -np.inf)
        if candidates.size and candidates.max() > max_I:
            k = int(np.argmax(candidates))     # first maximum in raster order
            sy, sx = divmod(k, block.shape[1])
            max_I, max_at = float(block[sy, sx]), (x0 + sx, r0 + sy)
    max_x = max_y = 0.0
    if max_at is not None:
        sub = pixel_size_m / oversample
        max_x = sub * (max_at[0] * oversample + oversample - 1) + sub / 2.0
        max_y = sub * (max_at[1] * oversample + oversample - 1) + sub / 2.0
    mean = total / (n if n > 0 else 1)
    rms = math.sqrt(sumsqr / ((n if n > 1 else 2) - 1))
    m = 0
    dev2 = 0.0
    for r0 in range(y0, y1 + 1, rows_per_chunk):
        r1 = min(r0 + rows_per_chunk, y1 + 1)
        dev = image32[r0:r1, x0:x1 + 1].astype(np.float64) - mean
        dev2 += float((dev * dev).sum())
        m += dev.size
    rmsd = math.sqrt(dev2 / ((m if m > 1 else 2) - 1))
    return ImageStats(max_I=max_I, max_I_x_m=max_x, max_I_y_m=max_y, mean=mean, rms=rms, rmsd=rmsd,
                      rendered_pixels=n)


def detector_stats(images32: list[np.ndarray], rois: list[tuple[int, int, int, int]],
                   masks: list[np.ndarray | None]) -> ImageStats:
    """:func:`image_stats` over the rendered regions of every panel together (max_I's position is not
    meaningful across panels and is 0)."""
    values, used = [], []
    for image, (x0, x1, y0, y1), mask in zip(images32, rois, masks):
        block = image[y0:y1 + 1, x0:x1 + 1]
        values.append(block.reshape(-1))
        used.append(np.ones(block.size, dtype=bool) if mask is None
                    else np.asarray(mask[y0:y1 + 1, x0:x1 + 1], dtype=bool).reshape(-1))
    row = np.concatenate(values)[None, :]
    stats = image_stats(row, (0, row.shape[1] - 1, 0, 0), np.concatenate(used)[None, :],
                        pixel_size_m=0.0, oversample=1)
    return ImageStats(max_I=stats.max_I, max_I_x_m=0.0, max_I_y_m=0.0, mean=stats.mean, rms=stats.rms,
                      rmsd=stats.rmsd, rendered_pixels=stats.rendered_pixels)
