"""Source-list files (``-sourcefile``): one X-ray source point per line."""
from __future__ import annotations

import math
import os
import re

import numpy as np

from xbragg.errors import InputError
from xbragg.io._text import parse_number, read_text

__all__ = ["read_source_file", "SOURCE_COLUMNS"]

#: Column names, in file order.
SOURCE_COLUMNS = ("X", "Y", "Z", "I", "lambda")

# The reference's delimiters " \t,;:!" plus the other line-end/white characters.
_DELIMITERS = re.compile(r"[ \t,;:!\r\v\f]+")


def read_source_file(path: str | os.PathLike[str], *, flag: str = "-sourcefile"
                     ) -> np.ndarray:
    """Read a source list: float64 array of shape ``(n, 5)``.

    Columns are X, Y, Z (position of the source relative to the sample, in
    metres; only the direction matters), I (relative weight) and lambda
    (wavelength, metres). Tokens are separated by any run of space, tab,
    ``,``, ``;``, ``:`` or ``!``. Lines of only delimiters and lines whose
    first token starts with ``#`` are skipped. A line may give fewer than five
    values: the missing trailing columns are NaN, for the caller to fill with
    its defaults (as the reference does).

    Raises :class:`InputError` (with ``flag``, ``path`` and line number) for a
    missing file, a non-numeric token, an infinite value, a wavelength that is
    not positive, more than five columns, or no sources.
    """
    name = os.fspath(path)
    text = read_text(name, flag)
    rows: list[list[float]] = []
    for line_number, line in enumerate(text.split("\n"), start=1):
        tokens = [t for t in _DELIMITERS.split(line) if t]
        if not tokens or tokens[0].startswith("#"):
            continue
        if len(tokens) > len(SOURCE_COLUMNS):
            raise InputError(
                f"{len(tokens)} columns, at most 5 allowed (X Y Z I lambda)",
                flag=flag, path=name, line=line_number)
        row = [float("nan")] * len(SOURCE_COLUMNS)
        for column, token in enumerate(tokens):
            value = parse_number(token)
            if value is None:
                raise InputError(
                    f"{token!r} is not a number (expected {SOURCE_COLUMNS[column]} "
                    "in 'X Y Z I lambda')", flag=flag, path=name, line=line_number)
            if math.isinf(value) or (column == 4 and value <= 0):
                what = "a finite number" if column < 4 else "a positive wavelength in metres (or nan)"
                raise InputError(f"{SOURCE_COLUMNS[column]} = {token}: expected {what}",
                                 flag=flag, path=name, line=line_number)
            row[column] = value
        rows.append(row)
    if not rows:
        raise InputError("no sources found (expected lines 'X Y Z I lambda')",
                         flag=flag, path=name)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(SOURCE_COLUMNS))
