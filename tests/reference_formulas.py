"""The reference's set-up formulas written out plainly, for tests to work out expected values."""
from __future__ import annotations

import math

import numpy as np


def rotate_xyz(v, rx, ry, rz):
    """``v`` rotated about x, then y, then z (radians), as nanoBragg.c's ``rotate``."""
    c, s = math.cos, math.sin
    Rx = np.array([[1, 0, 0], [0, c(rx), -s(rx)], [0, s(rx), c(rx)]])
    Ry = np.array([[c(ry), 0, s(ry)], [0, 1, 0], [-s(ry), 0, c(ry)]])
    Rz = np.array([[c(rz), -s(rz), 0], [s(rz), c(rz), 0], [0, 0, 1]])
    return Rz @ Ry @ Rx @ np.asarray(v, dtype=float)
