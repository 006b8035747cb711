"""8-bit PNG files (greyscale or RGB) written with zlib alone (no imaging library)."""
from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from xbragg.backends import to_numpy
from xbragg.errors import InputError
from xbragg.io.atomic import atomic_write_bytes
from xbragg.tools.preview import brightness

__all__ = ["encode_png", "write_png", "save_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_GREY, _RGB = 0, 2          # PNG colour types


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _text_chunk(keyword: str, text: str) -> bytes:
    key = keyword.encode("latin-1")
    if not 1 <= len(key) <= 79 or b"\0" in key:
        raise ValueError(f"PNG text keyword must be 1 to 79 characters without NUL, got {keyword!r}")
    return _chunk(b"tEXt", key + b"\0" + text.encode("latin-1", "replace"))


def encode_png(pixels: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    """PNG bytes of a uint8 image, rows top to bottom, no interlace, filter 0 on every row.

    ``pixels``: (height, width) greyscale or (height, width, 3) RGB.  ``text``: keyword ->
    value, written as ``tEXt`` chunks (Latin-1) before the image data.
    """
    rows = np.asarray(pixels)
    if rows.dtype != np.uint8 or not (rows.ndim == 2 or (rows.ndim == 3 and rows.shape[2] == 3)):
        raise ValueError(f"need a uint8 array of shape (h, w) or (h, w, 3), got {rows.dtype} "
                         f"of shape {rows.shape}")
    height, width = rows.shape[:2]
    if width == 0 or height == 0:
        raise ValueError("PNG images must have at least one pixel")
    colour = _GREY if rows.ndim == 2 else _RGB
    flat = rows.reshape(height, -1)
    raw = np.zeros((height, flat.shape[1] + 1), dtype=np.uint8)     # filter byte 0 (none) per row
    raw[:, 1:] = flat
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    texts = b"".join(_text_chunk(k, v) for k, v in (text or {}).items())
    return (_SIGNATURE + _chunk(b"IHDR", header) + texts
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + _chunk(b"IEND", b""))


def write_png(path: str | os.PathLike[str], pixels: np.ndarray, text: dict[str, str] | None = None) -> None:
    """Write ``pixels`` (see :func:`encode_png`) as a PNG file, atomically."""
    atomic_write_bytes(path, encode_png(pixels, text))


def save_png(image, path: str | os.PathLike[str], *, vmax: float | None = None, decades: float = 4.0) -> None:
    """Save a 2-D float image (any backend, rows = slow index from the top) as an 8-bit greyscale
    PNG preview on a log scale (:func:`xbragg.tools.preview.brightness`): ``vmax`` and above
    white (default: the image's largest finite value), ``decades`` orders of magnitude below it
    shaded, 0 and below black.  ``xbragg.save_png(xbragg.simulate(opts), "preview.png")``."""
    pixels = to_numpy(image)
    if pixels.ndim != 2 or pixels.size == 0:
        raise InputError(f"save_png needs a non-empty 2-D image, got shape {pixels.shape}")
    if vmax is None:
        finite = pixels[np.isfinite(pixels)]
        vmax = float(finite.max()) if finite.size else 0.0
    write_png(path, brightness(pixels, vmax, log=True, decades=decades))
