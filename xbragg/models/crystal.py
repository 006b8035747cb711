"""The crystal: cell and orientation (A = U B), size, spot shape, mosaicity, structure factors."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..io.hkl import HKLTable
from ..kernel.vectors import dot3


@dataclass(frozen=True)
class Crystal:
    """A mosaic crystal of ``Na x Nb x Nc`` unit cells (dxtbx ``Crystal``, plus what a simulation needs).

    Orientation follows dxtbx: A = U B, the columns of A being a*, b*, c* (1/A) in the lab
    frame at spindle angle zero, B the reciprocal basis of the cell and U a rotation.
    xbragg's B is the reference's construction (a* along x, b* in the x-y plane;
    ``reciprocal_from_cell`` in :mod:`xbragg.setup.geometry`), a fixed rotation away from
    cctbx's (a along x).

    ``real_axes_m`` (rows a, b, c, metres) and ``reciprocal_axes_per_A`` (rows a*, b*,
    c*) are the set-up's own vectors, built in the reference's order of operations, which
    the kernel uses: A is their transpose, and U and B derive from it.  ``orientation`` is
    what the differentiable model keeps constant: for a ``-mat`` crystal (or one from an
    experiment list's real-space axes, which has no misset) the map M with
    a*, b*, c* = R_misset M B(cell of its parameters); the identity for a ``-cell`` crystal,
    whose vectors it rebuilds from the cell as the reference does (for an oblique cell the
    reference forces the given lengths and volume on the real axes, so A is then not
    exactly R_misset B(given cell)).

    ``shape``: the spot shape (``square``, ``round``, ``gauss``, ``tophat``); ``fudge``
    scales the shape's argument.  ``mosaic_umats`` (domains, 3, 3): the rotation of each
    mosaic domain (identity alone without spread).  ``structure_factors``: the F table,
    ``None`` when every reflection takes ``default_F``.
    """

    real_axes_m: np.ndarray
    reciprocal_axes_per_A: np.ndarray
    orientation: np.ndarray
    cell_A_deg: tuple[float, float, float, float, float, float]
    reciprocal_cell: tuple[float, float, float, float, float, float]
    volume_A3: float
    Na: float
    Nb: float
    Nc: float
    shape: str
    fudge: float
    misset_deg: tuple[float, float, float] | None
    mosaic_spread_rad: float
    mosaic_umats: np.ndarray
    structure_factors: HKLTable | None
    default_F: float
    #: the -cell values the vectors were built from (A, deg), None without -cell; and whether
    #: a matrix (-mat, or an experiment list's axes) gave the orientation (xbragg.differentiable
    #: rebuilds the cell from them)
    cell_input_A_deg: tuple[float, float, float, float, float, float] | None = None
    from_matrix: bool = False

    @property
    def A(self) -> np.ndarray:
        """dxtbx's A matrix (1/A): columns a*, b*, c*."""
        return self.reciprocal_axes_per_A.T

    @property
    def B(self) -> np.ndarray:
        """Reciprocal basis of the crystal's cell (1/A), columns a*, b*, c*, in the reference's frame:
        a* along x, b* in the x-y plane (upper triangular, B^T B = A^T A, the reciprocal metric)."""
        return np.linalg.cholesky(self.A.T @ self.A).T

    @property
    def U(self) -> np.ndarray:
        """The orientation (3, 3), a rotation: A B^-1."""
        return self.A @ np.linalg.inv(self.B)

    @property
    def size_m(self) -> tuple[float, float, float]:
        """Crystal edge lengths along a, b, c (m)."""
        a, b, c = (math.sqrt(float(dot3(v, v))) for v in self.real_axes_m)
        return (a * self.Na, b * self.Nb, c * self.Nc)

    @property
    def domains(self) -> int:
        """Number of mosaic domains."""
        return int(self.mosaic_umats.shape[0])
