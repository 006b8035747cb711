"""Raw float32 images (``-floatfile``): no header, little-endian, slow rows of fast pixels."""
from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from xbragg.errors import InputError
from xbragg.io._text import read_bytes
from xbragg.io.atomic import atomic_write_bytes

__all__ = ["float_image_bytes", "write_float_image", "read_float_image"]


def write_float_image(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write :func:`float_image_bytes` of ``image`` to ``path`` atomically.

    :class:`OutputError` when the file cannot be written.
    """
    atomic_write_bytes(path, float_image_bytes(image))


def float_image_bytes(image: np.ndarray) -> bytes:
    """``image`` (shape ``(spixels, fpixels)``) as raw little-endian float32, C order.

    Values are converted to float32 (as the reference stores them), fast index
    fastest. ``ValueError`` for a non-2-D array.
    """
    array = np.asarray(image)
    if array.ndim != 2:
        raise ValueError(f"float image must be 2-D, got shape {array.shape}")
    with np.errstate(over="ignore"):  # out-of-range values become +-inf, as in C
        return array.astype("<f4", copy=False).tobytes(order="C")


def read_float_image(path: str | os.PathLike[str], fpixels: int, spixels: int, *,
                     flag: str | None = None) -> np.ndarray:
    """Read a raw little-endian float32 image of ``spixels`` rows of ``fpixels``.

    A name ending in ``.gz`` is decompressed with gzip. Returns float32 of
    shape ``(spixels, fpixels)`` in native byte order. Raises
    :class:`InputError` (naming ``flag`` and ``path``) for a missing or
    unreadable file, a directory, bad gzip data, or a size other than
    ``4*fpixels*spixels`` bytes.
    """
    name = os.fspath(path)
    raw = read_bytes(name, flag)
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputError(f"bad gzip data: {exc}", flag=flag, path=name) from None
    expected = 4 * fpixels * spixels
    if len(raw) != expected:
        raise InputError(f"{len(raw)} bytes, expected {expected} for {spixels} rows of "
                         f"{fpixels} float32 pixels", flag=flag, path=name)
    return np.frombuffer(raw, dtype="<f4").reshape(spixels, fpixels).astype(np.float32)
