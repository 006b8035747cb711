"""``xbragg`` entry point: flags -> experiment -> render -> files and statistics."""
from __future__ import annotations

import sys

import numpy as np

from .. import __version__
from ..backends import BackendError, namespace, resolve_device, resolve_dtype, to_numpy
from ..errors import InputError, XbraggError
from ..io.atomic import OutputBatch
from ..io.rawfloat import float_image_bytes
from ..io.stol import STOL_SCALE_PER_M, read_stol_file
from ..memory import OUTPUT_BYTES_PER_PIXEL, default_memory_limit_bytes
from ..outputs import (cache_outputs, check_format_outputs, check_outputs, format_bytes_per_pixel, hkl_cache,
                       input_files, output_plan, panel_plan, write_detector_nexus, write_expt_file, write_outputs)
from ..printout import PixelPrintout
from ..render import DEFAULT_MEMORY_BUDGET_BYTES, check_render_memory, counted_from, render, render_memory_bytes
from ..setup.experiment import build_experiment
from ..setup.random_numbers import clock_seed
from ..stats import detector_stats, image_stats
from ..trace import trace_lines
from .parse import SUBCOMMANDS, help_text, parse_args
from .progress import progress_for
from .report import print_detector_stats, print_notes, print_setup, print_stats
from .signals import TERMINATED_STATUS, Terminated, sigterm_raises


def _check_backend(settings: dict) -> None:
    """Fail before any work when --backend, --dtype or --device cannot be used here."""
    backend = settings.get("backend", "numpy")
    try:
        xp = namespace(backend)
    except BackendError as exc:
        raise BackendError(f"--backend: {exc}") from None
    try:
        resolve_dtype(xp, settings.get("dtype", "float64"))
    except BackendError as exc:
        raise BackendError(f"--dtype: {exc}") from None
    try:
        resolve_device(xp, backend, settings.get("device"))
    except BackendError as exc:
        raise BackendError(f"--device: {exc}") from None


def _check_finite(image32: np.ndarray, exp, c_parity: bool) -> None:
    """Refuse to write an image with non-finite pixels: intensities beyond float32's range.

    Under ``--c-parity`` the image is written as the reference writes it, with a warning
    on stderr instead."""
    bad = int(np.count_nonzero(~np.isfinite(image32)))
    if bad == 0:
        return
    largest_F = abs(exp.crystal.default_F)
    table = exp.crystal.structure_factors
    if table is not None:
        values = table.values if table.sparse else table.F
        largest_F = max(largest_F, float(np.max(np.abs(values))))
    message = (f"{bad} pixels of the image are not finite: intensities overflow float32 "
               f"(above {np.finfo(np.float32).max:.3g} photons); the structure factors "
               f"(largest |F| {largest_F:g}), -fluence (or -flux) or the crystal size (-N) "
               "are too large")
    if not c_parity:
        raise InputError(message)
    sys.stderr.write(f"xbragg: warning: {message}; written anyway, as the reference does (--c-parity)\n")


