"""One immutable description of a simulation, resolved once on the host.

:func:`build_experiment` turns :class:`SimulationOptions` into an
:class:`Experiment`: detector, crystal, sources, phi and mosaic schedule,
structure factors and scale, with every reference default applied.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from ..constants import AVOGADRO, DEFAULT_FLUENCE, R_E_SQR_M2, RTD, WATER_F, WATER_MW
from ..errors import InputError, OutputError
from ..io.cformat import format_f
from ..io.hkl import HKLTable, read_fdump, read_hkl, write_fdump
from ..io.smv import SMVImage, header_float, read_smv
from ..io.sources import read_source_file
from ..memory import check_memory, image_bytes, table_bytes
from ..models import Beam, Crystal, Detector, Goniometer, Panel, Scan
from .crystal import build_crystal, crystal_from_real_axes
from .detector import DetectorSetup
from .placement import place_from_expt, place_from_flags
from .geometry import rotated_cells
from .options import SimulationOptions
from .random_numbers import Ran1, ShuffleTable, clock_seed, mosaic_umats, random_misset
from .reference_behaviour import detect_behaviours
from .sampling import build_sources, phi_schedule


#: largest sub-pixel grid per pixel edge (-oversample, or its auto-selected value)
MAX_OVERSAMPLE = 10_000


@dataclass(frozen=True)
class Experiment:
    """What is simulated and how it is sampled, in SI units, with no flags left to interpret.

    The experiment models (:mod:`xbragg.models`): ``beam``, ``detector`` (panels),
    ``goniometer``, ``scan`` and ``crystal``; ``detector_setup``: how the nanoBragg flags
    placed the panel (``None`` for a detector given otherwise).  The rest says how the
    image is sampled and which of the reference's behaviours are reproduced.
    """

    beam: Beam
    detector: Detector
    goniometer: Goniometer
    scan: Scan
    crystal: Crystal
    detector_setup: DetectorSetup | None
    interpolate: bool
    interpolate_auto: bool
    oversample: int
    oversample_recommended: int
    oversample_thick: bool
    oversample_polar: bool
    oversample_omega: bool
    water_m: float
    dmin_m: float
    roi: tuple[int, int, int, int]      # xmin xmax ymin ymax, inclusive, on every panel
    #: pixels to render, True = render: None (all), one (slow, fast) bool array for a one-panel
    #: detector, or a tuple with one such array (or None) per panel
    mask: np.ndarray | tuple | None
    phi_carryover: bool
    messages: tuple[str, ...] = field(default=())
    #: one line each: where this image differs from what the reference would draw (setup.reference_behaviour)
    notes: tuple[str, ...] = field(default=())
    #: evaluate the sensor capture fraction even without a sensor thickness, as the reference does
    #: with -oversample_thick (exp(0) - exp(0) = 0: an all-zero image); set by c_parity
    capture_without_sensor: bool = False
    #: evaluate sincg and sinc3 in the reference's direct forms, which cancel near their zeros
    #: and at whole h (docs/reference-behaviour.md); set by c_parity
    reference_forms: bool = False
    #: the reference's shared ran1 shuffle table after set-up (see random_numbers.ShuffleTable)
    random_table: tuple | None = field(default=None, repr=False)

    @cached_property
    def rotated_cells(self) -> np.ndarray:
        """Cell vectors of every (phi step, mosaic domain), (phisteps, domains, 3, 3): rows a, b, c (m)."""
        cr, scan = self.crystal, self.scan
        return rotated_cells(np, tuple(cr.real_axes_m), phi0_rad=scan.phi0_rad, phistep_rad=scan.phistep_rad,
                             phisteps=scan.phisteps, spindle=self.goniometer.rotation_axis,
                             umats=cr.mosaic_umats if cr.mosaic_spread_rad > 0.0 else None)

    @property
    def carried_cells(self) -> np.ndarray:
        """Cells as the reference's phi carry-over uses them, (phisteps, domains, 3, 3).

        Step i takes the rotation of ``scan.carried_steps[i]``.  The very first pass
        through the phi loop (first processed pixel) uses :attr:`first_pass_cells`
        instead; the kernel selects it.
        """
        return self.rotated_cells[self.scan.carried_steps]

    @property
    def first_pass_cells(self) -> np.ndarray:
        """:attr:`carried_cells` of the run's first pass (``scan.first_pass_steps``)."""
        return self.rotated_cells[self.scan.first_pass_steps]

    @property
    def panel(self) -> Panel:
        """The first (for the nanoBragg front-end, the only) panel."""
        return self.detector[0]

    @property
    def steps(self) -> int:
        """Normalisation count: sources x mosaic domains x phi steps x oversample^2."""
        return (self.beam.sources.count * self.crystal.domains * self.scan.phisteps
                * self.oversample * self.oversample)

    @property
    def background_I(self) -> float:
        """Water background of this experiment (see :func:`water_background`)."""
        return water_background(self.water_m, self.beam.fluence)

    def mask_of(self, panel: int = 0) -> np.ndarray | None:
        """The (slow, fast) bool mask of a panel (True = render), or ``None`` when every pixel renders."""
        if isinstance(self.mask, tuple):
            return self.mask[panel]
        return self.mask if panel == 0 else None

    def roi_bounds_of(self, panel: int = 0) -> tuple[int, int, int, int]:
        """Inclusive pixel bounds (x0, x1, y0, y1) of the rendered region of a panel: the ROI clipped to it.

        Empty (x1 < x0 or y1 < y0) when the ROI lies outside the panel.
        """
        xmin, xmax, ymin, ymax = self.roi
        p = self.detector[panel]
        return (max(xmin, 0), min(xmax, p.fast_pixels - 1), max(ymin, 0), min(ymax, p.slow_pixels - 1))

    def roi_pixels_of(self, panel: int = 0) -> int:
        """Pixels in the rendered region of a panel."""
        x0, x1, y0, y1 = self.roi_bounds_of(panel)
        return max(x1 - x0 + 1, 0) * max(y1 - y0 + 1, 0)

    @property
    def roi_bounds(self) -> tuple[int, int, int, int]:
        """:meth:`roi_bounds_of` the first panel."""
        return self.roi_bounds_of(0)

    def evaluations_per_pixel_of(self, panel: int = 0) -> int:
        """Kernel evaluations per pixel of a panel: sensor layers x sub-pixels x sources x phi steps x domains."""
        return (self.detector[panel].sensor.steps * self.oversample ** 2 * self.beam.sources.count
                * self.scan.phisteps * self.crystal.domains)

    def to_expt(self, *, template: str | None = None, identifier: str = ""):
        """This experiment as one entry of a DIALS experiment list (:class:`xbragg.io.expt.ExptEntry`).

        Write it with :func:`xbragg.io.expt.write_experiment_list`, which also returns what
        the file cannot hold (several sources, phi steps, sensor layers, ...).  ``template``:
        the image file(s) the entry points at.
        """
        from ..io.expt import ExptCrystal, ExptEntry
        return ExptEntry(beam=self.beam, detector=self.detector, goniometer=self.goniometer, scan=self.scan,
                         crystal=ExptCrystal.from_real_axes_m(self.crystal.real_axes_m), image_range=(1, 1),
                         identifier=identifier, template=template)

    @property
    def evaluations_per_pixel(self) -> int:
        """:meth:`evaluations_per_pixel_of` the first panel."""
        return self.evaluations_per_pixel_of(0)


