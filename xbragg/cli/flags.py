"""The flag table: one entry per flag drives parsing, defaults, units, help and errors.

Flags are matched exactly (the reference matches by substring, so that for
instance ``-pix0_vector_mm`` is read there as ``-pix0_vector``); every synonym
the reference accepts is listed explicitly instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..constants import HC_EV_A
from ..errors import InputError
from ..io.hkl import FDUMP_NAME
from ..setup.options import SimulationOptions


@dataclass(frozen=True)
class Flag:
    """One command-line flag and its synonyms.

    ``nargs``: number of values; ``kind``: how each value is read ("float",
    "int", "str", "path", or "none" for switches); ``apply`` stores the parsed
    values on the options and the CLI settings.
    """

    names: tuple[str, ...]
    nargs: int
    kind: str
    help: str
    unit: str = ""
    default: str = ""
    apply: Callable | None = None
    minimum: float | None = None
    positive: bool = False
    group: str = "general"

    @property
    def name(self) -> str:
        """The primary spelling."""
        return self.names[0]


def _set(field: str, scale: float = 1.0, pivot: str | None = None, convention: str | None = None):
    def apply(opts: SimulationOptions, settings: dict, values):
        v = values[0] if len(values) == 1 else tuple(values)
        if isinstance(v, tuple):
            v = tuple(x * scale for x in v) if scale != 1.0 else v
        elif isinstance(v, float) and scale != 1.0:
            v = v * scale
        setattr(opts, field, v)
        if pivot is not None:
            opts.pivot_from_flags = pivot
        if convention is not None:
            opts.convention = convention
    return apply


def _setmany(fields: tuple[str, ...], scale: float = 1.0):
    def apply(opts, settings, values):
        for f in fields:
            setattr(opts, f, values[0] * scale)
    return apply


def _switch(field: str, value=True):
    def apply(opts, settings, values):
        setattr(opts, field, value)
    return apply


def _setting(key: str, value=None):
    def apply(opts, settings, values):
        settings[key] = value if value is not None else values[0]
    return apply


_CONVENTION_PIVOT = {"MOSFLM": "beam", "ADXV": "beam", "DENZO": "beam", "DIALS": "beam", "XDS": "sample"}


def _convention(name: str):
    # like the reference, a convention flag also sets the pivot while flags are read; that
    # matters when later vector flags switch to CUSTOM, which keeps the last pivot set
    def apply(opts, settings, values):
        opts.convention = name
        opts.pivot_from_flags = _CONVENTION_PIVOT[name]
    return apply


def _pivot(opts, settings, values):
    choice = values[0].lower()
    opts.pivot = choice
    opts.pivot_from_flags = choice


def _detector_abs(opts, settings, values):
    depth_um = values[0]
    if depth_um == 0.0 or math.isinf(depth_um):
        # as the reference's flag loop: no attenuation, and the thickness read so far is
        # dropped; a later -detector_thick still sets one (then nothing is captured)
        opts.detector_abs_m = math.inf
        opts.detector_thick_m = 0.0
    else:
        opts.detector_abs_m = depth_um * 1e-6


def _cell(opts, settings, values):
    opts.cell_A = tuple(values[:3])
    opts.cell_angles_deg = tuple(values[3:6]) if len(values) > 3 else None


def _trace_pixel(opts, settings, values):
    if len(values) == 1:
        raise InputError("expects SLOW FAST, or PANEL SLOW FAST for a detector of several panels",
                         flag="-trace_pixel")
    *panel, slow, fast = (int(v) for v in values)
    settings["trace_pixel"] = (slow, fast)
    settings["trace_panel"] = panel[0] if panel else 0


def _N(opts, settings, values):
    opts.Na = opts.Nb = opts.Nc = float(values[0])


def _energy(opts, settings, values):
    opts.wavelength_m = (HC_EV_A / values[0]) / 1.0e10


def _shape(name: str):
    def apply(opts, settings, values):
        opts.xtal_shape = name
    return apply


def _phisteps(opts, settings, values):
    opts.phisteps = values[0]


def _outputs(key: str, switch: str):
    """Store an output setting and turn ``switch`` ("nonoise"/"nopgm") off, as the reference does."""
    def apply(opts, settings, values):
        settings[key] = values[0]
        settings[switch] = False
    return apply


def _misset(opts, settings, values):
    opts.misset_deg = tuple(values)
    opts.misset_random = False


def _note(text: str):
    """Record a one-line note: what the flag does in the reference (for most, nothing in the image)."""
    def apply(opts, settings, values):
        settings.setdefault("notes", []).append(text.format(*values))
    return apply


def _printout_pixel(opts, settings, values):
    # the reference reads the fast index first; its substring matching also turns -printout on
    settings["printout"] = True
    settings["printout_pixel"] = (int(values[0]), int(values[1]))


def _stol(name: str):
    def apply(opts, settings, values):
        settings["stol"] = (name, values[0])
    return apply


#: integer seeds the reference negates (``seed = -atoi(value)``): at most this in magnitude
SEED_LIMIT = 2**31 - 1

F, I, S, P, V = "float", "int", "str", "path", "none"
mm = 1e-3

FLAGS: tuple[Flag, ...] = (
    # --- crystal ----------------------------------------------------------------------------
    Flag(("-cell",), -6, F, "unit cell a b c (A) and alpha beta gamma (deg); 1 to 6 values", "A, deg",
         apply=_cell, positive=True, group="crystal"),
    Flag(("-mat",), 1, P, "MOSFLM orientation (A) matrix file; needs -lambda or -energy", apply=_set("mat_path"),
         group="crystal"),
    Flag(("-misset",), 3, F, "crystal misset rotations about x, y, z; or 'random' (one value containing "
         "'rand'): a random orientation from -misset_seed, as the reference draws it", "deg",
         "0 0 0", apply=_misset, group="crystal"),
    Flag(("-N",), 1, I, "number of unit cells along a, b and c", "cells", "1", apply=_N, minimum=0,
         group="crystal"),
    Flag(("-Na",), 1, I, "unit cells along a", "cells", "1", apply=_set("Na"), minimum=0, group="crystal"),
    Flag(("-Nb",), 1, I, "unit cells along b", "cells", "1", apply=_set("Nb"), minimum=0, group="crystal"),
    Flag(("-Nc",), 1, I, "unit cells along c", "cells", "1", apply=_set("Nc"), minimum=0, group="crystal"),
    Flag(("-samplesize", "-sample_size", "-xtalsize", "-xtal_size"), 1, F,
         "crystal size along all three axes (overrides -N)", "mm", "from -N",
         apply=_setmany(("sample_x_m", "sample_y_m", "sample_z_m"), mm), minimum=0, group="crystal"),
    Flag(("-sample_thick", "-sample_x", "-xtal_thick", "-xtal_x"), 1, F, "crystal size along a", "mm",
         "from -Na", apply=_set("sample_x_m", mm), minimum=0, group="crystal"),
    Flag(("-sample_width", "-sample_y", "-width", "-xtal_width", "-xtal_y"), 1, F, "crystal size along b",
         "mm", "from -Nb", apply=_set("sample_y_m", mm), minimum=0, group="crystal"),
    Flag(("-sample_height", "-sample_z", "-height", "-xtal_height", "-xtal_z"), 1, F, "crystal size along c",
         "mm", "from -Nc", apply=_set("sample_z_m", mm), minimum=0, group="crystal"),
    Flag(("-square_xtal",), 0, V, "parallelepiped crystal: sincg lattice factor", default="on",
         apply=_shape("square"), group="crystal"),
    Flag(("-round_xtal",), 0, V, "ellipsoidal crystal: sinc3 lattice factor", apply=_shape("round"),
         group="crystal"),
    Flag(("-gauss_xtal",), 0, V, "Gaussian spots, no inter-Bragg maxima", apply=_shape("gauss"), group="crystal"),
    Flag(("-tophat_spots", "-binary_spots"), 0, V, "flat-top spots clipped at the FWHM",
         apply=_shape("tophat"), group="crystal"),
    Flag(("-fudge",), 1, F, "scale of the spot-shape radius for the round, gauss and tophat shapes", "", "1",
         apply=_set("fudge"), group="crystal"),
    Flag(("-mosaic", "-mosaici", "-mosaic_spr", "-mosaic_spread"), 1, F, "isotropic mosaic spread "
         "(negative: none)", "deg", "0", apply=_set("mosaic_spread_deg"), group="crystal"),
    Flag(("-mosaic_dom", "-mosaic_domains"), 1, I, "number of mosaic domains (0 or less: 10 with a spread, "
         "else 1; 1 without a spread)", "", "auto", apply=_set("mosaic_domains"), group="crystal"),
    Flag(("-mosaic_seed",), 1, "seed", "random seed of the mosaic domains (the generator starts from "
         "-value, as the reference)", "", "12345678", apply=_set("mosaic_seed"), group="crystal"),
    Flag(("-misset_seed",), 1, "seed", "random seed of -misset random", "",
         "the clock (as -seed without -seed)", apply=_set("misset_seed"), group="crystal"),
    # --- structure factors ---------------------------------------------------------------
    Flag(("-hkl",), 1, P, "text file of h k l F; writes the cache Fdump.bin in the working directory, "
         "which a later run without -hkl reads (and says so, with its index ranges), also when -default_F "
         "is given: two runs in one directory share it", apply=_set("hkl_path"),
         group="structure factors"),
    Flag(("-default_F",), 1, F, "structure factor of every reflection not in -hkl", "electrons", "0",
         apply=_set("default_F"), group="structure factors"),
    Flag(("-interpolate",), 0, V, "tricubic interpolation of structure factors", default="auto: on if any N <= 2",
         apply=_switch("interpolate", True), group="structure factors"),
    Flag(("-nointerpolate",), 0, V, "nearest-node structure factors", apply=_switch("interpolate", False),
         group="structure factors"),
    Flag(("-dump",), 1, P, "structure-factor cache: read when -hkl is not given, written when it is", "",
         FDUMP_NAME, apply=_setting("hkl_cache"), group="structure factors"),
    # --- beam ---------------------------------------------------------------------------
    Flag(("-lambda", "-wave", "-wavelength"), 1, F, "X-ray wavelength", "A", "1", apply=_set("wavelength_m", 1e-10),
         positive=True, group="beam"),
    Flag(("-energy",), 1, F, "X-ray photon energy (alternative to -lambda)", "eV", "12398.42", apply=_energy,
         positive=True, group="beam"),
    Flag(("-fluence",), 1, F, "incident fluence", "photons/m^2", "1.25932e+29", apply=_set("fluence"),
         minimum=0, group="beam"),
    Flag(("-flux",), 1, F, "incident flux (with -exposure and -beamsize gives the fluence)", "photons/s", "0",
         apply=_set("flux"), minimum=0, group="beam"),
    Flag(("-exposure",), 1, F, "exposure time", "s", "1", apply=_set("exposure_s"), minimum=0, group="beam"),
    Flag(("-beamsize",), 1, F, "beam size (square); clips the sample", "mm", "0.1", apply=_set("beamsize_m", mm),
         minimum=0, group="beam"),
    Flag(("-dispersion",), 1, F, "spectral dispersion delta-lambda/lambda", "%", "0",
         apply=_set("dispersion", 0.01), minimum=0, group="beam"),
    Flag(("-dispsteps",), 1, I, "number of wavelengths", "", "auto", apply=_set("dispsteps"), group="beam"),
    Flag(("-divergence",), 1, F, "horizontal and vertical divergence range", "mrad", "0",
         apply=_setmany(("hdivrange_rad", "vdivrange_rad"), 1e-3), minimum=0, group="beam"),
    Flag(("-hdivrange",), 1, F, "horizontal divergence range", "mrad", "0", apply=_set("hdivrange_rad", 1e-3),
         minimum=0, group="beam"),
    Flag(("-vdivrange",), 1, F, "vertical divergence range", "mrad", "0", apply=_set("vdivrange_rad", 1e-3),
         minimum=0, group="beam"),
    Flag(("-hdivstep",), 1, F, "horizontal divergence step", "mrad", "auto", apply=_set("hdivstep_rad", 1e-3),
         group="beam"),
    Flag(("-vdivstep",), 1, F, "vertical divergence step", "mrad", "auto", apply=_set("vdivstep_rad", 1e-3),
         group="beam"),
    Flag(("-hdivsteps",), 1, I, "horizontal divergence points", "", "auto", apply=_set("hdivsteps"), group="beam"),
    Flag(("-vdivsteps",), 1, I, "vertical divergence points", "", "auto", apply=_set("vdivsteps"), group="beam"),
    Flag(("-divsteps",), 1, I, "divergence points in both directions", "", "auto",
         apply=_setmany(("hdivsteps", "vdivsteps")), group="beam"),
    Flag(("-round_div",), 0, V, "cut the divergence grid to an ellipse", default="on",
         apply=_switch("round_div", True), group="beam"),
    Flag(("-square_div",), 0, V, "keep the full divergence grid", apply=_switch("round_div", False), group="beam"),
    Flag(("-sourcefile",), 1, P, "file of sources: X Y Z weight lambda(m) per line", apply=_set("sourcefile_path"),
         group="beam"),
    Flag(("-polar",), 1, F, "Kahn polarization factor", "", "0", apply=_set("kahn_polarization"), group="beam"),
    Flag(("-nopolar",), 0, V, "no polarization correction", apply=_switch("nopolar"), group="beam"),
    Flag(("-water",), 1, F, "thickness of water around the crystal (background)", "um", "0",
         apply=_set("water_m", 1e-6), minimum=0, group="beam"),
    Flag(("-beam_vector",), 3, F, "direction of the X-ray beam (selects CUSTOM)", "", "convention",
         apply=_set("beam_vector", convention="CUSTOM"), group="geometry"),
    Flag(("-polar_vector",), 3, F, "E-vector of the beam polarization (selects CUSTOM)", "", "convention",
         apply=_set("polar_vector", convention="CUSTOM"), group="geometry"),
    # --- spindle ---------------------------------------------------------------------------
    Flag(("-phi",), 1, F, "starting spindle angle", "deg", "0", apply=_set("phi_deg"), group="spindle"),
    Flag(("-osc",), 1, F, "spindle oscillation range", "deg", "auto", apply=_set("osc_deg"), group="spindle"),
    Flag(("-phistep",), 1, F, "spindle step", "deg", "auto", apply=_set("phistep_deg"), group="spindle"),
    Flag(("-phisteps",), 1, I, "number of spindle steps", "", "auto", apply=_phisteps, minimum=0, group="spindle"),
    Flag(("-spindle_axis",), 3, F, "spindle rotation axis (selects CUSTOM)", "", "convention",
         apply=_set("spindle_axis", convention="CUSTOM"), group="spindle"),
    # --- detector -----------------------------------------------------------------------------
    Flag(("-distance",), 1, F, "sample to detector distance along the beam (pivot: beam)", "mm", "100",
         apply=_set("distance_m", mm, pivot="beam"), positive=True, group="detector"),
    Flag(("-close_distance",), 1, F, "sample to detector-plane distance (pivot: sample)", "mm", "from -distance",
         apply=_set("close_distance_m", mm, pivot="sample"), positive=True, group="detector"),
    Flag(("-Xbeam",), 1, F, "direct-beam position along X of the convention (pivot: beam)", "mm", "centre",
         apply=_set("Xbeam_m", mm, pivot="beam"), group="detector"),
    Flag(("-Ybeam",), 1, F, "direct-beam position along Y of the convention (pivot: beam)", "mm", "centre",
         apply=_set("Ybeam_m", mm, pivot="beam"), group="detector"),
    Flag(("-Xclose",), 1, F, "point of closest approach, X (pivot: sample)", "mm", "centre",
         apply=_set("Xclose_m", mm, pivot="sample"), group="detector"),
    Flag(("-Yclose",), 1, F, "point of closest approach, Y (pivot: sample)", "mm", "centre",
         apply=_set("Yclose_m", mm, pivot="sample"), group="detector"),
    Flag(("-ORGX",), 1, F, "XDS origin, fast (pivot: sample)", "pixels", "centre",
         apply=_set("ORGX", pivot="sample"), group="detector"),
    Flag(("-ORGY",), 1, F, "XDS origin, slow (pivot: sample)", "pixels", "centre",
         apply=_set("ORGY", pivot="sample"), group="detector"),
    Flag(("-pivot",), 1, S, "rotate the detector about the 'beam' spot or the 'sample'", "", "convention",
         apply=_pivot, group="detector"),
    Flag(("-mosflm",), 0, V, "MOSFLM convention (default)", apply=_convention("MOSFLM"), group="detector"),
    Flag(("-xds",), 0, V, "XDS convention", apply=_convention("XDS"), group="detector"),
    Flag(("-adxv",), 0, V, "ADXV convention", apply=_convention("ADXV"), group="detector"),
    Flag(("-denzo",), 0, V, "DENZO convention", apply=_convention("DENZO"), group="detector"),
    Flag(("-dials",), 0, V, "DIALS convention", apply=_convention("DIALS"), group="detector"),
    Flag(("-fdet_vector",), 3, F, "fast-axis direction (selects CUSTOM)", "", "convention",
         apply=_set("fdet_vector", convention="CUSTOM"), group="detector"),
    Flag(("-sdet_vector",), 3, F, "slow-axis direction (selects CUSTOM)", "", "convention",
         apply=_set("sdet_vector", convention="CUSTOM"), group="detector"),
    Flag(("-odet_vector",), 3, F, "detector normal (selects CUSTOM)", "", "convention",
         apply=_set("odet_vector", convention="CUSTOM"), group="detector"),
    Flag(("-twotheta_axis",), 3, F, "two-theta rotation axis (selects CUSTOM)", "", "convention",
         apply=_set("twotheta_axis", convention="CUSTOM"), group="detector"),
    Flag(("-pix0_vector",), 3, F, "sample to first pixel (selects CUSTOM; the pivot re-derives it, "
         "as in the reference)", "m", "from beam centre", apply=_set("pix0_vector_m", convention="CUSTOM"),
         group="detector"),
    Flag(("-pix0_vector_mm",), 3, F, "as -pix0_vector, in mm", "mm", "from beam centre",
         apply=_set("pix0_vector_m", mm, convention="CUSTOM"), group="detector"),
    Flag(("-detector_rotx",), 1, F, "detector rotation about x", "deg", "0", apply=_set("detector_rotx_deg"),
         group="detector"),
    Flag(("-detector_roty",), 1, F, "detector rotation about y", "deg", "0", apply=_set("detector_roty_deg"),
         group="detector"),
    Flag(("-detector_rotz",), 1, F, "detector rotation about z", "deg", "0", apply=_set("detector_rotz_deg"),
         group="detector"),
    Flag(("-twotheta",), 1, F, "detector two-theta swing about the two-theta axis (pivot: sample)", "deg", "0",
         apply=_set("twotheta_deg", pivot="sample"), group="detector"),
    Flag(("-pixel",), 1, F, "pixel size", "mm", "0.1", apply=_set("pixel_size_m", mm), positive=True,
         group="detector"),
    Flag(("-detpixels",), 1, I, "pixels along fast and slow", "pixels", "1024",
         apply=_setmany(("fpixels", "spixels")), positive=True, group="detector"),
    Flag(("-detpixels_f", "-detpixels_x"), 1, I, "pixels along fast", "pixels", "1024", apply=_set("fpixels"),
         positive=True, group="detector"),
    Flag(("-detpixels_s", "-detpixels_y"), 1, I, "pixels along slow", "pixels", "1024", apply=_set("spixels"),
         positive=True, group="detector"),
    Flag(("-detsize",), 1, F, "detector size, fast and slow", "mm", "102.4",
         apply=_setmany(("detsize_f_m", "detsize_s_m"), mm), positive=True, group="detector"),
    Flag(("-detsize_f", "-detsize_x"), 1, F, "detector size along fast", "mm", "102.4",
         apply=_set("detsize_f_m", mm), positive=True, group="detector"),
    Flag(("-detsize_s", "-detsize_y"), 1, F, "detector size along slow", "mm", "102.4",
         apply=_set("detsize_s_m", mm), positive=True, group="detector"),
    Flag(("-curved_det",), 0, V, "every pixel at the same distance from the sample",
         apply=_switch("curved_det"), group="detector"),
    Flag(("-point_pixel",), 0, V, "inverse-square solid angle, no obliquity", apply=_switch("point_pixel"),
         group="detector"),
    Flag(("-detector_abs", "-detector_absorb", "-detector_absorption"), 1, "float_or_inf",
         "sensor attenuation depth ('inf' or 0: none, and the thickness given before it is dropped)", "um",
         "inf", apply=_detector_abs, group="detector"),
    Flag(("-detector_thick",), 1, F, "sensor thickness", "um", "0", apply=_set("detector_thick_m", 1e-6),
         minimum=0, group="detector"),
    Flag(("-detector_thicksteps", "-thicksteps"), 1, I, "sensor layers", "", "auto",
         apply=_set("detector_thicksteps"), group="detector"),
    Flag(("-oversample",), 1, I, "sub-pixels per pixel edge", "", "auto", apply=_set("oversample"),
         group="detector"),
    Flag(("-oversample_thick",), 0, V, "absorption per sub-pixel (reference accumulation)",
         apply=_switch("oversample_thick"), group="detector"),
    Flag(("-oversample_polar",), 0, V, "polarization per sub-pixel (reference accumulation)",
         apply=_switch("oversample_polar"), group="detector"),
    Flag(("-oversample_omega",), 0, V, "solid angle per sub-pixel (reference accumulation)",
         apply=_switch("oversample_omega"), group="detector"),
    Flag(("-roi",), 4, I, "render only xmin xmax ymin ymax (inclusive)", "pixels", "whole detector",
         apply=_set("roi"), minimum=0, group="detector"),
    Flag(("-mask",), 1, P, "SMV image: pixels that are 0 are not rendered; header sets the geometry",
         apply=_set("mask_path"), group="detector"),
    Flag(("-img",), 1, P, "SMV image whose header sets the geometry", apply=_set("img_path"), group="detector"),
    Flag(("-expt",), 1, P, "DIALS experiment list (.expt): beam, every detector panel, goniometer, scan and "
         "crystal orientation and cell; sampling, size, mosaicity and F flags still apply",
         apply=_set("expt_path"), group="detector"),
    Flag(("-expt_index",), 1, I, "which experiment of the -expt list", "", "0", apply=_set("expt_index"),
         minimum=0, group="detector"),
    Flag(("-dmin",), 1, F, "skip scattering beyond this resolution", "A", "0", apply=_set("dmin_m", 1e-10),
         minimum=0, group="detector"),
    # --- output files and console lines -------------------------------------------------------
    Flag(("-floatfile", "-floatimage"), 1, P, "raw float32 image", "", "floatimage.bin",
         apply=_setting("floatfile"), group="output"),
    Flag(("-nonoise",), 0, V, "do not write the noise image", apply=_setting("nonoise", True), group="output"),
    Flag(("-nopgm",), 0, V, "do not write the PGM image", apply=_setting("nopgm", True), group="output"),
    Flag(("-intfile", "-intimage"), 1, P, "SMV integer image: pixel*scale + adc, rounded (written on every "
         "run, as the reference: two runs in one directory write the same intimage.img unless given "
         "their own -intfile)", "", "intimage.img", apply=_setting("intfile"), group="output"),
    Flag(("-noisefile", "-noiseimage"), 1, P, "SMV image with Poisson noise (written unless -nonoise; "
         "turns -nonoise off)", "", "noiseimage.img", apply=_outputs("noisefile", "nonoise"), group="output"),
    Flag(("-pgmfile", "-pgmimage"), 1, P, "8-bit PGM image (written unless -nopgm; turns -nopgm off)", "",
         "image.pgm", apply=_outputs("pgmfile", "nopgm"), group="output"),
    Flag(("-nexus",), 1, P, "NeXus NXmx file (HDF5) of the float image and the geometry, for DIALS (needs "
         "h5py; docs/formats.md)", "", "none", apply=_setting("nexusfile"), group="output"),
    Flag(("-nexus_counts",), 0, V, "-nexus holds the noise image (int32 counts, -adc included, as "
         "-noisefile) instead of the float image", default="off: the float image",
         apply=_setting("nexus_counts", True), group="output"),
    Flag(("--write-expt",), 1, P, "the simulated experiment as a DIALS experiment list (.expt), pointing at the "
         "-nexus, -cbf or -intfile image", "", "none", apply=_setting("exptfile"), group="output"),
    Flag(("-cbf",), 1, P, "miniCBF file of the integer image (the -intfile pixels) with a Pilatus-style "
         "header, for XDS; only for one flat panel normal to the beam with the spindle along the fast axis "
         "(MOSFLM, XDS), else use -nexus (needs fabio)", "", "none", apply=_setting("cbffile"), group="output"),
    Flag(("--smv-adc-offset",), 0, V, "state -adc as ADC_OFFSET in the -intfile and -noisefile headers, so "
         "that readers need not guess it", default="off: the reference's bytes",
         apply=_setting("smv_adc_offset", True), group="output"),
    Flag(("-scale",), 1, F, "scale of the integer image (0 or less: automatic)", "", "55000/max_I",
         apply=_setting("scale"), group="output"),
    Flag(("-pgmscale",), 1, F, "scale of the PGM image (0 or less: automatic; turns -nopgm off)", "",
         "250/(5*rmsd)", apply=_outputs("pgmscale", "nopgm"), group="output"),
    Flag(("-adc",), 1, F, "offset added to integer and noise pixels", "ADU", "40", apply=_setting("adc"),
         group="output"),
    Flag(("-seed",), 1, "seed", "random seed of the noise image (the generator starts from -value, as the "
         "reference)", "", "the clock", apply=_setting("seed"), group="output"),
    Flag(("-trace_pixel",), -3, I, "print the scaling chain of pixel SLOW FAST (PANEL SLOW FAST for a detector of "
         "several panels) as TRACE_PY lines", "pixels",
         "none", apply=_trace_pixel, minimum=0, group="output"),
    Flag(("-printout",), 0, V, "print every rendered pixel's values in the reference's layout (stol, "
         "position, hkl, F_cell, F_latt, I, polar, omega, capture fraction, pixel, cell)",
         apply=_setting("printout", True), group="output"),
    Flag(("-printout_pixel",), 2, I, "print only pixel (fast, slow) with -printout (turns it on, as the "
         "reference); a negative fast index prints every pixel", "pixels", "every pixel",
         apply=_printout_pixel, group="output"),
    # --- how the run is computed ------------------------------------------------------------
    Flag(("-noprogress",), 0, V, "no progress bar", apply=_setting("progress", False), group="run control"),
    Flag(("-progress",), 0, V, "progress bar on a terminal", default="on", apply=_setting("progress", True),
         group="run control"),
    Flag(("--backend",), 1, S, "array library: numpy, torch, cupy or array_api_strict", "", "numpy",
         apply=_setting("backend"), group="run control"),
    Flag(("--device",), 1, S, "device of the backend (cpu, cuda, cuda:1)", "", "cpu", apply=_setting("device"),
         group="run control"),
    Flag(("--dtype",), 1, S, "working precision: float64 or float32", "", "float64", apply=_setting("dtype"),
         group="run control"),
    Flag(("--compile",), 1, S, "compile the kernel (PyTorch): on, off, or auto (on for large renders)", "",
         "auto", apply=_setting("compile"), group="run control"),
    Flag(("--memory-budget",), 1, F, "working memory of one tile", "MiB", "128",
         apply=_setting("memory_budget_mib"), positive=True, group="run control"),
    Flag(("--memory-limit",), 1, F, "refuse a run estimated to need more memory (structure factors, image, "
         "output files)", "GiB", "8, or 80% of the physical memory if less",
         apply=_setting("memory_limit_gib"), positive=True, group="run control"),
    # --- reference parity ------------------------------------------------------------------
    Flag(("--c-parity",), 0, V, "reproduce every known behaviour of nanoBragg.c at once: phi carry-over, "
         "-pivot ignored with a named convention, zero capture fraction with -oversample_thick and no "
         "sensor, its reading of -twotheta_axis, -misset_seed and a final -curved_det, its sincg and sinc3 "
         "formulas (docs/reference-behaviour.md)",
         default="off: physically correct, a note names each difference", apply=_switch("c_parity"),
         group="reference parity"),
    Flag(("--phi-carryover",), 0, V, "reproduce only the reference's phi carry-over: a step at exactly "
         "phi = 0 reuses the last rotation computed before it", default="off, physically correct",
         apply=_switch("phi_carryover"), group="reference parity"),
    # --- accepted from nanoBragg scripts; nothing in the Bragg image ---------------------------
    Flag(("-stol",), 1, P, "file of sin(theta)/lambda (1/A) and F of an amorphous background: read and "
         "checked; the reference draws nothing from it", apply=_stol("-stol"), group="no effect on the image"),
    Flag(("-4stol",), 1, P, "as -stol, first column 4 sin(theta)/lambda (1/A)", apply=_stol("-4stol"),
         group="no effect on the image"),
    Flag(("-Q",), 1, P, "as -stol, first column Q = 4 pi sin(theta)/lambda (1/A)", apply=_stol("-Q"),
         group="no effect on the image"),
    Flag(("-stolout",), 1, P, "output file name the reference stores but never writes",
         apply=_note("-stolout {0}: accepted; the reference never writes this file, nor does xbragg"),
         group="no effect on the image"),
    Flag(("-coherent",), 0, V, "a switch the reference sets but never uses",
         apply=_note("-coherent: accepted; the reference sets a switch it never uses (no effect on the image)"),
         group="no effect on the image"),
    Flag(("-density", "-sample_den", "-sample_density"), 1, F, "sample density, which the reference "
         "replaces by 1.2 before use", "g/cm^3", "1.2",
         apply=_note("-density {0:g}: accepted; the reference replaces the density by 1.2 g/cm^3 to print an "
                     "approximate MW and uses it nowhere else (no effect on the image)"),
         group="no effect on the image"),
    Flag(("-MW", "-molec"), 1, F, "molecular weight, which the reference replaces by an estimate from the "
         "crystal volume before use", "g/mol", "estimate",
         apply=_note("-MW {0:g}: accepted; the reference replaces the molecular weight by an estimate from "
                     "the crystal volume and uses it nowhere else (no effect on the image)"),
         group="no effect on the image"),
)


def flag_index() -> dict[str, Flag]:
    """Every spelling to its :class:`Flag`."""
    table: dict[str, Flag] = {}
    for flag in FLAGS:
        for name in flag.names:
            if name in table:
                raise RuntimeError(f"flag {name} defined twice")
            table[name] = flag
    return table
