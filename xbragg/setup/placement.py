"""Where the detector, beam, spindle and crystal are: from the nanoBragg flags, or from a DIALS experiment list.

Both front-ends give a :class:`Placement`; :func:`~xbragg.setup.experiment.build_experiment`
then applies the sampling, structure-factor and scaling flags to it the same way whichever
front-end placed things.  With ``-expt`` the file gives the beam (direction, wavelength,
polarization), every detector panel, the goniometer, the scan of its first image and the
crystal's orientation and cell; the command line adds what the file does not hold (cell
counts, spot shape, mosaicity, structure factors, fluence, sampling) and may override the
wavelength, the polarization and the scan.  A flag that would place the detector or the
crystal differently is an error, not silently ignored.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..constants import RTD
from ..errors import InputError
from ..models import Detector, Panel
from .detector import DetectorSetup, NanoBraggDetector, build_detector
from .options import SimulationOptions
from .sampling import thickness_sampling

if TYPE_CHECKING:      # the reader is imported by the runs that read an experiment list
    from ..io.expt import ExptCrystal


@dataclass(frozen=True)
class Placement:
    """The placed geometry: detector panels, beam direction and polarization axis, spindle axis.

    ``setup``: the nanoBragg recipe (``None`` from a file); ``nanobragg``: the flags'
    :class:`NanoBraggDetector` (for the reference-behaviour notes), ``None`` from a file;
    ``crystal_axes_A``: the crystal's lab-frame axes at spindle angle zero (rows a, b, c, A)
    when the file gives them, else ``None`` (the flags' -cell or -mat build the crystal);
    ``options``: the options with the file's values as defaults; ``messages``: warnings
    about what the file holds and xbragg leaves out.
    """

    detector: Detector
    setup: DetectorSetup | None
    beam_direction: np.ndarray
    polarization_axis: np.ndarray
    rotation_axis: np.ndarray
    options: SimulationOptions
    nanobragg: NanoBraggDetector | None = None
    crystal_axes_A: np.ndarray | None = None
    messages: tuple[str, ...] = ()

    def beam_distance_m(self) -> float:
        """The shortest sample-to-panel distance along the beam direction (the oversampling rule's
        distance; a panel the beam does not meet counts by its distance along its normal)."""
        if self.setup is not None:
            return self.setup.distance_m
        return min(abs(p.distance_along_m(self.beam_direction) or p.close_distance_m) for p in self.detector)


def place_from_flags(opts: SimulationOptions) -> Placement:
    """The nanoBragg front-end: conventions, pivots and rotations (:func:`build_detector`)."""
    built = build_detector(opts)
    return Placement(detector=Detector((built.panel,)), setup=built.setup, beam_direction=built.beam_direction,
                     polarization_axis=built.polarization_axis, rotation_axis=built.rotation_axis,
                     options=opts, nanobragg=built)


#: option fields that place the detector, beam or crystal, and the flag that sets each
_PLACING = {
    "cell_A": "-cell", "cell_angles_deg": "-cell", "mat_path": "-mat", "misset_deg": "-misset",
    "misset_random": "-misset random", "convention": "-mosflm/-xds/-adxv/-denzo/-dials", "pivot": "-pivot",
    "distance_m": "-distance", "close_distance_m": "-close_distance", "Xbeam_m": "-Xbeam", "Ybeam_m": "-Ybeam",
    "Xclose_m": "-Xclose", "Yclose_m": "-Yclose", "ORGX": "-ORGX", "ORGY": "-ORGY",
    "fdet_vector": "-fdet_vector", "sdet_vector": "-sdet_vector", "odet_vector": "-odet_vector",
    "beam_vector": "-beam_vector", "spindle_axis": "-spindle_axis", "twotheta_axis": "-twotheta_axis",
    "pix0_vector_m": "-pix0_vector", "detector_rotx_deg": "-detector_rotx", "detector_roty_deg": "-detector_roty",
    "detector_rotz_deg": "-detector_rotz", "twotheta_deg": "-twotheta", "pixel_size_m": "-pixel",
    "fpixels": "-detpixels", "spixels": "-detpixels", "detsize_f_m": "-detsize", "detsize_s_m": "-detsize",
    "curved_det": "-curved_det", "img_path": "-img",
}


def _given(opts: SimulationOptions, explicit: set[str] | None) -> set[str]:
    """Option fields the user set: ``explicit`` when known, else those that differ from the defaults."""
    if explicit is not None:
        return set(explicit)
    default = SimulationOptions()
    return {name for name in SimulationOptions.field_names()
            if name != "pivot_from_flags" and getattr(opts, name) != getattr(default, name)}


def place_from_expt(opts: SimulationOptions, explicit: set[str] | None = None) -> Placement:
    """The DIALS front-end: experiment ``opts.expt_index`` of ``opts.expt_path``.

    The file's wavelength, polarization and first image's oscillation become the
    defaults of -lambda, -polar and -phi/-osc, and a non-zero Kabsch2010 mosaicity that of
    -mosaic, with a note saying so (flags given still win).  Every panel's
    sensor is sampled by the -detector_thicksteps rule from the file's thickness and
    attenuation (a -detector_thick or -detector_abs flag replaces them).
    """
    given = _given(opts, explicit)
    clashes = sorted({flag for name, flag in _PLACING.items() if name in given})
    if clashes:
        raise InputError(f"{', '.join(clashes)}: the detector, beam and crystal come from the experiment list; "
                         "give one or the other", flag="-expt", path=opts.expt_path)
    from ..io.expt import read_experiment          # only runs given an experiment list pay its import
    entry = read_experiment(opts.expt_path, opts.expt_index)
    if entry.crystal is None:
        raise InputError(f"experiment {opts.expt_index} has no crystal", flag="-expt", path=opts.expt_path)
    beam = entry.beam
    defaults = {}
    if "wavelength_m" not in given:
        defaults["wavelength_m"] = beam.wavelength_m
    if "kahn_polarization" not in given:
        defaults["kahn_polarization"] = beam.kahn_factor
    if entry.scan is not None:
        if "phi_deg" not in given:
            defaults["phi_deg"] = entry.scan.phi0_rad * RTD
        if "osc_deg" not in given and entry.scan.osc_rad != 0.0:
            # a still (width 0) keeps the unset -osc: one step, as nanoBragg without -osc
            defaults["osc_deg"] = entry.scan.osc_rad * RTD
    notes = [f"WARNING: {opts.expt_path}: {w}" for w in entry.warnings]
    mosaic = _mosaic_from_file(entry.crystal, given, opts.expt_path)
    if mosaic is not None:
        defaults["mosaic_spread_deg"], note = mosaic
        notes.append(note)
    notes += _unused_mosaic_model(entry.crystal, opts.expt_path)
    placed_opts = opts.updated(**defaults)
    panels = tuple(_sampled_panel(p, placed_opts, given) for p in entry.detector)
    # a still has no goniometer: any axis, it never turns
    axis = entry.goniometer.rotation_axis if entry.goniometer is not None else np.array([1.0, 0.0, 0.0])
    return Placement(detector=Detector(panels), setup=None, beam_direction=beam.direction,
                     polarization_axis=beam.polarization_axis, rotation_axis=axis, options=placed_opts,
                     crystal_axes_A=entry.crystal_real_axes_m() / 1e-10,
                     messages=tuple(notes))


def _sampled_panel(panel: Panel, opts: SimulationOptions, given: set[str]) -> Panel:
    """``panel`` with its sensor sampled by the flags' rules and -point_pixel applied."""
    sensor = panel.sensor
    thick = opts.detector_thick_m if "detector_thick_m" in given else sensor.thick_m
    if "detector_abs_m" in given:
        attenuation_depth = opts.detector_abs_m
    else:
        attenuation_depth = 1.0 / sensor.mu_per_m if sensor.mu_per_m > 0 and math.isfinite(sensor.mu_per_m) else None
    sampled = thickness_sampling(opts.updated(detector_thick_m=thick, detector_abs_m=attenuation_depth))
    return replace(panel, sensor=replace(sampled, material=sensor.material), point_pixel=opts.point_pixel)


def _mosaic_from_file(crystal: ExptCrystal, given: set[str], path: str) -> tuple[float, str] | None:
    """(-mosaic spread in degrees, the line that says so) from the file's Kabsch2010 mosaicity,
    when the file gives a non-zero one and -mosaic is not given; else ``None``."""
    spread = crystal.mosaicity_deg
    if spread is None or spread == 0.0 or "mosaic_spread_deg" in given:
        return None
    # dials' mosaicity is the standard deviation of a Gaussian spread of orientations;
    # nanoBragg draws rotation angles up to -mosaic (mosaic_rotation_umat): same width scale only
    return spread, (f"NOTE: {path}: -mosaic {spread:g} from the crystal's mosaicity (Kabsch2010, a Gaussian "
                    "standard deviation in degrees) taken as nanoBragg's mosaic spread (rotations drawn up to "
                    "that angle): the spots have about that width, not the Gaussian profile; give -mosaic to "
                    "choose another")


def _unused_mosaic_model(crystal: ExptCrystal, path: str) -> list[str]:
    """A warning when the file has a Sauter2014 mosaic model, which xbragg does not translate."""
    if crystal.half_mosaicity_deg is None and crystal.domain_size_A is None:
        return []
    return [f"WARNING: {path}: the crystal's ML_half_mosaicity_deg and ML_domain_size_ang (Sauter2014) are not "
            "used; give -mosaic and -N for the mosaic spread and the domain size"]
