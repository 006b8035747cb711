"""Reading the geometry back from the files xbragg writes, for the format tests.

NXmx: an independent reading of NXtransformations with plain h5py objects (the NeXus rules,
no nxmx), and the same through the ``nxmx`` package dxtbx uses; miniCBF: the header lines
as dxtbx's FormatCBFMini splits them.  No optional package is imported here.
"""
from __future__ import annotations

import re

import numpy as np

from format_models import unit
from xbragg.io.mcstas import mcstas_rotation
from xbragg.models import Panel


# --- NXmx ------------------------------------------------------------------------------------------------

def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _length_mm(value, units) -> float:
    return float(value) * {"mm": 1.0, "m": 1e3, "um": 1e-3, "microns": 1e-3}[text(units)]


def _matrix(ds, index=0) -> np.ndarray:
    """The 4x4 transformation of axis dataset ``ds`` at value ``index``."""
    value = np.atleast_1d(ds[()])[index]
    vector = np.asarray(ds.attrs["vector"], dtype=float)
    m = np.eye(4)
    if text(ds.attrs["transformation_type"]) == "translation":
        m[:3, 3] = _length_mm(value, ds.attrs["units"]) * vector
    else:
        assert text(ds.attrs["units"]) in ("deg", "degree", "degrees")
        k, a = unit(vector), np.radians(value)
        K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
        m[:3, :3] = np.eye(3) + np.sin(a) * K + (1 - np.cos(a)) * K @ K
    if "offset" in ds.attrs:
        m[:3, 3] += ds.attrs["offset"]
    return m


def chain(f, path: str) -> np.ndarray:
    """The product T1 T2 ... of the depends_on chain starting at ``path`` (its own transformation first)."""
    total = np.eye(4)
    while path != ".":
        ds = f[path]
        total = total @ _matrix(ds)
        nxt = text(ds.attrs["depends_on"])
        path = nxt if nxt.startswith("/") or nxt == "." else ds.parent.name + "/" + nxt
    return total


def pixel_centre_mm(f, module, slow, fast) -> np.ndarray:
    """Centre of pixel (slow, fast) of ``module``: dxtbx's reading (chain = corner of the first pixel)."""
    fdir, sdir = module["fast_pixel_direction"], module["slow_pixel_direction"]
    local = ((fast + 0.5) * _length_mm(fdir[()], fdir.attrs["units"]) * np.asarray(fdir.attrs["vector"])
             + (slow + 0.5) * _length_mm(sdir[()], sdir.attrs["units"]) * np.asarray(sdir.attrs["vector"]))
    assert text(fdir.attrs["depends_on"]) == text(sdir.attrs["depends_on"])
    return (chain(f, text(fdir.attrs["depends_on"])) @ np.append(local, 1.0))[:3]


def modules(f):
    det = f["/entry/instrument/detector"]
    names = sorted(k for k in det if text(det[k].attrs.get("NX_class", b"")) == "NXdetector_module")
    return [det[k] for k in names]


def probe_pixels(panel: Panel):
    last_s, last_f = panel.slow_pixels - 1, panel.fast_pixels - 1
    return [(0, 0), (0, last_f), (last_s, 0), (panel.slow_pixels // 3, 2 * panel.fast_pixels // 3)]


def mcstas_of(beam, detector):
    return mcstas_rotation(beam.direction, beam.polarization_axis, detector[0].slow_axis)


def nxmx_pixel_centre_mm(nxmx, module, slow, fast) -> np.ndarray:
    """Centre of pixel (slow, fast) of an ``nxmx`` module object, through nxmx's own chain composition."""
    fdir, sdir = module.fast_pixel_direction, module.slow_pixel_direction
    A = nxmx.get_cumulative_transformation(nxmx.get_dependency_chain(fdir.depends_on))[0]
    step_f = fdir[()].to("mm").magnitude.item() * np.asarray(fdir.vector)
    step_s = sdir[()].to("mm").magnitude.item() * np.asarray(sdir.vector)
    return A[:3, 3] + A[:3, :3] @ ((fast + 0.5) * step_f + (slow + 0.5) * step_s)


# --- miniCBF --------------------------------------------------------------------------------------------

def header_values(img) -> dict[str, str]:
    """The ``# Key value`` lines as dxtbx's FormatCBFMini splits them: first token the key."""
    lines = img.header["_array_data.header_contents"].splitlines()
    tokens = [line.lstrip("# ").replace("=", "").replace(":", "").split() for line in lines if line.strip()]
    return {t[0]: " ".join(t[1:]) for t in tokens}


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", text)]
