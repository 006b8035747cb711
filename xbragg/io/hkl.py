"""Structure-factor tables: HKL text files and the reference's ``Fdump.bin`` cache.

An :class:`HKLTable` holds |F| on an integer grid of Miller indices, either
dense, ``F[h - h_min, k - k_min, l - l_min]``, or, for a grid too large to
hold with few reflections in it, sparse: the listed cells' flat grid indices
(sorted) and amplitudes, every other cell holding ``fill_F``.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import numpy as np

from xbragg.errors import InputError
from xbragg.io._text import parse_number, read_bytes, read_text
from xbragg.io.atomic import atomic_write_bytes

__all__ = ["HKLTable", "read_hkl", "write_fdump", "read_fdump", "FDUMP_NAME", "MAX_GRID_CELLS",
           "DENSE_MAX_CELLS", "MAX_F"]

#: The reference's cache file, in the working directory (the command line's -dump default).
FDUMP_NAME = "Fdump.bin"

#: Largest number of grid cells a table may span (sparse tables; flat indices stay
#: exact in float64); a file needing more almost certainly holds a wrong index.
MAX_GRID_CELLS = 1 << 53
#: Grids up to this many cells (128 MiB of float64) are held dense; larger ones
#: only when at least a quarter of their cells are listed, else sparse.
DENSE_MAX_CELLS = 1 << 24
#: Largest amplitude accepted: F*F must stay finite in float64.
MAX_F = 1e150

_AXES = ("h", "k", "l")


@dataclass(frozen=True)
class HKLTable:
    """Table of structure-factor amplitudes (electrons, unitless |F|).

    Dense: ``F`` is float64 of shape ``(h_max-h_min+1, k_max-k_min+1,
    l_max-l_min+1)`` with ``F[h-h_min, k-k_min, l-l_min]`` the amplitude of
    reflection ``(h, k, l)``. Sparse (``F`` is ``None``): ``keys`` (int64,
    sorted, unique) are the C-order flat indices into that grid of the listed
    cells, ``values`` (float64) their amplitudes, and every other cell of the
    grid holds ``fill_F``. ``count`` is the number the reference reports as
    "initialized hkls": reflection lines read from an HKL file, or the number
    of grid cells when read from ``Fdump.bin``.
    """

    h_min: int
    h_max: int
    k_min: int
    k_max: int
    l_min: int
    l_max: int
    F: np.ndarray | None
    count: int
    keys: np.ndarray | None = None
    values: np.ndarray | None = None
    fill_F: float = 0.0

    def __post_init__(self) -> None:
        expected = self.shape
        if self.F is None:
            if self.keys is None or self.values is None or self.keys.shape != self.values.shape:
                raise ValueError("a sparse table needs keys and values of one shape")
        elif self.F.shape != expected:
            raise ValueError(f"F has shape {self.F.shape}, expected {expected} "
                             "from the index ranges")

    @property
    def sparse(self) -> bool:
        """True when the table holds only its listed cells (``keys``, ``values``)."""
        return self.F is None

    @property
    def cells(self) -> int:
        """Number of cells of the grid the index ranges span."""
        h, k, l = self.shape
        return h * k * l

    @property
    def nbytes(self) -> int:
        """Bytes the table's arrays take."""
        if self.F is not None:
            return int(self.F.nbytes)
        return int(self.keys.nbytes + self.values.nbytes)

    def amplitude(self, h: int, k: int, l: int) -> float:
        """F of reflection (h, k, l); NaN outside the grid."""
        rel = (h - self.h_min, k - self.k_min, l - self.l_min)
        if not all(0 <= r < n for r, n in zip(rel, self.shape)):
            return float("nan")
        if self.F is not None:
            return float(self.F[rel])
        flat = int(np.ravel_multi_index(rel, self.shape))
        at = int(np.searchsorted(self.keys, flat))
        found = at < self.keys.size and int(self.keys[at]) == flat
        return float(self.values[at]) if found else float(self.fill_F)

    def describe(self) -> str:
        """Index ranges and ``count``, as printed when a cache is read: ``h -5..5 k ... (N values)``."""
        return (f"h {self.h_min}..{self.h_max} k {self.k_min}..{self.k_max} "
                f"l {self.l_min}..{self.l_max} ({self.count} values)")

    @property
    def shape(self) -> tuple[int, int, int]:
        """Grid shape ``(h_range, k_range, l_range)``, each ``max - min + 1``."""
        return (self.h_max - self.h_min + 1, self.k_max - self.k_min + 1,
                self.l_max - self.l_min + 1)

    @property
    def origin(self) -> tuple[int, int, int]:
        """Miller indices ``(h_min, k_min, l_min)`` of grid cell ``[0, 0, 0]``."""
        return (self.h_min, self.k_min, self.l_min)


