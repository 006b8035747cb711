"""The shared rotations (xbragg.kernel.vectors) and set-up geometry (xbragg.setup.geometry):
zero host angles are skipped as the reference skips them, array angles stay differentiable."""
from __future__ import annotations

import math

import array_api_compat.numpy as npx
import numpy as np
import pytest

from xbragg.kernel.vectors import axis_angle_umat, rotate_axis, rotate_umat, rotate_xyz
from xbragg.setup.geometry import rotated_cells


def test_zero_host_angles_leave_the_vector_untouched():
    # an applied identity rotation would turn -0.0 into 0.0 and inf into NaN (inf * 0)
    v = np.array([np.inf, -0.0, 2.0])
    out = rotate_xyz(npx, v, 0.0, 0.0, 0.0)
    assert out.tobytes() == v.tobytes()
    # one non-zero angle rotates about that axis only
    np.testing.assert_allclose(rotate_xyz(npx, np.array([0.0, 1.0, 0.0]), 0.0, 0.0, math.pi / 2),
                               [-1.0, 0.0, 0.0], atol=1e-16)


def test_rotated_cells_keep_the_cell_of_a_step_at_zero_on_the_host():
    cell = (np.array([1.0, -0.0, 0.0]), np.array([0.0, 2.0, 0.0]), np.array([0.0, 0.0, 3.0]))
    cells = rotated_cells(npx, cell, phi0_rad=-0.1, phistep_rad=0.1, phisteps=3,
                          spindle=np.array([0.0, 0.0, 1.0]))
    assert cells.shape == (3, 1, 3, 3)
    assert cells[1, 0].tobytes() == np.stack(cell).tobytes()     # phi = -0.1 + 0.1 = 0 exactly
    np.testing.assert_allclose(cells[2, 0, 0], [math.cos(0.1), math.sin(0.1), 0.0], rtol=1e-15)


def test_array_angles_are_applied_and_differentiable():
    torch = pytest.importorskip("torch")
    rotz = torch.zeros((), dtype=torch.float64, requires_grad=True)
    out = rotate_xyz(torch, torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), 0.0, 0.0, rotz)
    out[1].backward()
    assert float(rotz.grad) == 1.0                                # d(sin rotz)/d rotz at 0
    phi0 = torch.zeros((), dtype=torch.float64, requires_grad=True)
    cell = tuple(torch.tensor(v, dtype=torch.float64) for v in np.eye(3))
    cells = rotated_cells(torch, cell, phi0_rad=phi0, phistep_rad=0.1, phisteps=2,
                          spindle=torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))
    cells[0, 0, 0, 1].backward()                                 # a_y at phi0 = 0
    assert float(phi0.grad) == 1.0


def test_matrix_and_vector_forms_of_rodrigues_agree():
    rng = np.random.default_rng(3)
    for _ in range(20):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        angle, v = rng.uniform(-4, 4), rng.normal(size=3)
        umat = axis_angle_umat(npx, axis, angle)
        np.testing.assert_allclose(umat @ umat.T, np.eye(3), atol=1e-15)
        np.testing.assert_allclose(rotate_umat(umat, v), rotate_axis(npx, v, axis, angle), rtol=0, atol=1e-14)


def test_set_up_geometry_uses_only_the_array_api_standard():
    # the canary: runs on array_api_strict, and gives NumPy's numbers there
    xps = pytest.importorskip("array_api_strict")
    from xbragg.setup.geometry import (beam_centre_fs, detector_frame, detector_ratio, misset,
                                       real_from_reciprocal, reciprocal_from_cell)

    def geometry(xp):
        def f(v):
            return xp.asarray(v, dtype=xp.float64)
        basis = (f([0, 0, 1.0]), f([0, -1.0, 0]), f([1.0, 0, 0]))
        beam, angles = f([1.0, 0, 0]), (f(0.01), f(0.02), f(-0.03))
        ratio = detector_ratio(xp, beam, basis[2], *angles)
        frame = detector_frame(xp, basis, beam, f([0, 0, -1.0]), rotx=angles[0], roty=angles[1],
                               rotz=angles[2], twotheta=f(0.1), pivot="beam", ratio=ratio, distance_m=f(0.1),
                               beam_fs_m=beam_centre_fs("MOSFLM", f(0.005), f(0.006), 1e-4, 0.0128))
        lengths = (f(70.0), f(80.0), f(90.0))
        recip, V, _ = reciprocal_from_cell(xp, *lengths, f(1.3), f(1.4), f(1.6))
        real, _, _, _ = real_from_reciprocal(xp, *misset(xp, recip, *angles), cell_A=lengths, V_cell=V)
        cells = rotated_cells(xp, real, phi0_rad=f(0.0), phistep_rad=0.1, phisteps=3,
                              spindle=f([0, 0, 1.0]), umats=xp.stack([xp.eye(3, dtype=xp.float64)] * 2))
        return [np.asarray(x) for x in (*frame, cells)]
    for strict, plain in zip(geometry(xps), geometry(npx)):
        np.testing.assert_array_equal(strict, plain)