def water_background(water_m: float, fluence):
    """Water background added to every pixel before the lattice sum (reference ``I_bg``).

    ``water_m``: water thickness (m); ``fluence`` (photons/m^2) may be an array (a
    differentiable parameter).  The reference scales it by r_e^2 * fluence here and
    again in the final scaling; xbragg keeps that so images match.
    """
    return WATER_F * WATER_F * R_E_SQR_M2 * fluence * water_m ** 3 * 1e6 * AVOGADRO / WATER_MW


def _per_mm(v: float) -> float:
    return v / 1000.0     # mm -> m by division, as the reference converts these keys


#: header keys xbragg reads: option field, conversion to SI, whether the value must be positive
_HEADER_KEYS = (("PIXEL_SIZE", "pixel_size_m", _per_mm, True),
                ("DISTANCE", "distance_m", lambda v: v * 1e-3, True),
                ("CLOSE_DISTANCE", "close_distance_m", lambda v: v * 1e-3, True),
                ("WAVELENGTH", "wavelength_m", lambda v: v * 1e-10, True),
                ("ORGX", "ORGX", float, False), ("ORGY", "ORGY", float, False),
                ("PHI", "phi_deg", float, False), ("OSC_RANGE", "osc_deg", float, False),
                ("BEAM_CENTER_X", "Xbeam_m", _per_mm, False), ("BEAM_CENTER_Y", "Ybeam_m", _per_mm, False))


