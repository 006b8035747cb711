"""Amorphous structure-factor files (``-stol``, ``-4stol``, ``-Q``): F versus resolution.

The reference reads these (``read_text_file(stolfilename, 2, ...)``), scales
the first column to sin(theta)/lambda in 1/m and pads the table for
interpolation, but draws nothing from it: the Bragg image does not change.
xbragg reads and checks the file the same way, so that a nanoBragg script
runs and a broken file is reported.
"""
from __future__ import annotations

import math
import os

import numpy as np

from xbragg.io._text import read_number_rows

__all__ = ["STOL_COLUMNS", "STOL_SCALE_PER_M", "read_stol_file"]

#: Column names, in file order.
STOL_COLUMNS = ("stol", "F")

#: what the first column is, per flag, and the reference's factor to sin(theta)/lambda in 1/m
STOL_SCALE_PER_M = {
    "-stol": ("sin(theta)/lambda (1/A)", 1e10),
    "-4stol": ("4 sin(theta)/lambda (1/A)", 1e10 / 4),
    "-Q": ("Q = 4 pi sin(theta)/lambda (1/A)", 1e10 / math.pi / 4),
}


def read_stol_file(path: str | os.PathLike[str], flag: str = "-stol") -> np.ndarray:
    """F versus sin(theta)/lambda: float64 ``(n, 2)``, first column in 1/m, second F (electrons).

    ``flag`` (a key of :data:`STOL_SCALE_PER_M`) says what the first column
    holds.  A missing F is 0, as the reference fills it.  Errors as
    :func:`xbragg.io._text.read_number_rows` (missing file, non-number, more than
    two columns, no rows).
    """
    rows = read_number_rows(path, STOL_COLUMNS, flag, "no structure factors found")   # a new array
    rows[:, 0] *= STOL_SCALE_PER_M[flag][1]
    rows[np.isnan(rows[:, 1]), 1] = 0.0
    return rows
