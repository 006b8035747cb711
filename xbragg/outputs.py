"""The reference's integer outputs: SMV integer image, Poisson noise image and PGM preview.

What nanoBragg does after writing the float image, reproduced byte for byte:

- the integer image (``-intfile``, default ``intimage.img``) is written on every
  run: ``pixel * scale + adc`` clipped to 0..65535 and rounded as
  ``floorf(test + 0.5)``; ``-scale`` <= 0 or absent means ``55000 / max_I``;
- the PGM (``-pgmfile``, default ``image.pgm``) unless ``-nopgm``: ``pixel *
  pgmscale`` clipped at 255 and truncated; ``-pgmscale`` <= 0 or absent means
  ``250 / (5 * rmsd)`` (or the integer scale when rmsd is 0);
- the noise image (``-noisefile``, default ``noiseimage.img``) unless ``-nonoise``:
  ``poidev`` of each float32 pixel, plus ``adc``, clipped at 65535 (counted as
  overloads) and truncated.

Pixels outside the ROI (inclusive bounds) stay 0 in all three; pixels inside it
that the mask skips are 0 in the float image and are converted like any other
(the noise loop draws one deviate for each, as the reference does).

Beyond the reference, for processing programs (docs/formats.md): ``-nexus`` writes
the float image (or, with ``-nexus_counts``, the noise image) as NeXus NXmx, ``-cbf``
the integer image as miniCBF, and ``--smv-adc-offset`` states ``-adc`` as
``ADC_OFFSET`` in the two SMV images.  They join the same batch: all files or none.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TextIO

import numpy as np

from .constants import RTD
from .errors import InputError, OutputError
from .export import experiment_cbf_bytes, experiment_nexus_bytes
from .io.atomic import OutputBatch, check_writable, same_file_key
from .kernel.vectors import dot3
from .setup.detector import quoted_geometry
from .io.cformat import format_f, format_g
from .io.hkl import FDUMP_NAME
from .io.pgm import pgm_bytes
from .io.smv import smv_bytes
from .setup.options import SimulationOptions
from .setup.random_numbers import Ran1, ShuffleTable, noise_image

__all__ = ["OutputPlan", "output_plan", "INPUT_FILE_FLAGS", "hkl_cache", "input_files", "cache_outputs",
           "check_outputs", "int_image", "pgm_image", "smv_header_lines", "auto_int_scale", "auto_pgm_scale",
           "write_outputs", "check_format_outputs", "format_bytes_per_pixel", "SMV_SATURATION"]

#: the largest pixel of the integer and noise images (uint16): their saturation value
SMV_SATURATION = 65535


@dataclass(frozen=True)
class OutputPlan:
    """Which outputs to write, where, and with which scales, offset and seed."""

    floatfile: str = "floatimage.bin"
    intfile: str = "intimage.img"
    noisefile: str | None = "noiseimage.img"
    pgmfile: str | None = "image.pgm"
    scale: float = 0.0          # <= 0: automatic
    pgmscale: float = 0.0       # <= 0: automatic
    adc: float = 40.0
    seed: int = 0               # the noise generator starts from -seed
    nexusfile: str | None = None
    nexus_counts: bool = False  # NXmx holds the noise image (int32) instead of the float image
    cbffile: str | None = None
    smv_adc_offset: bool = False  # ADC_OFFSET=<adc> in the SMV headers
    exptfile: str | None = None   # the experiment as a DIALS experiment list


def output_plan(settings: dict, seed: int) -> OutputPlan:
    """The plan from the command line's settings (``seed`` when -seed is absent)."""
    d = OutputPlan()                    # the defaults, written once
    if settings.get("nexus_counts", False) and "nexusfile" not in settings:
        raise InputError("needs -nexus FILE: it chooses what the NXmx file holds", flag="-nexus_counts")
    return OutputPlan(
        floatfile=settings.get("floatfile", d.floatfile),
        intfile=settings.get("intfile", d.intfile),
        noisefile=None if settings.get("nonoise", False) else settings.get("noisefile", d.noisefile),
        pgmfile=None if settings.get("nopgm", False) else settings.get("pgmfile", d.pgmfile),
        scale=float(settings.get("scale", d.scale)),
        pgmscale=float(settings.get("pgmscale", d.pgmscale)),
        adc=float(settings.get("adc", d.adc)),
        seed=int(settings.get("seed", seed)),
        nexusfile=settings.get("nexusfile", d.nexusfile),
        nexus_counts=bool(settings.get("nexus_counts", d.nexus_counts)),
        cbffile=settings.get("cbffile", d.cbffile),
        smv_adc_offset=bool(settings.get("smv_adc_offset", d.smv_adc_offset)),
        exptfile=settings.get("exptfile", d.exptfile),
    )