def _header_number(image: SMVImage, key: str, positive: bool) -> float | None:
    """Header value ``key`` checked like the matching flag's value: finite, positive where needed."""
    value = header_float(image, key)
    if value is None:
        return None
    if not math.isfinite(value) or (positive and not value > 0):
        expected = "a positive finite number" if positive else "a finite number"
        raise InputError(f"{key}={image.header[key]}: expected {expected}", flag=image.flag,
                         path=image.path)
    return value


def _apply_header(image: SMVImage, *, is_mask: bool) -> dict:
    """Header values as defaults (flags given on the command line still win).

    Every key read is checked (:func:`_header_number`), whether or not a flag overrides it.
    """
    values: dict = {}
    fpixels = image.data.shape[1]
    spixels = image.data.shape[0]
    values["fpixels"] = fpixels
    values["spixels"] = spixels
    numbers = {key: _header_number(image, key, positive) for key, _, _, positive in _HEADER_KEYS}
    for key, name, to_si, _ in _HEADER_KEYS:
        if numbers[key] is not None:
            values[name] = to_si(numbers[key])
    by = numbers["BEAM_CENTER_Y"]
    if by is not None and is_mask:
        # the reference flips the mask's Y beam centre, but not the -img one's
        pixel_m = values.get("pixel_size_m", 0.1e-3)
        values["Ybeam_m"] = pixel_m * spixels - by / 1000.0
    # TWOTHETA in a header is read but never used by the reference; xbragg ignores it too
    return values


def resolve_headers(opts: SimulationOptions, explicit: set[str] | None = None) -> tuple[SimulationOptions, np.ndarray | None]:
    """Fill options from -mask then -img headers (the img read last wins) and load the mask.

    ``explicit`` names the option fields set by the user, which headers never override;
    by default any field that is not ``None`` counts as set.
    """
    mask = None
    header_values: dict = {}
    if opts.mask_path is not None:
        image = read_smv(opts.mask_path, flag="-mask")
        header_values.update(_apply_header(image, is_mask=True))
        mask = image.data != 0
    if opts.img_path is not None:
        image = read_smv(opts.img_path, flag="-img")
        header_values.update(_apply_header(image, is_mask=False))
    if not header_values:
        return opts, mask
    updates = {}
    for name, value in header_values.items():
        user_set = (name in explicit) if explicit is not None else getattr(opts, name) is not None
        if not user_set:
            updates[name] = value
    return opts.updated(**updates), mask


#: how the memory limit is raised, on the command line and in Python
_LIMIT_FLAGS = "--memory-limit (memory_limit_bytes)"


def _write_cache(path: str, table: HKLTable, messages: list[str]) -> None:
    """Write the structure-factor cache; the reference only warns when it cannot be written.

    A sparse table is not written: the format is a dense grid (gigabytes for a few
    reflections with large indices); a cache already there is left as it is.
    """
    if table.sparse:
        messages.append(f"not writing {path}: the table spans {table.cells} cells for "
                        f"{table.values.size} reflections (a dense cache would take "
                        f"{8 * table.cells / 2**30:.3g} GiB); give -hkl again next time")
        return
    try:
        write_fdump(path, table)
    except OutputError as exc:
        messages.append(f"WARNING: unable to open dump file: {path} ({exc})")


