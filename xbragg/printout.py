"""``-printout`` and ``-printout_pixel F S``: the reference's per-pixel console lines.

The reference prints, after each rendered pixel (every pixel, or only pixel
(fast F, slow S)), the values its loop variables hold at that moment: the
last sub-pixel's position and stol, the last evaluation's Miller indices,
lattice factor and cell, the last *reached* evaluation's structure factor,
the pixel's sum and corrections (``main`` of nanoBragg.c, the ``printout``
block).  The numbers come from the renderer itself: :func:`xbragg.render.render`
with ``record_tile`` records each tile's kernel arrays, and
:class:`PixelPrintout` picks the values out and formats them, like
:mod:`xbragg.trace`; no physics is computed here.

Loop variables keep their value from pixel to pixel in the reference; a pixel
where no evaluation is kept (``-dmin``) or reached (lattice factor exactly 0)
therefore shows the previous pixel's values, and so it does here.  Before the
first one the cell is the unrotated one in both; the other values are
uninitialised there and 0 here.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .backends import to_numpy
from .io.cformat import format_f, format_g
from .setup.experiment import Experiment


def _g10(x) -> str:
    return format_g(float(x), 10).rjust(15)


def _f8(x) -> str:
    return format_f(float(x), 8).rjust(11)


class PixelPrintout:
    """Formats the reference's printout of each rendered pixel; use :meth:`tile` as ``render``'s ``record_tile``.

    ``pixel``: (fast, slow) of the one pixel to print, or ``None`` (or a negative
    fast index, as the reference) for every pixel.  ``write`` receives the text of
    each printed pixel.
    """

    def __init__(self, exp: Experiment, write: Callable[[str], Any], pixel: tuple[int, int] | None = None):
        self.exp = exp
        self.write = write
        self.pixel = None if pixel is None or pixel[0] < 0 else pixel
        self.stol = 0.0
        self.hkl = np.zeros(3)
        self.hkl0 = np.zeros(3, dtype=np.int64)
        self.F_latt = 0.0
        self.F_cell = 0.0
        cr = exp.crystal
        self.cell = cr.real_axes_m                   # rows a, b, c (m); the reference's start: unrotated
        # each evaluation's cell, flattened (phi step x mosaic domain), picked once here, not per pixel
        self.cells = exp.rotated_cells.reshape(-1, 3, 3)
        if exp.phi_carryover:
            self.carried_cells = exp.carried_cells.reshape(-1, 3, 3)
            self.first_pass_cells = exp.first_pass_cells.reshape(-1, 3, 3)
        self.mask = exp.mask_of(0)
        self.polar_kept = 0.0            # polarization of the last kept source (-oversample_polar)

    def tile(self, record: dict, spix, fpix) -> None:
        """Print the pixels of one rendered tile, in raster order, from its kernel record."""
        r = {k: to_numpy(v) for k, v in record.items()
             if v is not None and not isinstance(v, (tuple, list, dict))}
        for p, (s, f) in enumerate(zip(to_numpy(spix).tolist(), to_numpy(fpix).tolist())):
            if self.mask is not None and not self.mask[s, f]:
                continue                 # the reference skips masked pixels before any of this
            self._follow(r, p)
            if self.pixel is None or self.pixel == (f, s):
                self.write(self._text(r, p, s, f))

    def _follow(self, r: dict, p: int) -> None:
        """Update the loop variables the way pixel ``p``'s loops leave them."""
        exp = self.exp
        T, S, N = r["keep"].shape[1:]
        R = r["hkl"].shape[4]
        scattering = r["scattering"][p, T - 1, S - 1, N - 1]
        self.stol = 0.5 * math.sqrt(float(np.dot(scattering, scattering)))
        kept = np.flatnonzero(r["keep"][p].reshape(-1))
        if kept.size:
            t, s, n = np.unravel_index(kept[-1], (T, S, N))
            self.hkl = r["hkl"][p, t, s, n, R - 1]
            self.hkl0 = r["nearest"][p, t, s, n, R - 1]
            self.F_latt = float(r["F_latt"][p, t, s, n, R - 1])
            self.polar_kept = float(r["polar"][p, t, s, n])
            if "first_pass" in r:       # phi carry-over: the kernel took one of these two
                cells = self.first_pass_cells if r["first_pass"][p, t, s, n] else self.carried_cells
            else:
                cells = self.cells
            self.cell = cells[R - 1]
        elif exp.oversample_polar:
            self.polar_kept = 1.0 if (not exp.beam.polarization_correction) else 0.0     # reset per pixel, never computed
        reached = np.flatnonzero(r["reached"][p].reshape(-1))
        if reached.size:
            self.F_cell = float(r["F_cell"][p].reshape(-1)[reached[-1]])

    def _text(self, r: dict, p: int, s: int, f: int) -> str:
        exp = self.exp
        T, S = r["omega"].shape[1:]
        pos = r["pos"][p, T - 1, S - 1]
        # the reference's second stol takes the lab x axis as the beam, whatever the convention
        twotheta = math.atan2(math.sqrt(pos[1] * pos[1] + pos[2] * pos[2]), pos[0])
        test = math.sin(twotheta / 2.0) / (exp.beam.wavelength_m * 1e10)
        I = float(r["I"][p])
        polar = self.polar_kept if exp.oversample_polar else float(r["polar_used"][p])
        omega = r["omega"][p, T - 1, S - 1] if exp.oversample_omega else r["omega"][p, 0, 0]
        capture = r["capture"][p, T - 1, S - 1] if exp.oversample_thick else r["capture"][p, T - 1, 0]
        g = format_g
        h, k, l = self.hkl
        a, b, c = self.cell * 1e10
        lines = [
            f"{f:4d} {s:4d} : stol = {g(self.stol)} or {g(test)}",
            f"at {g(pos[0])} {g(pos[1])} {g(pos[2])}",
            f"hkl= {format_f(h)} {format_f(k)} {format_f(l)}  hkl0= "
            + " ".join(str(int(x)) for x in self.hkl0),
            f" F_cell={g(self.F_cell)}  F_latt={g(self.F_latt)}   I = {g(I)}",
            f"I/steps {_g10(I / exp.steps)}",
            f"polar   {_g10(polar)}",
            f"omega   {_g10(omega)}",
            f"capfrac {_g10(capture)}",
            f"pixel   {_g10(np.float32(r['value'][p]))}",
            "real-space cell vectors (Angstrom):",
            "     " + "  ".join(name.ljust(10) for name in "abc"),
        ]
        lines += [f"{axis}: {_f8(a[i])} {_f8(b[i])} {_f8(c[i])}" for i, axis in enumerate("XYZ")]
        return "\n".join(lines) + "\n"