#: the command line's input file flags and the :class:`SimulationOptions` field each sets
INPUT_FILE_FLAGS = {"-hkl": "hkl_path", "-mat": "mat_path", "-sourcefile": "sourcefile_path",
                    "-mask": "mask_path", "-img": "img_path", "-expt": "expt_path"}

Named = tuple[str, str]     # (what names the file, e.g. "-hkl"; the path)


def hkl_cache(settings: dict) -> str:
    """The command line's structure-factor cache: the -dump file, or the reference's ``Fdump.bin``."""
    return settings.get("hkl_cache", FDUMP_NAME)


def input_files(opts: SimulationOptions, settings: dict) -> list[Named]:
    """The files a command-line run reads: each input flag's file, -stol (or -4stol, -Q) from
    the command line's ``settings``, and the -dump cache (:func:`hkl_cache`) when it is read
    (no -hkl)."""
    files = [(flag, getattr(opts, field)) for flag, field in INPUT_FILE_FLAGS.items()
             if getattr(opts, field) is not None]
    if "stol" in settings:
        files.append(tuple(settings["stol"]))
    if opts.hkl_path is None and os.path.exists(hkl_cache(settings)):
        files.append(("-dump, the structure-factor cache read without -hkl", hkl_cache(settings)))
    return files


def cache_outputs(opts: SimulationOptions, settings: dict) -> list[Named]:
    """The -dump cache (:func:`hkl_cache`) a command-line run with -hkl writes (not checked for
    writability: the reference, and xbragg, skip it when it cannot be written)."""
    if opts.hkl_path is None:
        return []
    return [("-dump, the structure-factor cache written for -hkl", hkl_cache(settings))]


def panel_file(path: str | None, panel: int, panels: int) -> str | None:
    """The file of one panel's image: ``NAME_p00.ext``, ``NAME_p01.ext`` ... when there are
    several panels (the panel number before the extension), ``path`` itself for one."""
    if path is None or panels == 1:
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}_p{panel:02d}{ext}"


def panel_plan(plan: OutputPlan, panel: int, panels: int) -> OutputPlan:
    """The outputs of one panel's image: its own file names (:func:`panel_file`) and noise
    seed (``-seed`` + panel, so panels do not share their noise); the NXmx file, which holds
    every panel, is left to the caller when there are several."""
    if panels == 1:
        return plan
    return replace(plan, floatfile=panel_file(plan.floatfile, panel, panels),
                   intfile=panel_file(plan.intfile, panel, panels),
                   noisefile=panel_file(plan.noisefile, panel, panels),
                   pgmfile=panel_file(plan.pgmfile, panel, panels),
                   cbffile=panel_file(plan.cbffile, panel, panels), nexusfile=None, seed=plan.seed + panel)


def _plan_outputs(plan: OutputPlan, panels: int = 1) -> list[Named]:
    named = []
    for panel in range(panels):
        one = panel_plan(plan, panel, panels)
        named += [("-floatfile", one.floatfile), ("-intfile", one.intfile), ("-noisefile", one.noisefile),
                  ("-pgmfile", one.pgmfile), ("-cbf", one.cbffile)]
    named += [("-nexus", plan.nexusfile), ("--write-expt", plan.exptfile)]
    return [(flag, path) for flag, path in named if path is not None]


def _label(name: str, path: str, defaults: dict[str, str]) -> str:
    """``-hkl (pattern.hkl)``, or ``-intfile (intimage.img, the default name)``."""
    note = ", the default name" if defaults.get(name) == path else ""
    return f"{name} ({path}{note})"


