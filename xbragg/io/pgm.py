"""Binary PGM (``P5``) preview images as written by the reference's ``-pgmfile``."""
from __future__ import annotations

import os

import numpy as np

from xbragg.io.atomic import atomic_write_bytes
from xbragg.io.cformat import format_g

__all__ = ["pgm_bytes", "write_pgm"]


def write_pgm(path: str | os.PathLike[str], data: np.ndarray, scale: float) -> None:
    """Write :func:`pgm_bytes` of ``data`` to ``path`` atomically.

    :class:`OutputError` when the file cannot be written.
    """
    atomic_write_bytes(path, pgm_bytes(data, scale))


def pgm_bytes(data: np.ndarray, scale: float) -> list[bytes]:
    """``data`` (uint8, shape ``(spixels, fpixels)``) as a binary PGM: [header, pixels].

    Header: ``"P5\\n<fpixels> <spixels>\\n# pixels scaled by <scale %g>\\n255\\n"``,
    then the bytes row by row. ``scale`` is the factor the caller applied to
    the float image (recorded only). ``ValueError`` unless ``data`` is 2-D uint8.
    """
    array = np.asarray(data)
    if array.ndim != 2 or array.dtype != np.uint8:
        raise ValueError(f"PGM data must be a 2-D uint8 array, got {array.ndim}-D "
                         f"{array.dtype}")
    spixels, fpixels = array.shape
    header = (f"P5\n{fpixels} {spixels}\n# pixels scaled by {format_g(scale)}\n255\n"
              ).encode("ascii")
    return [header, array.tobytes(order="C")]
