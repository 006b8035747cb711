"""SMV (ADSC) images: a ``{ KEY=VALUE; ... }`` ASCII header then raw uint16 pixels."""
from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xbragg.errors import InputError, OutputError
from xbragg.io._text import parse_number, read_bytes
from xbragg.io.atomic import atomic_write_bytes

__all__ = ["SMVImage", "read_smv", "header_float", "smv_bytes", "write_smv", "SMV_HEADER_BYTES"]

#: Header length written by :func:`write_smv` (and the reference), bytes.
SMV_HEADER_BYTES = 512

_MAGIC = b"{\nHEADER_BYT"
_HEADER_BYTES = re.compile(rb"HEADER_BYTES=\s*([^;\n]*)")


@dataclass(frozen=True, eq=False)
class SMVImage:
    """An SMV image as read from disk.

    ``header`` maps each header key to its value text (stripped, without the
    ``;``), keys in file order, the last occurrence of a repeated key winning.
    ``header_bytes`` is the header length in bytes (``HEADER_BYTES``). ``data``
    is uint16 of shape ``(SIZE2, SIZE1)``: slow rows of fast pixels, in native
    byte order. ``path`` and ``flag`` (where it came from) are used in errors.
    """

    header: dict[str, str]
    header_bytes: int
    data: np.ndarray
    path: str | None = None
    flag: str | None = None


def _parse_header(text: str) -> dict[str, str]:
    """``KEY=VALUE`` items of the header text between ``{`` and ``}``.

    Items end at ``;`` or a newline (``DIALS_ORIGIN=a,b,c`` has no ``;``).
    """
    header: dict[str, str] = {}
    for item in re.split(r"[;\n]", text):
        if "=" not in item:
            continue
        key, value = item.split("=", 1)
        key = key.strip().lstrip("{").strip()
        if key:
            header[key] = value.strip()
    return header


def _size(header: dict[str, str], key: str, flag: str | None, name: str) -> int:
    """Positive integer header value ``key`` (``SIZE1``/``SIZE2``)."""
    if key not in header:
        raise InputError(f"SMV header has no {key}", flag=flag, path=name)
    value = parse_number(header[key])
    if not _positive_integer(value):
        raise InputError(f"SMV header {key}={header[key]}: expected a positive integer",
                         flag=flag, path=name)
    return int(value)


def _positive_integer(value: float | None) -> bool:
    """True for a finite whole number above 0 (``nan`` and ``inf`` included in the False)."""
    return value is not None and math.isfinite(value) and value > 0 and value == int(value)


def read_smv(path: str | os.PathLike[str], *, flag: str | None = None) -> SMVImage:
    """Read an SMV (ADSC) image of unsigned 16-bit pixels.

    The file must start with ``"{\\nHEADER_BYT"`` (as the reference checks).
    ``HEADER_BYTES`` gives the header length, ``SIZE1`` the fast size (columns)
    and ``SIZE2`` the slow size (rows); ``BYTE_ORDER`` is ``little_endian``
    (default) or ``big_endian``; ``TYPE``, when present, must be
    ``unsigned_short``. Bytes after the pixel data are ignored.

    Raises :class:`InputError` naming ``flag`` and ``path`` for a missing
    file, a file that is not SMV, a bad or missing ``HEADER_BYTES``/``SIZE1``/
    ``SIZE2``, an unsupported type or byte order, or a file shorter than
    ``HEADER_BYTES + 2*SIZE1*SIZE2`` bytes.
    """
    name = os.fspath(path)
    raw = read_bytes(name, flag)
    if not raw.startswith(_MAGIC):
        raise InputError("not an SMV (ADSC) image: it does not start with "
                         "'{' and 'HEADER_BYTES='", flag=flag, path=name)
    match = _HEADER_BYTES.match(raw, 2)
    value = parse_number(match.group(1).decode("latin-1").strip()) if match else None
    if not _positive_integer(value):
        raise InputError("SMV header: HEADER_BYTES is not a positive integer",
                         flag=flag, path=name)
    header_bytes = int(value)
    if len(raw) < header_bytes:
        raise InputError(f"truncated SMV file: {len(raw)} bytes, shorter than "
                         f"HEADER_BYTES={header_bytes}", flag=flag, path=name)
    text = raw[:header_bytes].decode("latin-1")
    close = text.find("}")
    header = _parse_header(text[:close] if close >= 0 else text)

    pixel_type = header.get("TYPE", "unsigned_short")
    if pixel_type != "unsigned_short":
        raise InputError(f"SMV TYPE={pixel_type} is not supported (only unsigned_short)",
                         flag=flag, path=name)
    order = header.get("BYTE_ORDER", "little_endian")
    if order not in ("little_endian", "big_endian"):
        raise InputError(f"SMV BYTE_ORDER={order} is neither little_endian nor "
                         "big_endian", flag=flag, path=name)
    fast = _size(header, "SIZE1", flag, name)
    slow = _size(header, "SIZE2", flag, name)
    needed = header_bytes + 2 * fast * slow
    if len(raw) < needed:
        raise InputError(f"truncated SMV file: {len(raw)} bytes, expected at least "
                         f"{needed} ({header_bytes} header + 2*{fast}*{slow} pixels)",
                         flag=flag, path=name)
    dtype = "<u2" if order == "little_endian" else ">u2"
    data = np.frombuffer(raw, dtype=dtype, count=fast * slow, offset=header_bytes)
    return SMVImage(header, header_bytes, data.reshape(slow, fast).astype(np.uint16),
                    name, flag)


