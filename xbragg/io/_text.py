"""Shared helpers for reading small text inputs with precise error messages."""
from __future__ import annotations

import os
import re

import numpy as np

from xbragg.errors import InputError

__all__ = ["read_bytes", "read_text", "parse_number", "read_number_rows"]

# The reference's delimiters " \t,;:!" (read_text_file) plus the other line-end/white characters.
_DELIMITERS = re.compile(r"[ \t,;:!\r\v\f]+")


def read_bytes(path: str | os.PathLike[str], flag: str | None) -> bytes:
    """Whole content of the file ``path``.

    Raises :class:`InputError` (naming ``flag`` and ``path``) when the file is
    missing, is a directory or cannot be read.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError("file does not exist", flag=flag, path=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", flag=flag, path=name) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", flag=flag,
                         path=name) from None
    except ValueError as exc:          # e.g. a NUL byte in the path
        raise InputError(f"not a usable file name: {exc}", flag=flag, path=repr(name)) from None


def read_text(path: str | os.PathLike[str], flag: str | None) -> str:
    """Whole content of the text file ``path`` (undecodable bytes replaced); errors as :func:`read_bytes`."""
    return read_bytes(path, flag).decode("utf-8", errors="replace")


def parse_number(token: str) -> float | None:
    """``token`` as a float, or ``None`` when it is not a plain number.

    Accepts what C's ``strtod`` accepts for decimal input (``3``, ``-8``,
    ``1.5e-3``, ``nan``, ``inf``); rejects Python-only spellings with ``_``.
    """
    if "_" in token:
        return None
    try:
        return float(token)
    except ValueError:
        return None


def read_number_rows(path: str | os.PathLike[str], columns: tuple[str, ...], flag: str,
                     empty: str) -> np.ndarray:
    """Rows of up to ``len(columns)`` numbers, as the reference's ``read_text_file`` splits them.

    Tokens are separated by any run of space, tab, ``,``, ``;``, ``:`` or ``!``;
    lines of only delimiters and lines whose first token starts with ``#`` are
    skipped; missing trailing values are NaN.  Returns float64 ``(rows, len(columns))``.
    Raises :class:`InputError` (with ``flag``, ``path`` and line number) for a missing
    file, a token that is not a number, too many values, or no rows (message ``empty``).
    """
    name = os.fspath(path)
    text = read_text(name, flag)
    layout = " ".join(columns)
    rows: list[list[float]] = []
    for line_number, line in enumerate(text.split("\n"), start=1):
        tokens = [t for t in _DELIMITERS.split(line) if t]
        if not tokens or tokens[0].startswith("#"):
            continue
        if len(tokens) > len(columns):
            raise InputError(f"{len(tokens)} columns, at most {len(columns)} allowed ({layout})",
                             flag=flag, path=name, line=line_number)
        row = [float("nan")] * len(columns)
        for column, token in enumerate(tokens):
            value = parse_number(token)
            if value is None:
                raise InputError(f"{token!r} is not a number (expected {columns[column]} in '{layout}')",
                                 flag=flag, path=name, line=line_number)
            row[column] = value
        rows.append(row)
    if not rows:
        raise InputError(f"{empty} (expected lines '{layout}')", flag=flag, path=name)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(columns))