def run(argv: list[str], out=None) -> int:
    """Run the command line on ``argv`` (without the program name); returns the exit status."""
    out = out or sys.stdout
    parsed = parse_args(argv)
    if parsed.help:
        out.write(help_text())
        return 0
    if parsed.version:
        out.write(f"xbragg {__version__}\n")
        return 0
    settings = parsed.settings
    clock = clock_seed()   # the reference's default noise seed, and misset seed (not -seed's value)
    plan = output_plan(settings, clock)
    options = parsed.options
    # before any work: an output that cannot be written, or that would overwrite an input
    # or another output, is refused now rather than after the render
    check_outputs(plan, inputs=input_files(options, settings), caches=cache_outputs(options, settings))
    if options.misset_seed is None:
        options = options.updated(misset_seed=clock)
    _check_backend(settings)
    notes = list(parsed.notes)
    if "stol" in settings:
        name, path = settings["stol"]
        rows = read_stol_file(path, name)
        notes.append(f"{name} {path}: read {rows.shape[0]} amorphous structure factors versus "
                     f"{STOL_SCALE_PER_M[name][0]}; the reference reads them too but draws nothing from them "
                     "(no effect on the image)")
    limit = (int(settings["memory_limit_gib"] * 2**30) if "memory_limit_gib" in settings
             else default_memory_limit_bytes())
    # the reference's cache: written after -hkl is read, read in its place without -hkl
    exp = build_experiment(options, explicit=parsed.explicit, memory_limit_bytes=limit,
                           hkl_cache=hkl_cache(settings))
    # a -nexus or -cbf the format cannot hold (or whose package is missing) is refused now
    check_format_outputs(exp, plan)
    panels = len(exp.detector)
    if panels > 1:
        # each panel's image has its own files: checked again under their own names
        check_outputs(plan, inputs=input_files(options, settings), caches=cache_outputs(options, settings),
                      panels=panels)
    budget = int(settings.get("memory_budget_mib", DEFAULT_MEMORY_BUDGET_BYTES / 2**20) * 2**20)
    dtype = settings.get("dtype", "float64")
    # the outputs need the whole detector's images, whatever the -roi; this covers the render's
    # own estimate, so render() is given no limit to check again
    pixels = sum(p.fast_pixels * p.slow_pixels for p in exp.detector)
    needed = (max(render_memory_bytes(exp, dtype, budget, panel) for panel in range(panels))
              + (OUTPUT_BYTES_PER_PIXEL + format_bytes_per_pixel(plan)) * pixels)
    check_render_memory(needed, limit, exp, "the image and output files", "--memory-limit")
    trace_panel = settings.get("trace_panel", 0)
    if not 0 <= trace_panel < panels:
        raise InputError(f"panel {trace_panel} does not exist: the detector has {panels} "
                         f"(0 to {panels - 1})", flag="-trace_pixel")
    print_setup(exp, out)
    print_notes(notes + list(exp.notes), out)
    printout = None
    if settings.get("printout"):
        printout = PixelPrintout(exp, out.write, settings.get("printout_pixel"))
    progress = progress_for(settings.get("progress", True))
    totals = [exp.roi_pixels_of(panel) for panel in range(panels)]
    images32 = []
    for panel in range(panels):
        trace_pixel = settings.get("trace_pixel") if panel == trace_panel else None
        panel_progress = counted_from(progress, sum(totals[:panel]), sum(totals))
        # an overflowing intensity is reported below, once, instead of NumPy's warnings
        with np.errstate(over="ignore", invalid="ignore"):
            result = render(exp, backend=settings.get("backend", "numpy"), device=settings.get("device"),
                            dtype=dtype, memory_budget_bytes=budget, progress=panel_progress,
                            trace_pixel=trace_pixel, panel=panel,
                            compile={"on": True, "off": False}.get(settings.get("compile", "auto")),
                            record_tile=None if printout is None or panel > 0 else printout.tile)
        if trace_pixel is not None:
            slow, fast = trace_pixel
            where = f"{panel} {slow} {fast}" if panels > 1 else f"{slow} {fast}"
            if result.trace is None:
                out.write(f"WARNING: -trace_pixel {where} is outside the rendered region; no trace\n")
            else:
                out.write("\n".join(trace_lines(exp, result.trace, slow, fast, panel=panel)) + "\n")
        if result.interpolation_fell_back:
            h, k, l = result.fallback_hkl
            out.write(f"WARNING: out of range for three point interpolation: h,k,l: {h:g},{k:g},{l:g}\n"
                      "WARNING: further warnings will not be printed! \n")
        with np.errstate(over="ignore"):
            images32.append(to_numpy(result.image).astype(np.float32))
        del result                      # the working-precision image is no longer needed
        _check_finite(images32[-1], exp, options.c_parity)
    # only an overflowed image written under --c-parity (reported above) gets here with inf
    # pixels; its statistics and integer images are computed as the reference's, quietly
    with np.errstate(over="ignore", invalid="ignore"), OutputBatch() as batch:
        noise_images, panel_stats = [], []
        for panel, image32 in enumerate(images32):
            one = panel_plan(plan, panel, panels)
            stats = image_stats(image32, exp.roi_bounds_of(panel), exp.mask_of(panel),
                                pixel_size_m=exp.detector[panel].pixel_size_m, oversample=exp.oversample)
            # every output is staged, then all are put in place together: a late failure leaves none
            if panels > 1:
                out.write(f"panel {panel} ({exp.detector[panel].name or 'unnamed'}):\n")
            out.write(f"writing {one.floatfile} as {image32.size} 4-byte floats\n")
            batch.add(one.floatfile, float_image_bytes(image32), flag="-floatfile")
            print_stats(stats, out)
            panel_stats.append(stats)
            noise_images.append(write_outputs(exp, image32, stats, one, out, batch, panel=panel))
        if panels > 1:
            out.write("all panels:\n")
            print_detector_stats(detector_stats(images32, [exp.roi_bounds_of(i) for i in range(panels)],
                                                [exp.mask_of(i) for i in range(panels)]), panel_stats, out)
            if plan.nexusfile is not None:
                write_detector_nexus(exp, noise_images if plan.nexus_counts else images32, plan, out, batch)
        if plan.exptfile is not None:
            write_expt_file(exp, plan, out, batch)
        batch.commit()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: errors become one message on stderr and exit status 2.

    Ctrl-C (SIGINT) and SIGTERM stop the run cleanly (render workers stopped, no
    output or temporary file left), print one line and exit with 130 and 143.
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        with sigterm_raises():
            return _main(argv)
    except Terminated:
        sys.stderr.write("xbragg: terminated\n")
        return TERMINATED_STATUS


def _main(argv: list[str]) -> int:
    if argv and argv[0] in SUBCOMMANDS:
        import importlib
        return importlib.import_module(SUBCOMMANDS[argv[0]][0]).main(argv[1:])
    try:
        return run(argv)
    except (XbraggError, BackendError) as exc:
        sys.stderr.write(f"xbragg: error: {exc}\n")
        return 2
    except MemoryError:
        sys.stderr.write("xbragg: error: out of memory: reduce the detector size (-detpixels, -roi), "
                         "the sampling steps or --memory-budget\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("xbragg: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