def header_float(image: SMVImage, key: str) -> float | None:
    """Header value ``key`` of ``image`` as a float; ``None`` when absent.

    Raises :class:`InputError` (naming the image's flag and path) when the
    key is present but its value is not a number.
    """
    if key not in image.header:
        return None
    value = parse_number(image.header[key])
    if value is None:
        raise InputError(f"SMV header {key}={image.header[key]} is not a number",
                         flag=image.flag, path=image.path)
    return value


def _smv_header(fast: int, slow: int,
                header_lines: Sequence[str | tuple[str, str]]) -> bytes:
    """The padded header text written by :func:`write_smv`.

    512 bytes, as the reference writes; when the items do not fit, the
    smallest multiple of 512 that holds them (the reference then writes past
    its declared ``HEADER_BYTES=512`` and its pixels start at the wrong offset;
    xbragg keeps the file readable instead).
    """
    body = [f"SIZE1={fast};\nSIZE2={slow};\n"]
    for item in header_lines:
        line = f"{item[0]}={item[1]};" if isinstance(item, tuple) else item
        if "\n" in line or "}" in line:
            raise ValueError(f"SMV header line {line!r} contains a newline or '}}'")
        body.append(line + "\n")
    body.append("}\f")
    size = SMV_HEADER_BYTES
    while True:
        text = ("{\nHEADER_BYTES=%d;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                "TYPE=unsigned_short;\n" % size + "".join(body)).encode("latin-1")
        if len(text) <= size:
            return text.ljust(size, b" ")
        if size >= 64 * SMV_HEADER_BYTES:
            raise OutputError(f"SMV header of {len(text)} bytes is too long")
        size += SMV_HEADER_BYTES


def write_smv(path: str | os.PathLike[str], data: np.ndarray,
              header_lines: Sequence[str | tuple[str, str]] = (), *, adc_offset: float | None = None) -> None:
    """Write :func:`smv_bytes` of ``data``, ``header_lines`` and ``adc_offset`` to ``path`` atomically.

    :class:`OutputError` when the file cannot be written.
    """
    atomic_write_bytes(path, smv_bytes(data, header_lines, adc_offset=adc_offset))


def smv_bytes(data: np.ndarray, header_lines: Sequence[str | tuple[str, str]] = (), *,
              adc_offset: float | None = None) -> list[bytes]:
    """``data`` as a 512-byte-header SMV image, like the reference's ``-intfile``: [header, pixels].

    ``data`` is uint16 of shape ``(slow, fast)``. The header is
    ``{\\nHEADER_BYTES=512;\\nDIM=2;\\nBYTE_ORDER=little_endian;\\nTYPE=unsigned_short;\\n``,
    then ``SIZE1=<fast>;\\nSIZE2=<slow>;\\n``, then each item of
    ``header_lines`` followed by ``\\n``, then ``}\\f`` padded with spaces to
    512 bytes. An item is either a raw line written as given (include the
    ``;``: ``"PIXEL_SIZE=0.1;"``, or leave it out as the reference does for
    ``"DIALS_ORIGIN=-6.5,6.5,-100"``) or a ``(key, value)`` pair written as
    ``KEY=VALUE;``. Pixels follow as little-endian uint16, fast index fastest.
    A header longer than 512 bytes grows to the next multiple of 512 (and says so
    in ``HEADER_BYTES``).

    ``adc_offset``: when given, a last item ``ADC_OFFSET=<value>;`` states the constant
    added to every pixel (the reference adds 40 and does not say so; dxtbx's
    ``FormatSMVJHSim`` then assumes 1).  Left out by default: the reference's bytes.
    """
    array = np.asarray(data)
    if array.ndim != 2 or array.dtype != np.uint16:
        raise ValueError(f"SMV data must be a 2-D uint16 array, got {array.ndim}-D "
                         f"{array.dtype}")
    slow, fast = array.shape
    if adc_offset is not None:
        if not math.isfinite(adc_offset):
            raise ValueError(f"SMV ADC offset {adc_offset} is not a finite number")
        header_lines = [*header_lines, ("ADC_OFFSET", f"{adc_offset:g}")]
    header = _smv_header(fast, slow, header_lines)
    return [header, array.astype("<u2", copy=False).tobytes(order="C")]
