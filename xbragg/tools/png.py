"""8-bit greyscale PNG previews of float images, written with zlib alone (no imaging library)."""
from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from xbragg.backends import to_numpy
from xbragg.errors import InputError
from xbragg.io.atomic import atomic_write_bytes

__all__ = ["encode_gray8", "write_gray8", "log_scale", "save_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_gray8(pixels: np.ndarray) -> bytes:
    """PNG bytes of a 2-D uint8 array (rows top to bottom), greyscale, no interlace."""
    rows = np.asarray(pixels)
    if rows.ndim != 2 or rows.dtype != np.uint8:
        raise ValueError(f"need a 2-D uint8 array, got {rows.dtype} of shape {rows.shape}")
    height, width = rows.shape
    if width == 0 or height == 0:
        raise ValueError("PNG images must have at least one pixel")
    raw = np.zeros((height, width + 1), dtype=np.uint8)     # filter byte 0 (none) per row
    raw[:, 1:] = rows
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
            + _chunk(b"IEND", b""))


def write_gray8(path: str | os.PathLike[str], pixels: np.ndarray) -> None:
    """Write ``pixels`` (2-D uint8) as a greyscale PNG, atomically."""
    atomic_write_bytes(path, encode_gray8(pixels))


def log_scale(image: np.ndarray, vmax: float, decades: float = 4.0) -> np.ndarray:
    """uint8 of ``log10(1 + x/floor) / log10(1 + vmax/floor)``, ``floor = vmax * 10**-decades``.

    Values at or below 0 (and non-finite ones) are black, ``vmax`` and above white; the same
    ``vmax`` for two images makes their previews comparable.
    """
    x = np.asarray(image, dtype=np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    if not (np.isfinite(vmax) and vmax > 0):
        return np.zeros(x.shape, dtype=np.uint8)
    floor = vmax * 10.0 ** -decades
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.log10(1.0 + np.clip(x, 0.0, vmax) / floor) / np.log10(1.0 + vmax / floor)
    return np.round(255.0 * np.clip(t, 0.0, 1.0)).astype(np.uint8)


def save_png(image, path: str | os.PathLike[str], *, vmax: float | None = None, decades: float = 4.0) -> None:
    """Save a 2-D float image (any backend, rows = slow index from the top) as an 8-bit greyscale
    PNG preview on a log scale (:func:`log_scale`): ``vmax`` and above white (default: the
    image's largest finite value), ``decades`` orders of magnitude below it shaded, 0 and
    below black.  ``xbragg.save_png(xbragg.simulate(opts), "preview.png")``."""
    pixels = to_numpy(image)
    if pixels.ndim != 2 or pixels.size == 0:
        raise InputError(f"save_png needs a non-empty 2-D image, got shape {pixels.shape}")
    if vmax is None:
        finite = pixels[np.isfinite(pixels)]
        vmax = float(finite.max()) if finite.size else 0.0
    write_gray8(path, log_scale(pixels, vmax, decades))