def check_outputs(plan: OutputPlan, inputs: Sequence[Named] = (), caches: Sequence[Named] = (),
                  panels: int = 1) -> None:
    """Fail before rendering when an output cannot be written or would destroy a file the run uses.

    Each output of ``plan`` must be writable (:func:`~xbragg.io.atomic.check_writable`),
    and no two of the outputs and ``caches`` (other files the run writes) nor any of
    them and ``inputs`` may be one file, however named (``./x`` and ``x``, a link,
    a hard link); a character device such as ``/dev/null`` may be named more than
    once.  The :class:`OutputError` names the flag, or both flags.  ``panels``: the
    detector's panel count (each panel's image has its own files, :func:`panel_plan`).
    """
    outputs = _plan_outputs(plan, panels)
    for flag, path in outputs:
        check_writable(path, flag=flag)
    defaults = dict(_plan_outputs(OutputPlan()))
    written = [(name, path, same_file_key(path)) for name, path in [*outputs, *caches]]
    read = [(source, source_path, same_file_key(source_path)) for source, source_path in inputs]
    for i, (name, path, key) in enumerate(written):
        for other, other_path, other_key in written[:i]:
            if key is not None and key == other_key:
                raise OutputError(f"{_label(other, other_path, defaults)} and {_label(name, path, defaults)} "
                                  "are the same file: one output would overwrite the other")
        for source, source_path, source_key in read:
            if key is not None and key == source_key:
                raise OutputError(f"{_label(name, path, defaults)} and {source} ({source_path}) are the same "
                                  "file: the output would overwrite the input")


def check_format_outputs(exp, plan: OutputPlan) -> None:
    """Fail before rendering when -nexus or -cbf cannot be written for this experiment: the
    package is missing, or the format cannot state the geometry (:class:`InputError`)."""
    if plan.nexusfile is not None:
        from .io.nexus import check_nexus
        try:
            check_nexus(exp.detector)
        except InputError as exc:
            raise InputError(exc.detail, flag="-nexus") from None
    if plan.cbffile is not None:
        from .io.cbf import check_cbf
        try:
            check_cbf(exp.beam, exp.detector, exp.goniometer,
                      instead="give -nexus FILE instead: NXmx states every vector")
        except InputError as exc:
            raise InputError(exc.detail, flag="-cbf") from None


#: peak bytes per detector pixel of building an NXmx or miniCBF file in memory, measured with
#: tracemalloc on a 2048x2048 image of random values (17.0 for float NXmx, 14.0 for counts,
#: 13.0 for miniCBF): the copy into the data array, the mask, the compressed file and its bytes
_FORMAT_BYTES_PER_PIXEL = {"nexus": 18, "cbf": 14}


def format_bytes_per_pixel(plan: OutputPlan) -> int:
    """Memory per detector pixel that the plan's -nexus and -cbf files add to a run's outputs."""
    return ((_FORMAT_BYTES_PER_PIXEL["nexus"] if plan.nexusfile is not None else 0)
            + (_FORMAT_BYTES_PER_PIXEL["cbf"] if plan.cbffile is not None else 0))


def _roi_mask(shape: tuple[int, int], roi: tuple[int, int, int, int]) -> np.ndarray:
    x0, x1, y0, y1 = roi
    s = np.arange(shape[0])[:, None]
    f = np.arange(shape[1])[None, :]
    return (f >= x0) & (f <= x1) & (s >= y0) & (s <= y1)


def _c_truncate(values: np.ndarray, bits: int) -> np.ndarray:
    """C's ``(unsigned short|char) double`` as gcc does it on x86-64: via int, low bits kept; NaN -> 0."""
    finite = np.isfinite(values)
    as_int = np.trunc(np.where(finite, values, 0.0)).astype(np.int64)
    return (as_int & ((1 << bits) - 1)).astype(np.uint16 if bits == 16 else np.uint8)


def auto_int_scale(scale: float, max_I: float) -> float:
    """``-scale``, or 55000/max_I when it is absent or <= 0 (1 for an empty image)."""
    if scale <= 0.0:
        scale = 1.0
        if max_I > 0.0:
            scale = 55000.0 / max_I
    return scale


def auto_pgm_scale(pgmscale: float, int_scale: float, rmsd: float) -> float:
    """``-pgmscale``, or 250/(5*rmsd) when it is absent or <= 0 (the integer scale when rmsd is 0)."""
    if pgmscale <= 0.0:
        pgmscale = int_scale
        if rmsd > 0.0:
            pgmscale = 250.0 / (5.0 * rmsd)
    return pgmscale


