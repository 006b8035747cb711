"""Detector conventions, beam-centre mappings, pivots and rotations.

Follows the reference's set-up block in ``main`` of nanoBragg.c: the
convention fixes the basis vectors and the beam-centre mapping and (except
CUSTOM) the pivot; the pivot decides whether the detector origin is placed
before the rotations (SAMPLE) or re-derived from the beam centre after them
(BEAM).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..constants import RTD
from ..errors import InputError
from ..kernel.vectors import cross3, dot3
from ..models import Panel
from .geometry import beam_centre_fs, detector_frame, detector_ratio, magnitude, unitize
from .options import SimulationOptions
from .sampling import thickness_sampling

#: largest image xbragg renders (pixels); larger requests are input mistakes
MAX_IMAGE_PIXELS = 1 << 31

# basis vectors per convention: beam, fdet, sdet, odet, twotheta axis, polar, spindle
_CONVENTION_VECTORS = {
    "ADXV": ((0, 0, 1), (1, 0, 0), (0, -1, 0), (0, 0, 1), (-1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "MOSFLM": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "DENZO": ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1), (0, 0, 1)),
    "XDS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0), (1, 0, 0), (1, 0, 0)),
    "DIALS": ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0), (0, 1, 0), (0, 1, 0)),
}
# the reference's initial values, which CUSTOM keeps unless a flag replaces them
_CUSTOM_DEFAULTS = ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1))
_DEFAULT_PIVOT = {"ADXV": "beam", "MOSFLM": "beam", "DENZO": "beam", "XDS": "sample", "DIALS": "sample"}


@dataclass(frozen=True)
class DetectorSetup:
    """How the nanoBragg flags placed the panel: the convention's inputs and the geometry before the rotations.

    The panel itself (:class:`~xbragg.models.Panel`) holds the result; this is the recipe,
    which the differentiable model's detector parameters start from
    (:mod:`xbragg.differentiable`) and which the reference's summary and SMV header quote.
    Lengths in metres, angles in radians.
    """

    convention: str
    pivot: str                              # "beam" or "sample"
    basis0: tuple                           # unit fdet, sdet, odet before the rotations, each (3,)
    twotheta_axis: np.ndarray
    rotx_rad: float
    roty_rad: float
    rotz_rad: float
    twotheta_rad: float
    distance0_m: float                      # along the beam, before the rotations
    distance_m: float                       # the reference's ``distance``: close distance over beam . odet'
    beam_xy_m: tuple[float, float]          # -Xbeam, -Ybeam of the convention (defaults applied)
    close0_fs_m: tuple[float, float]        # near point along fast and slow before the rotations
    detsize_fs_m: tuple[float, float]       # -detsize (fast, slow)

    def beam_spot_fs_m(self, panel: Panel, beam_direction: np.ndarray) -> tuple[float, float]:
        """(Fbeam, Sbeam): the point ``distance_m`` along the beam, on the panel's axes (reference order)."""
        impact = self.distance_m * beam_direction - panel.origin_m
        return float(dot3(panel.fast_axis, impact)), float(dot3(panel.slow_axis, impact))


class NanoBraggDetector(NamedTuple):
    """What the detector flags resolve to: the panel, its recipe, and the convention's lab vectors."""

    panel: Panel
    setup: DetectorSetup
    beam_direction: np.ndarray
    polarization_axis: np.ndarray
    rotation_axis: np.ndarray


#: |fdet x sdet| below this: the two axes are taken as parallel
_PARALLEL = 1e-6
#: a detector plane closer to the sample than this many pixels leaves no image to form
_NEAR_PLANE = 1e-3


def _show(v: np.ndarray) -> str:
    return "(" + " ".join(f"{x:.6g}" for x in v) + ")"


