"""MOSFLM orientation matrix files (``-mat``)."""
from __future__ import annotations

import os

import numpy as np

from xbragg.errors import InputError
from xbragg.io._text import parse_number, read_text

__all__ = ["read_mosflm_matrix"]


def read_mosflm_matrix(path: str | os.PathLike[str], *, flag: str = "-mat"
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the reciprocal cell from a MOSFLM matrix file.

    The first nine numbers of the file (normally three lines of three) form
    the MOSFLM A matrix, whose columns are a*, b*, c*: line 1 holds their x
    components, line 2 the y components, line 3 the z components. Values are
    reciprocal-cell vectors in 1/Angstrom multiplied by the wavelength in
    Angstrom (dimensionless); the caller divides by the wavelength. Anything
    after the ninth number (the rest of a MOSFLM ``.mat`` file) is ignored;
    blank lines before the numbers are skipped.

    Returns ``(a_star, b_star, c_star)``, each float64 of shape ``(3,)``.
    Raises :class:`InputError` (with ``flag``, ``path`` and line number) for
    a missing file, a non-numeric token among the first nine, or fewer than
    nine numbers.
    """
    name = os.fspath(path)
    text = read_text(name, flag)
    numbers: list[float] = []
    last_line = 0
    for line_number, line in enumerate(text.split("\n"), start=1):
        if len(numbers) == 9:
            break
        for token in line.split():
            value = parse_number(token)
            if value is None:
                raise InputError(
                    f"{token!r} is not a number (expected three numbers per line for "
                    "the 3x3 matrix of a*, b*, c* columns)",
                    flag=flag, path=name, line=line_number)
            numbers.append(value)
            last_line = line_number
            if len(numbers) == 9:
                break
    if len(numbers) < 9:
        raise InputError(
            f"found only {len(numbers)} numbers, expected 9 (three lines of three: "
            "the x, y and z components of a*, b*, c*)",
            flag=flag, path=name, line=last_line if numbers else None)
    matrix = np.array(numbers, dtype=np.float64).reshape(3, 3)
    return (matrix[:, 0].copy(), matrix[:, 1].copy(), matrix[:, 2].copy())