def int_image(image32: np.ndarray, roi: tuple[int, int, int, int], scale: float, adc: float) -> np.ndarray:
    """The integer image: ``floorf(clip(pixel*scale + adc, 0, 65535) + 0.5)`` inside the ROI."""
    test = image32.astype(np.float64) * scale + adc
    test = np.where(test > 65535.0, 65535.0, test)
    test = np.where(test < 0.0, 0.0, test)
    with np.errstate(invalid="ignore"):
        rounded = np.floor((test + 0.5).astype(np.float32)).astype(np.float64)
    out = _c_truncate(rounded, 16)
    out[~_roi_mask(image32.shape, roi)] = 0
    return out


def pgm_image(image32: np.ndarray, roi: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """The PGM bytes: ``(unsigned char) min(pixel*scale, 255)`` inside the ROI."""
    test = image32.astype(np.float64) * scale
    test = np.where(test > 255.0, 255.0, test)
    out = _c_truncate(test, 8)
    out[~_roi_mask(image32.shape, roi)] = 0
    return out


def smv_header_lines(exp, *, noise: bool = False, panel: int = 0) -> list:
    """Header items after SIZE2, in the reference's order and number formats.

    The reference writes ``DENZO_X_BEAM`` as ``(Sbeam - 0.0*pixel)`` in the
    integer image and ``(Sbeam + 0.0*pixel)`` in the noise image; kept (they
    differ only for a -0 beam position).
    """
    setup = exp.detector_setup if panel == 0 else None      # the nanoBragg recipe placed panel 0
    panel = exp.detector[panel]
    quoted = quoted_geometry(panel, exp.beam.direction, setup)
    Xbeam, Ybeam = quoted.beam_xy_m
    Fbeam, Sbeam = quoted.beam_fs_m
    g = format_g
    px = panel.pixel_size_m
    zero = 0.0 * px
    denzo_x = (Sbeam + zero) if noise else (Sbeam - zero)
    denzo_y = (Fbeam + zero) if noise else (Fbeam - zero)
    # the reference's DIALS_ORIGIN: pix0 on the axes (z, y, -x), mm
    pix0 = panel.origin_m
    o = [1000.0 * float(dot3(pix0, np.array(axis))) for axis in ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0))]
    phi0, osc = exp.scan.phi0_rad, exp.scan.osc_rad
    return [
        ("PIXEL_SIZE", g(px * 1000.0)), ("DISTANCE", g(quoted.distance_m * 1000.0)),
        ("WAVELENGTH", g(exp.beam.wavelength_m * 1e10)),
        ("BEAM_CENTER_X", g(Xbeam * 1000.0)), ("BEAM_CENTER_Y", g(Ybeam * 1000)),
        ("ADXV_CENTER_X", g(Fbeam * 1000.0)), ("ADXV_CENTER_Y", g((quoted.detsize_fs_m[1] - Sbeam) * 1000)),
        ("MOSFLM_CENTER_X", g((Sbeam - 0.5 * px) * 1000.0)),
        ("MOSFLM_CENTER_Y", g((Fbeam - 0.5 * px) * 1000)),
        ("DENZO_X_BEAM", g(denzo_x * 1000.0)), ("DENZO_Y_BEAM", g(denzo_y * 1000)),
        f"DIALS_ORIGIN={g(o[0])},{g(o[1])},{g(o[2])}",
        ("XDS_ORGX", g(quoted.orgxy[0])), ("XDS_ORGY", g(quoted.orgxy[1])),
        ("CLOSE_DISTANCE", g(panel.close_distance_m * 1000.0)),
        ("PHI", g(phi0 * RTD)), ("OSC_START", g(phi0 * RTD)), ("OSC_RANGE", g(osc * RTD)),
        ("TWOTHETA", g(quoted.twotheta_rad * RTD)),
        ("DETECTOR_SN", "000"), ("BEAMLINE", "fake"),
    ]