def load_structure_factors(opts: SimulationOptions, messages: list[str] | None = None, *,
                           memory_limit_bytes: int | None = None,
                           hkl_cache: str | os.PathLike[str] | None = None) -> HKLTable | None:
    """Read -hkl; without it, the cache ``hkl_cache`` (``Fdump.bin`` format) if one is named and exists.

    ``None`` when there is neither and ``opts.default_F`` is not zero.  Reading the
    cache appends a line naming it and its index ranges to ``messages`` (it may come
    from another run in the same directory).  A cache whose table would exceed
    ``memory_limit_bytes`` is refused before it is read.  Nothing is written here:
    :func:`build_experiment` writes the cache, only once every input has been checked,
    so that a failed run leaves no file.
    """
    if opts.hkl_path is not None:
        return read_hkl(opts.hkl_path, opts.default_F, flag="-hkl")
    cache = None if hkl_cache is None else os.fspath(hkl_cache)
    if cache is not None and os.path.exists(cache):
        # the file, its copy without the padding planes, and the render's copies
        check_memory(3 * os.path.getsize(cache), memory_limit_bytes,
                     what=f"the structure-factor cache {cache}",
                     change="delete it and give -hkl", limit_flag=_LIMIT_FLAGS)
        table = read_fdump(cache)
        if messages is not None:
            messages.append(f"reading Fs from {cache} (cache of an earlier run with -hkl): "
                            + table.describe())
        return table
    if opts.default_F == 0.0:
        where = "" if cache is None else f" (no {cache} cache in the working directory)"
        raise InputError(f"no structure factors: give -hkl FILE, or -default_F F{where}", flag="-hkl")
    return None


def mosaic_domains(opts: SimulationOptions, table: ShuffleTable, messages: list[str]) -> tuple[np.ndarray, float]:
    """Mosaic rotation matrices and spread (rad) with the reference's domain-count rules.

    A spread that is not given (or negative) means none; domains <= 0 means
    auto: 10 with a spread, else 1.  Domains are drawn from ``-mosaic_seed``
    (default 12345678; the generator starts from -seed) even for one domain,
    as the reference does, and domain 0 is then the identity.
    """
    spread = opts.mosaic_spread_deg / RTD if opts.mosaic_spread_deg is not None else -1.0
    domains = opts.mosaic_domains if opts.mosaic_domains is not None else -1
    if domains <= 0:
        if spread < 0.0:
            domains, spread = 1, 0.0
        elif spread == 0.0:
            domains = 1
        else:
            messages.append("WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains")
            domains = 10
    elif spread < 0.0:
        messages.append("WARNING: no mosaic spread specified.  setting mosaic_domains = 1")
        domains, spread = 1, 0.0
    elif spread == 0.0:
        messages.append("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1")
        domains = 1
    seed = opts.mosaic_seed if opts.mosaic_seed is not None else 12345678
    return mosaic_umats(spread, domains, Ran1(-seed, table)), spread


def build_experiment(opts: SimulationOptions, *, explicit: set[str] | None = None,
                     memory_limit_bytes: int | None = None,
                     hkl_cache: str | os.PathLike[str] | None = None) -> Experiment:
    """Resolve every default and auto-selection rule of the reference into an :class:`Experiment`.

    Only the files that ``opts`` names are read, and none is written, unless
    ``hkl_cache`` names a structure-factor cache (the command line's ``-dump``,
    ``Fdump.bin`` by default): then, as the reference does, it is written after
    ``opts.hkl_path`` is read (dense tables only), and read in its place when
    ``opts.hkl_path`` is ``None`` and the file exists.
    Extreme values whose arithmetic under- or overflows (a -cell of 1e-300, a zero
    -beamsize with -flux) are reported as an :class:`InputError`, not a traceback.
    ``memory_limit_bytes``: refuse (:class:`InputError`) a structure-factor table, or a
    table and detector image (float32, twice), that would need more (see
    :mod:`xbragg.memory`), before the cache is written; ``None``: no limit.
    """
    try:
        return _build_experiment(opts, explicit, memory_limit_bytes, hkl_cache)
    except ArithmeticError as exc:
        raise InputError(f"the values given lead to numbers out of range ({exc}); check the cell "
                         "(-cell, -mat), lengths and sizes for extreme values") from None


