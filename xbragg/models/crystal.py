"""The crystal: cell and orientation (A = U B), size, spot shape, mosaicity, structure factors."""
from __future__ import annotations

import math
from dataclasses import dataclass

import array_api_compat.numpy as npx
import numpy as np

from ..constants import RTD
from ..io.hkl import HKLTable


@dataclass(frozen=True)
class Crystal:
    """A mosaic crystal of ``Na x Nb x Nc`` unit cells (dxtbx ``Crystal``, plus what a simulation needs).

    Orientation follows dxtbx: A = U B, the columns of A being a*, b*, c* (1/A) in the lab
    frame at spindle angle zero, B the reciprocal basis of the cell and U a rotation.
    xbragg's B is the reference's construction (a* along x, b* in the x-y plane;
    ``reciprocal_from_cell`` in :mod:`xbragg.setup.geometry`), a fixed rotation away from
    cctbx's (a along x); U is then ``R_misset @ orientation``, where ``orientation`` is the
    orientation before the misset rotations (identity for a crystal given by its cell,
    the matrix's for ``-mat``).

    ``real_axes_m`` (rows a, b, c, metres) and ``reciprocal_axes_per_A`` (rows a*, b*,
    c*) are the set-up's own vectors, built in the reference's order of operations, which
    the kernel uses; A is their transpose (equal to U B to rounding).

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
    #: a matrix (-mat) gave the orientation (xbragg.differentiable rebuilds the cell from them)
    cell_input_A_deg: tuple[float, float, float, float, float, float] | None = None
    from_matrix: bool = False

    @property
    def a(self) -> np.ndarray:
        """Real-space axis a (m), (3,)."""
        return self.real_axes_m[0]

    @property
    def b(self) -> np.ndarray:
        """Real-space axis b (m), (3,)."""
        return self.real_axes_m[1]

    @property
    def c(self) -> np.ndarray:
        """Real-space axis c (m), (3,)."""
        return self.real_axes_m[2]

    @property
    def a_star(self) -> np.ndarray:
        """Reciprocal axis a* (1/A), (3,)."""
        return self.reciprocal_axes_per_A[0]

    @property
    def b_star(self) -> np.ndarray:
        """Reciprocal axis b* (1/A), (3,)."""
        return self.reciprocal_axes_per_A[1]

    @property
    def c_star(self) -> np.ndarray:
        """Reciprocal axis c* (1/A), (3,)."""
        return self.reciprocal_axes_per_A[2]

    @property
    def A(self) -> np.ndarray:
        """dxtbx's A matrix (1/A): columns a*, b*, c*."""
        return self.reciprocal_axes_per_A.T

    @property
    def B(self) -> np.ndarray:
        """Reciprocal basis of the cell (1/A), columns a*, b*, c*, in the reference's construction."""
        from ..setup.geometry import reciprocal_from_cell
        a, b, c, alpha, beta, gamma = self.cell_input_A_deg or self.cell_A_deg
        vectors, _, _ = reciprocal_from_cell(npx, np.float64(a), np.float64(b), np.float64(c),
                                             np.float64(alpha) / RTD, np.float64(beta) / RTD,
                                             np.float64(gamma) / RTD)
        return np.stack(vectors, axis=1)

    @property
    def U(self) -> np.ndarray:
        """The orientation (3, 3): the misset rotations applied to :attr:`orientation`."""
        from ..setup.geometry import misset
        if self.misset_deg is None:
            return self.orientation
        R = np.stack(misset(npx, np.eye(3), *(x / RTD for x in self.misset_deg)), axis=1)
        return R @ self.orientation

    @property
    def size_m(self) -> tuple[float, float, float]:
        """Crystal edge lengths along a, b, c (m)."""
        def length(v):
            x, y, z = float(v[0]), float(v[1]), float(v[2])
            return math.sqrt(x * x + y * y + z * z)
        return (length(self.a) * self.Na, length(self.b) * self.Nb, length(self.c) * self.Nc)

    @property
    def domains(self) -> int:
        """Number of mosaic domains."""
        return int(self.mosaic_umats.shape[0])
