"""miniCBF images with a Pilatus-style header, for geometries that header can express.

A miniCBF states no vectors: its readers assume them.  dxtbx's ``FormatCBFMini``
(``cctbx/dxtbx``, ``src/dxtbx/format/FormatCBFMini.py``) builds, in its imgCIF frame, a
beam along -z, one flat panel normal to it at ``Detector_distance`` with the fast axis
along +x and the slow axis along -y, the direct beam at ``Beam_xy`` (pixels, counted
from the outer corner of the first pixel: dxtbx's pixel coordinates), and a single
rotation axis along +x, the fast axis (``FormatCBFMini._detector``, ``_goniometer``).  So
an xbragg geometry is written as miniCBF only when a rotation of the lab
frame takes it onto that one: a single flat panel whose normal (fast x slow) is the beam
direction and whose fast axis is the rotation axis.  Anything else is an
:class:`~xbragg.errors.InputError` that points at NXmx, which carries the vectors.

The header convention is ``GENERIC_MINI``, dxtbx's convention "intended for simulated
PAD data, non-Pilatus array size", rather than ``PILATUS_1.2``: dxtbx's Pilatus reader
masks the gaps between Pilatus modules and rejects sizes that are not a tiling of them.
"""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from xbragg.errors import InputError
from xbragg.io.atomic import atomic_write_bytes, refuse_inputs

if TYPE_CHECKING:     # xbragg.models imports xbragg.io (HKL tables): no import cycle at run time
    from xbragg.models import Beam, Detector, Goniometer, Scan

__all__ = ["write_cbf", "cbf_bytes", "cbf_header_lines", "check_cbf", "CBF_CONVENTION"]

CBF_CONVENTION = "GENERIC_MINI"
_INT32_MAX = np.iinfo(np.int32).max
# the sine of the largest angle between two directions that count as the same
_ALIGNED = 1e-6


def _misaligned(a, b) -> bool:
    """Whether unit vectors ``a`` and ``b`` point different ways (angle over about 1e-6 rad)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return not (float(a @ b) > 0.0 and float(np.linalg.norm(np.cross(a, b))) < _ALIGNED)


#: what the refusals of a geometry suggest instead, for library callers
_NXMX_INSTEAD = "write NXmx (xbragg.io.nexus.write_nexus), which states every vector"


def _check_geometry(beam: Beam, detector: Detector, goniometer: Goniometer, instead: str = _NXMX_INSTEAD) -> None:
    """:class:`InputError` unless a lab rotation maps the geometry onto a miniCBF's."""
    see = f"; {instead}"
    if len(detector) != 1:
        raise InputError(f"miniCBF holds one panel, the detector has {len(detector)}{see}")
    panel = detector[0]
    if panel.curved:
        raise InputError(f"miniCBF describes a flat panel, this one is curved{see}")
    direction = np.asarray(beam.direction, dtype=np.float64) / np.linalg.norm(beam.direction)
    normal = np.cross(panel.fast_axis, panel.slow_axis)
    if _misaligned(normal, direction):
        raise InputError("miniCBF readers assume the panel normal (fast x slow) along the beam; here it is "
                         f"{np.round(normal, 6).tolist()} for a beam along {np.round(direction, 6).tolist()}{see}")
    if _misaligned(goniometer.rotation_axis, panel.fast_axis):
        raise InputError("miniCBF readers assume the rotation axis along the fast axis; here it is "
                         f"{np.round(goniometer.rotation_axis, 6).tolist()} with the fast axis "
                         f"{np.round(panel.fast_axis, 6).tolist()}{see}")


