"""Memory a run needs, estimated before anything large is allocated, and the limit it must fit.

The estimates are upper bounds of the arrays xbragg holds at its peak, not of
Python's own overhead; :func:`check_memory` refuses a run whose estimate exceeds
the limit with an :class:`~xbragg.errors.InputError` that gives the estimate and
the flags to change.
"""
from __future__ import annotations

import os

from .errors import InputError

__all__ = ["DEFAULT_MEMORY_LIMIT_BYTES", "OUTPUT_BYTES_PER_PIXEL", "default_memory_limit_bytes",
           "table_bytes", "image_bytes", "check_memory"]

#: memory limit when none is given: 8 GiB, or 80% of the physical memory when that is less
DEFAULT_MEMORY_LIMIT_BYTES = 8 * 2**30
#: bytes per detector pixel for the command line's float32 image and the temporaries of the
#: integer, PGM and noise images; with :func:`image_bytes` a float64 run is estimated at 84
#: bytes per pixel, against a measured peak of 56 (4096x4096 detector, every output)
OUTPUT_BYTES_PER_PIXEL = 52


def default_memory_limit_bytes() -> int:
    """:data:`DEFAULT_MEMORY_LIMIT_BYTES`, or 80% of the physical memory when that is less."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return DEFAULT_MEMORY_LIMIT_BYTES
    return min(DEFAULT_MEMORY_LIMIT_BYTES, int(0.8 * physical)) if physical > 0 else DEFAULT_MEMORY_LIMIT_BYTES


def table_bytes(table, itemsize: int = 8) -> int:
    """An :class:`~xbragg.io.hkl.HKLTable` on the host and on the backend (``itemsize`` bytes a value).

    A dense grid is held once on the host, once more with its border of ``default_F``
    (float64, host), and once on the backend, bordered (``render.inputs.kernel_inputs``: the
    nearest-node and tricubic lookups share it); a sparse table as keys and values on both sides.
    """
    if table is None:
        return 0
    if table.sparse:
        return 2 * table.nbytes
    h, k, l = table.shape
    padded = (h + 2) * (k + 2) * (l + 2)
    return table.nbytes + 8 * padded + itemsize * padded


def image_bytes(region_pixels: int, full_pixels: int, itemsize: int) -> int:
    """The rendered region held twice while its tiles are joined, and the full detector image
    twice while the region is placed in it (``render.assemble``)."""
    return 2 * itemsize * (region_pixels + full_pixels)


def check_memory(needed_bytes: int, limit_bytes: int | None, *, what: str, change: str,
                 limit_flag: str = "memory_limit_bytes", lower_bound: bool = False) -> None:
    """Raise :class:`InputError` when ``needed_bytes`` exceeds ``limit_bytes`` (``None``: no limit).

    ``what`` says what needs the memory, ``change`` which flags make it smaller;
    ``lower_bound``: ``needed_bytes`` is a least amount, not an estimate.
    """
    if limit_bytes is None or needed_bytes <= limit_bytes:
        return
    amount = "at least" if lower_bound else "about"
    raise InputError(f"{what}: {amount} {_gib(needed_bytes)} of memory needed, more than the limit of "
                     f"{_gib(limit_bytes)}; {change}, or raise {limit_flag}")


def _gib(n: int) -> str:
    return f"{n / 2**30:.3g} GiB"
