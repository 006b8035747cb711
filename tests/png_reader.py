"""A PNG reader for the tests of what xbragg.tools.png writes (the project has no PNG reader)."""
from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ``ValueError`` if ``data`` is not a PNG."""
    if data[:8] != _SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decode_png(data: bytes) -> tuple[np.ndarray, dict[str, str]]:
    """Pixels ((h, w) grey or (h, w, 3) RGB, uint8) and tEXt chunks of an 8-bit PNG whose rows
    all use filter 0 (what xbragg.tools.png writes); checks every chunk's CRC."""
    assert data[:8] == _SIGNATURE
    pos, idat, text = 8, b"", {}
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == int.from_bytes(data[pos + 8 + n:pos + 12 + n], "big")
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (0, 2) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            key, value = body.split(b"\0", 1)
            text[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + n
    channels = 1 if colour == 0 else 3
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * channels + 1)
    assert (raw[:, 0] == 0).all()
    pixels = raw[:, 1:].reshape((height, width) if channels == 1 else (height, width, 3))
    return pixels, text