def _bad_token(rows: list[list[str]], keep: list[int], name: str,
               flag: str) -> InputError | None:
    """Error for the first token of the kept ``rows`` that is not a number, if any."""
    for index in keep:
        for column, token in enumerate(rows[index]):
            if parse_number(token) is None:
                what = ("h", "k", "l", "F")[column]
                return InputError(f"{token!r} is not a number (expected {what} in "
                                  "'h k l F')", flag=flag, path=name, line=index + 1)
    return None


def read_hkl(path: str | os.PathLike[str], default_F: float = 0.0, *,
             flag: str = "-hkl") -> HKLTable:
    """Read an HKL text file into a dense :class:`HKLTable`.

    Each non-blank line that does not start with ``#`` holds exactly four
    numbers ``h k l F`` separated by whitespace; ``h``, ``k``, ``l`` must be
    integral (``3``, ``-8`` or ``3.0``), ``F`` is the amplitude. The grid spans
    the minimum to maximum of each index; cells not listed hold ``default_F``;
    for a repeated reflection the last line wins. ``count`` is the number of
    reflection lines. A grid of more than :data:`DENSE_MAX_CELLS` cells of which
    fewer than a quarter are listed is held sparse (see :class:`HKLTable`), so a
    few reflections with large indices need little memory.

    Raises :class:`InputError` (with ``flag``, ``path`` and the 1-based line
    number) for a missing or unreadable file, a wrong number of columns, a
    non-numeric token, a non-integer index, an F that is not finite or whose
    square overflows (``|F| > MAX_F``), a grid too large, or a file without any
    reflection.
    """
    name = os.fspath(path)
    text = read_text(name, flag)
    rows = [line.split() for line in text.split("\n")]
    keep = [i for i, row in enumerate(rows) if row and not row[0].startswith("#")]
    if not keep:
        raise InputError("no reflections found (expected lines 'h k l F')",
                         flag=flag, path=name)
    for index in keep:
        if len(rows[index]) != 4:
            raise InputError(f"expected 4 numbers 'h k l F', found {len(rows[index])}",
                             flag=flag, path=name, line=index + 1)
    tokens = list(itertools.chain.from_iterable(rows[i] for i in keep))
    error = _bad_token(rows, keep, name, flag) if "_" in text else None
    if error is None:
        try:
            values = np.array(tokens, dtype=np.float64).reshape(len(keep), 4)
        except ValueError:
            error = _bad_token(rows, keep, name, flag) or InputError(
                "unreadable numbers", flag=flag, path=name)
    if error is not None:
        raise error

    hkl_float = values[:, :3]
    integral = np.isfinite(hkl_float) & (hkl_float == np.round(hkl_float)) \
        & (np.abs(hkl_float) < 2.0**31)
    if not integral.all():
        row, column = np.argwhere(~integral)[0]
        raise InputError(
            f"{_AXES[column]} = {rows[keep[row]][column]} is not an integer",
            flag=flag, path=name, line=keep[row] + 1)
    amplitudes = values[:, 3]
    bad_F = ~(np.abs(amplitudes) <= MAX_F)          # NaN and infinities included
    if bad_F.any():
        row = int(np.argmax(bad_F))
        token = rows[keep[row]][3]
        what = ("is not a finite number" if not np.isfinite(amplitudes[row]) else
                f"is too large: F*F would overflow (at most {MAX_F:g})")
        raise InputError(f"F = {token} {what}", flag=flag, path=name, line=keep[row] + 1)
    hkl = hkl_float.astype(np.int64)
    lows = hkl.min(axis=0)
    highs = hkl.max(axis=0)
    shape = tuple(int(n) for n in highs - lows + 1)
    cells = shape[0] * shape[1] * shape[2]
    if cells > MAX_GRID_CELLS:
        raise InputError(
            f"index ranges h {lows[0]}..{highs[0]}, k {lows[1]}..{highs[1]}, "
            f"l {lows[2]}..{highs[2]} need {cells} grid cells (more than "
            f"{MAX_GRID_CELLS})", flag=flag, path=name)

    rel = hkl - lows
    flat = (rel[:, 0] * shape[1] + rel[:, 1]) * shape[2] + rel[:, 2]
    # the last occurrence of each reflection wins; np.unique sorts the keys
    keys, last_from_end = np.unique(flat[::-1], return_index=True)
    amplitudes = amplitudes[flat.size - 1 - last_from_end]
    bounds = (int(lows[0]), int(highs[0]), int(lows[1]), int(highs[1]), int(lows[2]), int(highs[2]))
    if cells > DENSE_MAX_CELLS and 4 * keys.size < cells:
        return HKLTable(*bounds, None, len(keep), keys=keys, values=amplitudes,
                        fill_F=float(default_F))
    F = np.full(shape, float(default_F), dtype=np.float64)
    F.reshape(-1)[keys] = amplitudes
    return HKLTable(*bounds, F, len(keep))