def cbf_header_lines(*, beam: Beam, detector: Detector, goniometer: Goniometer, scan: Scan,
                     saturation: int | None = None) -> list[str]:
    """The Pilatus-style ``# ...`` lines of the miniCBF header (without the ``# ``), in order.

    Units as Pilatus writes them: metres for pixel size, distance and thickness, Angstrom,
    degrees, seconds; ``Beam_xy`` in pixels from the outer corner of the first pixel.
    :class:`InputError` when the geometry cannot be written as miniCBF.
    """
    _check_geometry(beam, detector, goniometer)
    panel = detector[0]
    hit = panel.beam_intersection_fs_m(beam.direction)
    assert hit is not None          # the normal is along the beam (checked above)
    pixel = panel.pixel_size_m
    exposure = beam.exposure_s
    material = panel.sensor.material or "Si"
    # dxtbx reads a silicon sensor from "Silicon", a CdTe one from "CdTe"
    sensor = "Silicon" if material in ("Si", "Silicon") else material
    cutoff = _INT32_MAX if saturation is None else int(saturation)
    return [
        "Detector: xbragg simulated pixel detector",
        f"Pixel_size {pixel:.6e} m x {pixel:.6e} m",
        f"{sensor} sensor, thickness {panel.sensor.thick_m:.6e} m",
        f"Exposure_time {exposure:.7f} s",
        f"Exposure_period {exposure:.7f} s",
        "Tau = 0 s",
        f"Count_cutoff {cutoff} counts",
        f"Wavelength {beam.wavelength_m * 1e10:.8f} A",
        f"Detector_distance {panel.close_distance_m:.8f} m",
        f"Beam_xy ({hit[0] / pixel:.4f}, {hit[1] / pixel:.4f}) pixels",
        f"Start_angle {math.degrees(scan.phi0_rad):.6f} deg.",
        f"Angle_increment {math.degrees(scan.osc_rad):.6f} deg.",
        "Oscillation_axis X, CW",
        "N_oscillations 1",
    ]


def _counts(image, shape: tuple[int, int]) -> np.ndarray:
    from xbragg.backends.select import to_numpy
    data = to_numpy(image)
    if data.shape != shape:
        raise InputError(f"image: shape {data.shape}, expected the panel's {shape} (slow, fast)")
    if not np.issubdtype(data.dtype, np.integer):
        if not np.all(np.isfinite(data)) or np.any(data != np.round(data)):
            raise InputError("image: miniCBF stores integer counts; this image has fractional values "
                             "(round it, or add noise, first)")
    if data.size and (data.min() < -_INT32_MAX - 1 or data.max() > _INT32_MAX):
        raise InputError("image: counts outside the int32 range miniCBF stores")
    return np.ascontiguousarray(data, dtype=np.int32)


def _cbf_image_class():
    try:
        from fabio.cbfimage import CbfImage
    except ImportError:
        raise InputError("writing miniCBF needs fabio: pip install fabio") from None
    return CbfImage


def check_cbf(beam: Beam, detector: Detector, goniometer: Goniometer, *, instead: str = _NXMX_INSTEAD) -> None:
    """:class:`InputError` unless a miniCBF can be written for these models here: fabio
    importable and a geometry the header can state.  The message of a geometry refused ends
    with ``instead`` (by default it points at :func:`xbragg.io.nexus.write_nexus`).  Cheap:
    callers run it before rendering."""
    _cbf_image_class()
    _check_geometry(beam, detector, goniometer, instead)


def cbf_bytes(image, *, beam: Beam, detector: Detector, goniometer: Goniometer, scan: Scan,
              saturation: int | None = None) -> bytes:
    """The miniCBF file :func:`write_cbf` writes, as bytes."""
    CbfImage = _cbf_image_class()
    lines = cbf_header_lines(beam=beam, detector=detector, goniometer=goniometer, scan=scan,
                             saturation=saturation)
    data = _counts(image, detector[0].shape)
    header = {"_array_data.header_convention": CBF_CONVENTION,
              "_array_data.header_contents": "\n".join("# " + line for line in lines)}
    # fabio writes to a named file only: let it write into a private directory, then read it back
    with tempfile.TemporaryDirectory(prefix="xbragg-cbf-") as scratch:
        name = os.path.join(scratch, "image.cbf")
        CbfImage(data=data, header=header).write(name)
        with open(name, "rb") as f:
            return f.read()


def write_cbf(path: str | os.PathLike[str], image, *, beam: Beam, detector: Detector, goniometer: Goniometer,
              scan: Scan, saturation: int | None = None, inputs: Iterable[str | os.PathLike[str]] = (),
              flag: str | None = None) -> None:
    """Write one image as a miniCBF (byte-offset compressed int32) with a Pilatus-style header, atomically.

    ``image``: (slow, fast) whole numbers (any backend); ``beam``, ``detector`` (one flat
    panel normal to the beam), ``goniometer`` (axis along the fast axis), ``scan`` (the
    image's start angle and width): the models; ``saturation``: ``Count_cutoff`` (int32's
    maximum when not given); ``inputs``: files the output must not be.  A sweep is one file
    per image.  :class:`~xbragg.errors.InputError` for a geometry miniCBF cannot state (the
    message points at NXmx) or an image that is not integer counts.
    """
    refuse_inputs(path, inputs, flag=flag)
    atomic_write_bytes(path, cbf_bytes(image, beam=beam, detector=detector, goniometer=goniometer, scan=scan,
                                       saturation=saturation), flag=flag)