def write_outputs(exp, image32: np.ndarray, stats, plan: OutputPlan, out: TextIO,
                  batch: OutputBatch | None = None, *, panel: int = 0) -> np.ndarray | None:
    """Write the integer, PGM and noise images of ``panel`` as the reference does, printing its
    lines, and the -cbf and -nexus files the plan names; returns the noise image when one
    was drawn (-noisefile or -nexus_counts), else ``None``.

    With ``batch``, the files are added to it and appear when the caller commits
    it (the command line commits the float image and these together); without,
    they are written here as one batch: all, or none.
    """
    if batch is None:
        with OutputBatch() as own:
            noisy = write_outputs(exp, image32, stats, plan, out, own, panel=panel)
            own.commit()
        return noisy
    roi = exp.roi_bounds_of(panel)      # the same clipped region as the render and the statistics
    scale = auto_int_scale(plan.scale, stats.max_I)
    out.write(f"intfile_scale = {format_g(scale)}\n")
    adc_offset = plan.adc if plan.smv_adc_offset else None
    ints = int_image(image32, roi, scale, plan.adc)
    out.write(f"writing {plan.intfile} as 2-byte integers\n")
    batch.add(plan.intfile, smv_bytes(ints, smv_header_lines(exp, panel=panel), adc_offset=adc_offset),
              flag="-intfile")
    if plan.cbffile is not None:
        out.write(f"writing {plan.cbffile} as miniCBF, the integer image\n")
        batch.add(plan.cbffile, experiment_cbf_bytes(ints, exp, saturation=SMV_SATURATION), flag="-cbf")
    del ints
    if plan.pgmfile is not None:
        pgm_scale = auto_pgm_scale(plan.pgmscale, scale, stats.rmsd)
        out.write(f"pgm_scale = {format_g(pgm_scale)}\n")
        pixels = pgm_image(image32, roi, pgm_scale)
        out.write(f"writing {plan.pgmfile} as 1-byte integers\n")
        batch.add(plan.pgmfile, pgm_bytes(pixels, pgm_scale), flag="-pgmfile")
    noisy = None
    if plan.noisefile is not None or plan.nexus_counts:
        # the noise seed is its own stream on the shared shuffle table left by set-up
        gen = Ran1(-plan.seed, ShuffleTable.from_snapshot(exp.random_table))
        noisy, photons, overloads = noise_image(image32, roi, plan.adc, gen)
        out.write(f"{format_f(photons, 0)} photons on noise image ({overloads} overloads)\n")
        if plan.noisefile is not None:
            out.write(f"writing {plan.noisefile} as 2-byte integers\n")
            batch.add(plan.noisefile, smv_bytes(noisy, smv_header_lines(exp, noise=True, panel=panel),
                                                adc_offset=adc_offset), flag="-noisefile")
        if plan.nexusfile is not None and plan.nexus_counts:
            out.write(f"writing {plan.nexusfile} as NeXus NXmx, the noise image as 4-byte integers\n")
            batch.add(plan.nexusfile, experiment_nexus_bytes(noisy, exp, counts=True, saturation=SMV_SATURATION),
                      flag="-nexus")
    if plan.nexusfile is not None and not plan.nexus_counts:
        out.write(f"writing {plan.nexusfile} as NeXus NXmx, 4-byte floats\n")
        batch.add(plan.nexusfile, experiment_nexus_bytes(image32, exp), flag="-nexus")
    return noisy


def write_detector_nexus(exp, images: list, plan: OutputPlan, out: TextIO, batch: OutputBatch) -> None:
    """Add the one NXmx file of a multi-panel detector (every panel's float or noise image) to ``batch``."""
    if plan.nexus_counts:
        out.write(f"writing {plan.nexusfile} as NeXus NXmx, every panel's noise image as 4-byte integers\n")
        data = experiment_nexus_bytes(images, exp, counts=True, saturation=SMV_SATURATION)
    else:
        out.write(f"writing {plan.nexusfile} as NeXus NXmx, every panel's image as 4-byte floats\n")
        data = experiment_nexus_bytes(images, exp)
    batch.add(plan.nexusfile, data, flag="-nexus")


def write_expt_file(exp, plan: OutputPlan, out: TextIO, batch: OutputBatch) -> None:
    """Add the experiment list of ``exp`` to ``batch``, pointing at the image DIALS can read
    (the -nexus file, else -cbf, else the SMV -intfile), with a warning line for each thing the
    file cannot hold."""
    from .io.expt import experiment_list_bytes
    panels = len(exp.detector)
    template = plan.nexusfile or panel_file(plan.cbffile, 0, panels) or panel_file(plan.intfile, 0, panels)
    entry = exp.to_expt(template=template)
    data, warnings = experiment_list_bytes([entry])
    for warning in warnings:
        out.write(f"WARNING: --write-expt: {warning}\n")
    out.write(f"writing {plan.exptfile} as a DIALS experiment list\n")
    batch.add(plan.exptfile, data, flag="--write-expt")