def _fdump_header(table: HKLTable) -> bytes:
    """ASCII header ``"h_min h_max k_min k_max l_min l_max\\n\\f"`` of ``Fdump.bin``."""
    return ("%d %d %d %d %d %d\n\f" % (table.h_min, table.h_max, table.k_min,
                                        table.k_max, table.l_min, table.l_max)
            ).encode("ascii")


def write_fdump(path: str | os.PathLike[str], table: HKLTable) -> None:
    """Write a dense ``table`` in the reference's ``Fdump.bin`` cache format, atomically.

    Layout: the ASCII header ``"%d %d %d %d %d %d\\n\\f"`` (h_min, h_max,
    k_min, k_max, l_min, l_max) followed by ``(h_range+1)*(k_range+1)*(l_range+1)``
    little-endian float64 values in C order (h slowest, l fastest): the grid
    padded with one zero plane at the high end of each axis. Raises
    :class:`OutputError` when the file cannot be written, ``ValueError`` for a
    sparse table (the format is dense).
    """
    if table.F is None:
        raise ValueError("a sparse table cannot be written as Fdump.bin (a dense format)")
    padded = np.zeros(tuple(n + 1 for n in table.shape), dtype="<f8")
    padded[:-1, :-1, :-1] = table.F
    atomic_write_bytes(path, [_fdump_header(table), padded.tobytes(order="C")])


def read_fdump(path: str | os.PathLike[str], *, flag: str | None = None) -> HKLTable:
    """Read an ``Fdump.bin`` cache written by :func:`write_fdump` or the reference.

    The zero padding planes are dropped, so ``F`` has shape
    ``(h_range, k_range, l_range)``; ``count`` is ``h_range*k_range*l_range``
    as the reference reports. The header ends at the first ``"\\n\\f"``
    (unlike the reference's ``fscanf``, data bytes that look like whitespace
    are not skipped). Raises :class:`InputError` naming the path for a missing
    file, a malformed header, a data size other than the header implies, or an
    amplitude that is not finite or above :data:`MAX_F`.
    """
    name = os.fspath(path)
    raw = read_bytes(name, flag)
    end = raw.find(b"\n\f", 0, 256)
    fields = raw[:end].split() if end >= 0 else []
    bounds: list[int] = []
    for field in fields:
        try:
            bounds.append(int(field.decode("ascii")))
        except (UnicodeDecodeError, ValueError):
            break
    if end < 0 or len(bounds) != 6 or len(fields) != 6:
        raise InputError("not an Fdump file: expected a header "
                         "'h_min h_max k_min k_max l_min l_max' ended by newline and "
                         "form feed", flag=flag, path=name)
    h_min, h_max, k_min, k_max, l_min, l_max = bounds
    if h_max < h_min or k_max < k_min or l_max < l_min:
        raise InputError(f"bad Fdump header: empty index range in {bounds}",
                         flag=flag, path=name)
    shape = (h_max - h_min + 1, k_max - k_min + 1, l_max - l_min + 1)
    padded_shape = tuple(n + 1 for n in shape)
    expected = 8 * padded_shape[0] * padded_shape[1] * padded_shape[2]
    data = raw[end + 2:]
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "too long"
        raise InputError(f"{what}: {len(data)} bytes of data after the header, "
                         f"expected {expected} for the ranges {bounds}",
                         flag=flag, path=name)
    padded = np.frombuffer(data, dtype="<f8").reshape(padded_shape)
    F = np.ascontiguousarray(padded[:-1, :-1, :-1], dtype=np.float64)
    bad = ~(np.abs(F) <= MAX_F)
    if bad.any():
        h, k, l = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"F({h + h_min},{k + k_min},{l + l_min}) = {F[h, k, l]:g} is not finite "
                         f"or too large (at most {MAX_F:g}); delete the cache or give -hkl",
                         flag=flag, path=name)
    return HKLTable(h_min, h_max, k_min, k_max, l_min, l_max, F,
                    shape[0] * shape[1] * shape[2])