def _refuse_plane_through_sample(opts: SimulationOptions, close_distance_m: float, pivot: str) -> None:
    """The detector plane passes (almost) through the sample: no image can be formed.

    A -twotheta of 90 degrees with the pivot at the beam spot does this: the beam spot stays
    where it was and the plane turns until it holds the beam.  Names the rotation flags given.
    """
    rotations = [(flag, value) for flag, value in (
        ("-twotheta", opts.twotheta_deg), ("-detector_rotx", opts.detector_rotx_deg),
        ("-detector_roty", opts.detector_roty_deg), ("-detector_rotz", opts.detector_rotz_deg)) if value]
    given = ", ".join(f"{flag} {value:g}" for flag, value in rotations)
    where = f"the detector plane passes {abs(close_distance_m):.3g} m from the sample"
    if not rotations:
        raise InputError(f"{where}: give a larger -distance", flag="-distance")
    pivot_at = "beam spot" if pivot == "beam" else "sample"
    raise InputError(f"{where}: the geometry is degenerate ({given} with the pivot at the {pivot_at}); "
                     "change the rotation, -pivot or the detector vectors", flag=rotations[0][0])


def _vec(v) -> np.ndarray:
    return np.array([float(x) for x in v], dtype=np.float64)


def _is_set(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def convention_pivot(convention: str, explicit: str | None = None) -> str:
    """The pivot ("beam" or "sample") of a named convention, or the explicit one when given."""
    return (explicit or _DEFAULT_PIVOT[convention]).lower()


def detector_size(opts: SimulationOptions) -> tuple[int, int, float, float, float]:
    """Pixel counts, detector size and pixel size (reference "fill in blanks")."""
    pixel = opts.pixel_size_m if opts.pixel_size_m is not None else 0.1e-3
    if pixel <= 0:
        raise InputError(f"pixel size must be positive, got {pixel * 1e3:g} mm", flag="-pixel")
    detsize_f = opts.detsize_f_m if opts.detsize_f_m is not None else 102.4e-3
    detsize_s = opts.detsize_s_m if opts.detsize_s_m is not None else 102.4e-3
    if opts.fpixels:
        detsize_f = pixel * opts.fpixels
    if opts.spixels:
        detsize_s = pixel * opts.spixels
    fpixels = math.ceil(detsize_f / pixel - 0.5)
    spixels = math.ceil(detsize_s / pixel - 0.5)
    if fpixels <= 0 or spixels <= 0:
        raise InputError(f"detector has {fpixels}x{spixels} pixels; both counts must be positive",
                         flag="-detpixels")
    if fpixels * spixels > MAX_IMAGE_PIXELS:
        raise InputError(f"a detector of {fpixels}x{spixels} pixels is too large "
                         f"(at most {MAX_IMAGE_PIXELS} pixels)", flag="-detpixels")
    return fpixels, spixels, pixel, detsize_f, detsize_s


def build_detector(opts: SimulationOptions) -> NanoBraggDetector:
    """Resolve conventions, beam centre, pivot and rotations into a panel and its :class:`DetectorSetup`."""
    fpixels, spixels, pixel, detsize_f, detsize_s = detector_size(opts)
    nan = float("nan")
    distance = opts.distance_m if opts.distance_m is not None else 100.0e-3
    close_distance = opts.close_distance_m if opts.close_distance_m is not None else nan
    Xbeam = opts.Xbeam_m if opts.Xbeam_m is not None else nan
    Ybeam = opts.Ybeam_m if opts.Ybeam_m is not None else nan
    Xclose = opts.Xclose_m if opts.Xclose_m is not None else nan
    Yclose = opts.Yclose_m if opts.Yclose_m is not None else nan
    ORGX = opts.ORGX if opts.ORGX is not None else nan
    ORGY = opts.ORGY if opts.ORGY is not None else nan
    convention = opts.convention.upper()
    # CUSTOM: the last pivot-setting flag wins (-pivot included); conventions fix their own
    pivot = (opts.pivot_from_flags or opts.pivot or "beam").lower()

    beam, fdet, sdet, odet, tt_axis, polar, spindle = (_vec(v) for v in _CUSTOM_DEFAULTS)
    custom = {"beam_vector": None, "fdet_vector": None, "sdet_vector": None, "odet_vector": None,
              "twotheta_axis": None, "polar_vector": None, "spindle_axis": None}
    for name in custom:
        value = getattr(opts, name)
        if value is not None:
            custom[name] = _vec(value)
            if not np.any(custom[name]):
                raise InputError("a direction must not be the zero vector", flag="-" + name)

    Fclose = (ORGX - 0.5) * pixel if _is_set(ORGX) else nan
    Sclose = (ORGY - 0.5) * pixel if _is_set(ORGY) else nan
    if not _is_set(Fclose):
        Fclose = detsize_f / 2.0
    if not _is_set(Sclose):
        Sclose = detsize_s / 2.0
    if not _is_set(Xclose):
        Xclose = Fclose
    if not _is_set(Yclose):
        Yclose = Sclose

    if convention == "CUSTOM":
        # CUSTOM keeps the reference's initial vectors unless a flag replaced them
        vals = dict(zip(custom, (beam, fdet, sdet, odet, tt_axis, polar, spindle)))
        for name, value in custom.items():
            if value is not None:
                vals[name] = value
        beam, fdet, sdet, odet = vals["beam_vector"], vals["fdet_vector"], vals["sdet_vector"], vals["odet_vector"]
        tt_axis, polar, spindle = vals["twotheta_axis"], vals["polar_vector"], vals["spindle_axis"]
        if not _is_set(Xbeam):
            Xbeam = Xclose
        if not _is_set(Ybeam):
            Ybeam = Yclose
        Fbeam, Sbeam = Xbeam, Ybeam
        Fclose, Sclose = Xbeam, Ybeam
    elif convention in _CONVENTION_VECTORS:
        beam, fdet, sdet, odet, tt_axis, polar, spindle = (_vec(v) for v in _CONVENTION_VECTORS[convention])
        # a convention fixes the pivot, whatever the geometry flags implied (reference behaviour);
        # an explicit -pivot (opts.pivot), wherever it appears, is honoured -- a documented
        # difference: the reference's set-up block in main overwrites it (c_parity does too)
        pivot = convention_pivot(convention, None if opts.c_parity else opts.pivot)
        if convention == "ADXV":
            if not _is_set(Xbeam):
                Xbeam = (detsize_f + pixel) / 2.0
            if not _is_set(Ybeam):
                Ybeam = (detsize_s - pixel) / 2.0
        elif convention in ("MOSFLM", "DENZO"):
            if not _is_set(Xbeam):
                Xbeam = (detsize_s + pixel) / 2.0
            if not _is_set(Ybeam):
                Ybeam = (detsize_f + pixel) / 2.0
        else:  # XDS, DIALS
            if not _is_set(Xbeam):
                Xbeam = Xclose
            if not _is_set(Ybeam):
                Ybeam = Yclose
        Fbeam, Sbeam = beam_centre_fs(convention, Xbeam, Ybeam, pixel, detsize_s)
    else:
        raise InputError(f"unknown detector convention {opts.convention!r}; expected one of "
                         "MOSFLM, XDS, ADXV, DENZO, DIALS, CUSTOM")

    beam, _ = unitize(beam)
    fdet, _ = unitize(fdet)
    sdet, _ = unitize(sdet)
    odet, odet_len = unitize(odet)
    if odet_len != 1.0:
        # reference: "auto-generating odet_vector" from fdet x sdet
        odet, _ = unitize(cross3(fdet, sdet))
    polar, _ = unitize(polar)
    spindle, _ = unitize(spindle)
    for name, v in (("-beam_vector", beam), ("-fdet_vector", fdet), ("-sdet_vector", sdet),
                    ("-spindle_axis", spindle)):
        if not np.any(v):
            raise InputError("vector must not be zero", flag=name)
    if magnitude(cross3(fdet, sdet)) < _PARALLEL:
        raise InputError(f"the fast axis {_show(fdet)} and the slow axis {_show(sdet)} are parallel: "
                         "the detector has no area", flag="-fdet_vector, -sdet_vector")

    rotx = opts.detector_rotx_deg / RTD
    roty = opts.detector_roty_deg / RTD
    rotz = opts.detector_rotz_deg / RTD
    twotheta = opts.twotheta_deg / RTD

    ratio = float(detector_ratio(np, beam, odet, rotx, roty, rotz))
    if not _is_set(close_distance):
        close_distance = abs(ratio * distance)
    distance = close_distance / ratio

    fdet0, sdet0, odet0, Fclose0, Sclose0 = fdet, sdet, odet, Fclose, Sclose
    distance0 = distance
    fdet, sdet, odet, pix0, close_distance, distance = detector_frame(
        np, (fdet, sdet, odet), beam, tt_axis, rotx=rotx, roty=roty, rotz=rotz, twotheta=twotheta,
        pivot=pivot, ratio=ratio, distance_m=distance, close_distance_m=close_distance,
        beam_fs_m=(Fbeam, Sbeam), close_fs_m=(Fclose, Sclose))
    close_distance, distance = float(close_distance), float(distance)
    if not abs(close_distance) >= _NEAR_PLANE * pixel:
        _refuse_plane_through_sample(opts, close_distance, pivot)
    panel = Panel(origin_m=pix0, fast_axis=fdet, slow_axis=sdet, normal=odet, pixel_size_m=pixel,
                  fast_pixels=fpixels, slow_pixels=spixels, sensor=thickness_sampling(opts),
                  curve_radius_m=distance if opts.curved_det else None, point_pixel=opts.point_pixel)
    setup = DetectorSetup(
        convention=convention, pivot=pivot, basis0=(fdet0, sdet0, odet0), twotheta_axis=tt_axis,
        rotx_rad=rotx, roty_rad=roty, rotz_rad=rotz, twotheta_rad=twotheta, distance0_m=distance0,
        distance_m=distance, beam_xy_m=(Xbeam, Ybeam), close0_fs_m=(Fclose0, Sclose0),
        detsize_fs_m=(detsize_f, detsize_s))
    return NanoBraggDetector(panel=panel, setup=setup, beam_direction=beam, polarization_axis=polar,
                             rotation_axis=spindle)


class QuotedGeometry(NamedTuple):
    """The beam-centre forms the reference prints and writes into SMV headers (metres, radians)."""

    distance_m: float
    detsize_fs_m: tuple[float, float]
    beam_xy_m: tuple[float, float]          # -Xbeam, -Ybeam
    beam_fs_m: tuple[float, float]          # Fbeam, Sbeam
    close_fs_m: tuple[float, float]         # Fclose, Sclose: foot of the normal from the sample
    orgxy: tuple[float, float]              # XDS ORGX, ORGY (pixels)
    twotheta_rad: float


def quoted_geometry(panel: Panel, beam_direction: np.ndarray, setup: DetectorSetup | None) -> QuotedGeometry:
    """The summary's and SMV header's beam-centre forms of ``panel``, computed when they are written.

    From the nanoBragg ``setup`` when there is one (the reference's numbers exactly); for a
    panel given otherwise, from where the beam meets its plane (``-Xbeam``/``-Ybeam`` then
    taken as the fast and slow offsets, as XDS and DIALS do).
    """
    Fclose = -float(dot3(panel.origin_m, panel.fast_axis))
    Sclose = -float(dot3(panel.origin_m, panel.slow_axis))
    pixel = panel.pixel_size_m
    orgxy = (Fclose / pixel + 0.5, Sclose / pixel + 0.5)
    if setup is not None:
        return QuotedGeometry(setup.distance_m, setup.detsize_fs_m, setup.beam_xy_m,
                              setup.beam_spot_fs_m(panel, beam_direction), (Fclose, Sclose), orgxy,
                              setup.twotheta_rad)
    # a panel the beam does not meet: its distance along its normal, its near point
    distance = panel.distance_along_m(beam_direction) or panel.close_distance_m
    hit = panel.beam_intersection_fs_m(beam_direction) or (Fclose, Sclose)
    return QuotedGeometry(distance, panel.size_m, hit, hit, (Fclose, Sclose), orgxy, 0.0)