def _build_experiment(opts: SimulationOptions, explicit: set[str] | None,
                      memory_limit_bytes: int | None,
                      hkl_cache: str | os.PathLike[str] | None) -> Experiment:
    messages: list[str] = []
    opts, mask = resolve_headers(opts, explicit)

    # fluence from flux, and the beam clipping the sample (reference order)
    fluence = opts.fluence if opts.fluence is not None else DEFAULT_FLUENCE
    flux, exposure, beamsize = opts.flux, opts.exposure_s, opts.beamsize_m
    if flux != 0.0 and exposure > 0.0 and beamsize >= 0:
        fluence = flux * exposure / beamsize / beamsize
    sample_y, sample_z = opts.sample_y_m, opts.sample_z_m
    if beamsize >= 0:
        if beamsize < sample_y:
            messages.append(f"WARNING: clipping sample ({sample_y:g} m high) with beam ({beamsize:g} m)")
            sample_y = beamsize
        if beamsize < sample_z:
            messages.append(f"WARNING: clipping sample ({sample_z:g} m wide) with beam ({beamsize:g} m)")
            sample_z = beamsize
    if exposure > 0.0:
        flux = fluence / exposure * beamsize * beamsize
    opts = opts.updated(sample_y_m=sample_y, sample_z_m=sample_z)

    placed = place_from_expt(opts, explicit) if opts.expt_path is not None else place_from_flags(opts)
    opts = placed.options
    messages.extend(placed.messages)
    wavelength = opts.wavelength_m if opts.wavelength_m is not None else 1.0e-10
    if not wavelength > 0:
        raise InputError(f"wavelength must be positive, got {wavelength * 1e10:g} A", flag="-lambda")
    panel = placed.detector[0]
    phi = phi_schedule(opts)

    Na_given = [opts.Na, opts.Nb, opts.Nc]
    interp_auto = opts.interpolate is None
    interpolate = bool(opts.interpolate) if not interp_auto else any(
        (1.0 if n is None else float(n)) <= 2 for n in Na_given)

    # one shuffle table for every seed, as the reference's static one: misset, then mosaic
    table = ShuffleTable()
    misset_rad = None
    if opts.misset_random:
        seed = opts.misset_seed if opts.misset_seed is not None else clock_seed()
        misset_rad = random_misset(Ran1(-seed, table))
        messages.append("random orientation misset angles: " + " ".join(format_f(x * RTD) for x in misset_rad)
                        + " deg")
    if placed.crystal_axes_A is not None:
        crystal = crystal_from_real_axes(opts, placed.crystal_axes_A)
    else:
        crystal = build_crystal(opts, wavelength, misset_rad=misset_rad)
    xtal_max = max(crystal.size_m)
    reciprocal_pixel = wavelength * placed.beam_distance_m() / min(p.pixel_size_m for p in placed.detector)
    ratio = 3.0 * xtal_max / reciprocal_pixel if reciprocal_pixel > 0 else math.inf
    recommended = math.ceil(ratio) if ratio <= MAX_OVERSAMPLE else MAX_OVERSAMPLE + 1
    if recommended <= 0:
        recommended = 1
    oversample = opts.oversample if (opts.oversample is not None and opts.oversample > 0) else recommended
    if oversample > MAX_OVERSAMPLE:
        shown = f"{ratio:.3g}" if oversample == recommended else str(oversample)
        raise InputError(f"{shown} sub-pixels per pixel edge is impractical (at most {MAX_OVERSAMPLE}); "
                         "it follows from the crystal size, -lambda, -distance and -pixel: check those, "
                         "or give -oversample", flag="-oversample")

    hkl = load_structure_factors(opts, messages, memory_limit_bytes=memory_limit_bytes, hkl_cache=hkl_cache)
    check_memory(table_bytes(hkl), memory_limit_bytes, what="the structure-factor table",
                 change="check the indices in -hkl", limit_flag=_LIMIT_FLAGS)
    # any render holds the whole detector image at least twice (float32 at best): refused
    # here, a run too large writes no cache either
    full_pixels = sum(p.fast_pixels * p.slow_pixels for p in placed.detector)
    sizes = " + ".join(f"{p.fast_pixels}x{p.slow_pixels}" for p in placed.detector)
    check_memory(table_bytes(hkl) + image_bytes(0, full_pixels, 4), memory_limit_bytes,
                 what=f"the image of a {sizes}-pixel detector",
                 change="use a smaller detector (-detpixels, -detsize, -pixel)", limit_flag=_LIMIT_FLAGS,
                 lower_bound=True)
    if hkl is None or hkl.count == 0:
        interpolate = False

    file_rows = read_source_file(opts.sourcefile_path, flag="-sourcefile") if opts.sourcefile_path else None
    sources = build_sources(opts, wavelength, placed.beam_direction, placed.polarization_axis, file_rows)

    umats, mosaic_spread = mosaic_domains(opts, table, messages)
    crystal = replace(crystal, mosaic_spread_rad=mosaic_spread, mosaic_umats=umats, structure_factors=hkl)

    xmin, xmax, ymin, ymax = opts.roi if opts.roi is not None else (-1, -1, -1, -1)
    roi = (xmin if xmin >= 0 else 0, xmax if xmax >= 0 else panel.fast_pixels,
           ymin if ymin >= 0 else 0, ymax if ymax >= 0 else panel.slow_pixels)
    if mask is not None and len(placed.detector) > 1:
        raise InputError(f"an SMV mask covers one panel; this detector has {len(placed.detector)}", flag="-mask",
                         path=opts.mask_path)
    if mask is not None and mask.shape != panel.shape:
        raise InputError(f"mask is {mask.shape[1]}x{mask.shape[0]} pixels but the detector is "
                         f"{panel.fast_pixels}x{panel.slow_pixels}", flag="-mask", path=opts.mask_path)
    if hkl_cache is not None and opts.hkl_path is not None:
        # only now: every input has been read and checked
        _write_cache(os.fspath(hkl_cache), hkl, messages)
    phi_carryover = opts.phi_carryover or opts.c_parity
    notes = tuple(b.note for b in detect_behaviours(opts, placed.nanobragg, phi) if not b.reproduced)

    beam = Beam(direction=placed.beam_direction, wavelength_m=wavelength, polarization_axis=placed.polarization_axis,
                kahn_factor=opts.kahn_polarization, polarization_correction=not opts.nopolar, sources=sources,
                fluence=fluence, flux=flux, exposure_s=exposure, beamsize_m=beamsize)
    return Experiment(
        beam=beam, detector=placed.detector, goniometer=Goniometer(placed.rotation_axis), scan=phi,
        crystal=crystal, detector_setup=placed.setup, interpolate=interpolate, interpolate_auto=interp_auto,
        oversample=oversample, oversample_recommended=recommended,
        oversample_thick=opts.oversample_thick, oversample_polar=opts.oversample_polar,
        oversample_omega=opts.oversample_omega, water_m=opts.water_m, dmin_m=opts.dmin_m,
        roi=roi, mask=mask, phi_carryover=phi_carryover, messages=tuple(messages),
        random_table=table.snapshot(), notes=notes,
        capture_without_sensor=opts.c_parity and opts.oversample_thick and all(
            p.sensor.thick_m == 0.0 for p in placed.detector),
        reference_forms=opts.c_parity,
    )
