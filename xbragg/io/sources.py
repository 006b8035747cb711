"""Source-list files (``-sourcefile``): one X-ray source point per line."""
from __future__ import annotations

import os

import numpy as np

from xbragg.io._text import read_number_rows

__all__ = ["read_source_file", "SOURCE_COLUMNS"]

#: Column names, in file order.
SOURCE_COLUMNS = ("X", "Y", "Z", "I", "lambda")


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
    missing file, a non-numeric token, more than five columns, or no sources.
    """
    return read_number_rows(path, SOURCE_COLUMNS, flag, "no sources found")
