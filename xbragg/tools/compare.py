"""``xbragg compare [options] -- FLAGS...``: xbragg's float image against the reference's.

Renders FLAGS with xbragg (in this process, in the current directory so that relative input
paths work; the float image goes to ``OUTDIR/ours_float.bin``, the integer image, where
written, to ``OUTDIR/ours_int.img``) and takes the reference image either by running the
reference program (``--ref-bin`` or the environment variable ``NB_C_BIN``; same FLAGS plus
``-floatfile OUTDIR/ref_float.bin -intfile OUTDIR/ref_int.img -noprogress -nonoise -nopgm``,
single-threaded unless ``OMP_NUM_THREADS`` is set) or from a stored raw float32 image
(``--ref-float``, ``.gz`` allowed; its size is the one FLAGS give).

xbragg's own switches in FLAGS (``--phi-carryover``, ``--backend``, ...) go to xbragg only;
``--c-parity`` adds :data:`C_PARITY_FLAGS` to xbragg's run.  When FLAGS trigger a known
behaviour of the reference (:mod:`xbragg.setup.reference_behaviour`), the report names it and
the switch that reproduces it.

Writes ``OUTDIR/summary.json`` (correlation, RMSE, largest absolute and relative difference,
both sums and their ratio, both runtimes, the reference behaviours) and previews of the
rendered region (:mod:`xbragg.tools.preview`): ``ref.png``, ``ours.png`` (greyscale, one
saturation level from a high percentile of the reference), ``diff.png`` (``ours - ref`` on a
blue-white-red map with its colour bar) and ``zoom.png`` (an enlarged crop of the three around
the largest difference). ``--roi xmin xmax ymin ymax`` (inclusive fast/slow pixel box) restricts
the metrics. Exit status 3 when the correlation is below ``--threshold``, 2 on bad input, 0
otherwise.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict

import numpy as np

from xbragg.errors import InputError, OutputError, XbraggError
from xbragg.io.atomic import atomic_write_bytes
from xbragg.io.rawfloat import read_float_image
from xbragg.setup.reference_behaviour import ReferenceBehaviour, reference_behaviours
from xbragg.tools import preview
from xbragg.tools.png import write_png
from xbragg.tools.trace_diff import jsonable

__all__ = ["image_metrics", "main", "relative_differences"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_BELOW_THRESHOLD = 0, 2, 3
DEFAULT_THRESHOLD = 0.999
DEFAULT_OUTDIR = "xbragg-compare"
#: relative differences are taken on reference pixels above this fraction of its maximum
REL_FLOOR = 1e-6
REF_OUTPUT_FLAGS = ["-noprogress", "-nonoise", "-nopgm"]
#: what ``--c-parity`` adds to xbragg's FLAGS (never to the reference's)
C_PARITY_FLAGS = ["--c-parity"]
#: side of the zoomed crop around the largest difference (pixels) and its enlargement
ZOOM_SIZE, ZOOM_FACTOR = 64, 4


class CompareError(XbraggError):
    """Input that ``xbragg compare`` cannot use (missing reference, no flags, bad ROI...)."""


def relative_differences(ours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``|ours - ref| / |ref|`` (float64, flat) on the reference pixels whose magnitude is above
    REL_FLOOR times the reference's largest."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        big = np.abs(b) > REL_FLOOR * float(np.abs(b).max())
        return np.abs(a[big] - b[big]) / np.abs(b[big])


def image_metrics(ours: np.ndarray, ref: np.ndarray) -> dict:
    """Agreement of two images of one shape (float64 arithmetic)."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(ref, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    diff = a - b
    absdiff = np.abs(diff)
    with np.errstate(invalid="ignore", over="ignore"):
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            corr = math.nan
        elif a.std() == 0 or b.std() == 0:
            corr = 1.0 if np.array_equal(a, b) else 0.0
        else:
            corr = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
        rmse = float(np.sqrt(np.mean(diff * diff)))
        ref_max = float(np.abs(b).max())
    rel = relative_differences(a, b)
    at = np.unravel_index(int(np.nanargmax(absdiff)), a.shape) if np.isfinite(absdiff).any() else None
    sum_ours, sum_ref = float(a.sum()), float(b.sum())
    if sum_ref != 0:
        ratio = sum_ours / sum_ref
    else:
        ratio = 1.0 if sum_ours == 0 else math.inf
    return {
        "correlation": corr,
        "rmse": rmse,
        "max_abs_diff": float(np.nanmax(absdiff)) if at is not None else math.nan,
        "max_abs_diff_at_slow_fast": None if at is None else [int(at[0]), int(at[1])],
        "max_rel_diff": float(rel.max()) if rel.size else 0.0,
        "rel_pixels": int(rel.size),
        "rel_floor": REL_FLOOR * ref_max,
        "sum_ours": sum_ours,
        "sum_ref": sum_ref,
        "sum_ratio": ratio,
        "max_ours": float(a.max()),
        "max_ref": float(b.max()),
        "pixels": int(a.size),
    }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xbragg compare",
        usage="xbragg compare [--ref-bin PATH | --ref-float FILE] [--roi XMIN XMAX YMIN YMAX] "
              "[--threshold T] [--outdir DIR] [--timeout S] [--c-parity] [--log] [--percentile P] [-q] "
              "-- FLAGS...",
        description="Render FLAGS with xbragg and compare its float image with the reference "
                    "program's (run with the same FLAGS, or stored). Exit 0: correlation at or "
                    "above --threshold; 3: below; 2: bad input.")
    ref = p.add_mutually_exclusive_group()
    ref.add_argument("--ref-bin", metavar="PATH",
                     help="reference program to run (default: $NB_C_BIN)")
    ref.add_argument("--ref-float", metavar="FILE",
                     help="stored reference image: raw little-endian float32, or .gz")
    p.add_argument("--roi", nargs=4, type=int, metavar=("XMIN", "XMAX", "YMIN", "YMAX"),
                   help="compare only this inclusive box of fast (x) and slow (y) pixels")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, metavar="T",
                   help=f"lowest acceptable correlation (default {DEFAULT_THRESHOLD})")
    p.add_argument("--outdir", default=DEFAULT_OUTDIR, metavar="DIR",
                   help=f"where the images, previews and summary.json go (default {DEFAULT_OUTDIR})")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="give up on the reference program after S seconds")
    p.add_argument("--c-parity", action="store_true",
                   help="make xbragg reproduce the reference's known behaviours "
                        f"(adds {' '.join(C_PARITY_FLAGS)} to xbragg's flags only)")
    p.add_argument("--log", action="store_true",
                   help="previews on a log scale (3 decades below saturation) instead of linear")
    p.add_argument("--percentile", type=float, default=preview.PERCENTILE, metavar="P",
                   help="previews saturate at this percentile of the positive pixel values "
                        f"(default {preview.PERCENTILE:g})")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    return p


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def reference_flags(flags: list[str]) -> list[str]:
    """FLAGS without xbragg's own switches (``--name`` and its values), for the reference
    (:func:`xbragg.cli.parse.reference_argv`)."""
    from xbragg.cli.parse import reference_argv
    return reference_argv(flags)


def _reference_binary(path: str) -> str:
    found = shutil.which(path) if os.sep not in path else (path if os.path.isfile(path) else None)
    if not found:
        raise CompareError(f"reference program {path!r} not found")
    if not os.access(found, os.X_OK):
        raise CompareError(f"reference program {found} is not executable")
    return found


def _render_ours(flags: list[str], floatfile: str) -> tuple[float, str]:
    """Run xbragg on ``flags`` writing ``floatfile``; (seconds, what it printed)."""
    from xbragg.cli.main import run
    printed = io.StringIO()
    # -intfile too: xbragg, like the reference, writes the integer image on every run
    extra = (["-floatfile", floatfile] + REF_OUTPUT_FLAGS
             + ["-intfile", os.path.join(os.path.dirname(floatfile), "ours_int.img")])
    start = time.perf_counter()
    try:
        status = run(list(flags) + extra, out=printed)
    except XbraggError as exc:
        raise CompareError(f"xbragg: {exc}") from None
    except MemoryError:
        raise CompareError("xbragg: out of memory") from None
    seconds = time.perf_counter() - start
    if status != 0:
        raise CompareError(f"xbragg exited with status {status}")
    return seconds, printed.getvalue()


def _run_reference(binary: str, flags: list[str], outdir: str,
                   timeout: float | None) -> tuple[float, str, list[str], str]:
    """Run the reference program; (seconds, stdout, command, its OMP_NUM_THREADS)."""
    command = ([binary] + list(flags)
               + ["-floatfile", os.path.join(outdir, "ref_float.bin"),
                  "-intfile", os.path.join(outdir, "ref_int.img")] + REF_OUTPUT_FLAGS)
    # one thread unless the caller chose: with several, the reference's phi carry-over and
    # interpolation fall-back restart at each thread's first pixel (its firstprivate copies)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    start = time.perf_counter()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise CompareError(f"reference program ran past --timeout {timeout:g} s") from None
    except OSError as exc:
        raise CompareError(f"cannot run reference program {binary}: {exc.strerror or exc}") from None
    seconds = time.perf_counter() - start
    stdout = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0:
        tail = (done.stderr.decode("utf-8", "replace") or stdout).strip().splitlines()[-5:]
        raise CompareError(f"reference program exited with status {done.returncode}"
                           + (": " + " / ".join(tail) if tail else ""))
    return seconds, stdout, command, env["OMP_NUM_THREADS"]


def _inspect(flags: list[str]) -> tuple[int, int, tuple[int, int, int, int], list[ReferenceBehaviour]]:
    """Detector size, rendered box (inclusive x0 x1 y0 y1) and the reference behaviours of FLAGS.

    Only the options, headers, detector and schedules: no structure factors read, no
    Fdump.bin written, no mosaic built before the render does it all once.
    """
    from xbragg import options_from_flags
    from xbragg.setup.detector import detector_size
    from xbragg.setup.experiment import resolve_headers
    opts, _ = resolve_headers(options_from_flags(flags))
    fpixels, spixels = (int(n) for n in detector_size(opts)[:2])
    box = (0, fpixels - 1, 0, spixels - 1)
    if opts.roi is not None:
        xmin, xmax, ymin, ymax = opts.roi
        clipped = (xmin, min(xmax, fpixels - 1), ymin, min(ymax, spixels - 1))
        if clipped[0] <= clipped[1] and clipped[2] <= clipped[3]:
            box = clipped
    return fpixels, spixels, box, reference_behaviours(opts)


def _check_roi(roi: list[int] | None, fpixels: int, spixels: int) -> tuple[slice, slice] | None:
    if roi is None:
        return None
    xmin, xmax, ymin, ymax = roi
    if not (0 <= xmin <= xmax < fpixels and 0 <= ymin <= ymax < spixels):
        raise CompareError(f"--roi {xmin} {xmax} {ymin} {ymax} is not an inclusive box inside the "
                           f"{fpixels}x{spixels} image (0 <= XMIN <= XMAX < {fpixels}, "
                           f"0 <= YMIN <= YMAX < {spixels})")
    return slice(ymin, ymax + 1), slice(xmin, xmax + 1)


def _write_previews(outdir: str, ours: np.ndarray, ref: np.ndarray, rendered: tuple[int, int, int, int],
                    compared: tuple[slice, slice], *, log: bool, percentile: float) -> dict:
    """Write ref.png, ours.png, diff.png and zoom.png of the rendered region; their scales."""
    x0, x1, y0, y1 = rendered
    ref_r = ref[y0:y1 + 1, x0:x1 + 1].astype(np.float64)
    ours_r = ours[y0:y1 + 1, x0:x1 + 1].astype(np.float64)
    # one saturation for both, from the reference (from ours if the reference is blank)
    saturation = preview.saturation_level(ref_r, percentile) or preview.saturation_level(ours_r, percentile)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = ours_r - ref_r
    diff_scale = preview.saturation_level(np.abs(diff), percentile)
    ref_b = preview.brightness(ref_r, saturation, log=log)
    ours_b = preview.brightness(ours_r, saturation, log=log)
    diff_rgb = preview.diverging(diff, diff_scale)

    # the zoom centres on the largest difference inside the compared region (on the brightest
    # reference pixel when there is none), in the rendered region's pixel coordinates
    cy, cx = compared[0].start or 0, compared[1].start or 0
    with np.errstate(invalid="ignore", over="ignore"):
        region = np.abs(ours[compared].astype(np.float64) - ref[compared].astype(np.float64))
    finite = np.where(np.isfinite(region), region, -1.0)
    target = finite if finite.max() > 0 else np.where(np.isfinite(ref[compared]), ref[compared], -np.inf)
    s, f = np.unravel_index(int(np.argmax(target)), target.shape)
    slow = min(max(cy + int(s) - y0, 0), y1 - y0)
    fast = min(max(cx + int(f) - x0, 0), x1 - x0)
    zoom, (zx0, zx1, zy0, zy1) = preview.zoom_panels(ref_b, ours_b, diff_rgb, slow, fast, size=ZOOM_SIZE,
                                                     factor=ZOOM_FACTOR, origin=(x0, y0))
    scale = {
        "percentile": percentile,
        "log": log,
        "saturation": saturation,
        "diff_saturation": diff_scale,
        "region": {"xmin": x0, "xmax": x1, "ymin": y0, "ymax": y1},
        "zoom": {"xmin": zx0, "xmax": zx1, "ymin": zy0, "ymax": zy1, "factor": ZOOM_FACTOR},
    }
    grey = (f"black 0, white {saturation:.6g} and above ({percentile:g}th percentile of the "
            f"positive pixels, {'log' if log else 'linear'} scale)")
    paths = {name: os.path.join(outdir, f"{name}.png") for name in ("ref", "ours", "diff", "zoom")}
    region_text = f"fast {x0}..{x1}, slow {y0}..{y1}"
    write_png(paths["ref"], ref_b, {"Title": "reference " + region_text, "Comment": grey})
    write_png(paths["ours"], ours_b, {"Title": "xbragg " + region_text, "Comment": grey})
    write_png(paths["diff"], preview.with_colour_bar(diff_rgb, diff_scale),
              {"Title": "ours - ref " + region_text,
               "Comment": f"blue -{diff_scale:.6g}, white 0, red +{diff_scale:.6g} "
                          f"({percentile:g}th percentile of |ours - ref| above 0)"})
    write_png(paths["zoom"], zoom, {"Title": f"ref, ours, ours - ref: fast {zx0}..{zx1}, "
                                             f"slow {zy0}..{zy1}, x{ZOOM_FACTOR}",
                                    "Comment": grey})
    return {"paths": paths, "scale": scale}


def compare(flags: list[str], *, ref_bin: str | None = None, ref_float: str | None = None,
            roi: list[int] | None = None, threshold: float = DEFAULT_THRESHOLD,
            outdir: str = DEFAULT_OUTDIR, timeout: float | None = None, c_parity: bool = False,
            log: bool = False, percentile: float = preview.PERCENTILE) -> dict:
    """Render, fetch the reference, compare and write the outputs; returns the summary.

    ``c_parity`` adds :data:`C_PARITY_FLAGS` to xbragg's flags; ``log`` and ``percentile``
    set the previews' scale.  Raises :class:`CompareError` (or another
    :class:`XbraggError`) for bad input.
    """
    if not flags:
        raise CompareError("no FLAGS: give the simulation flags after --, e.g. "
                           "xbragg compare --ref-float float.bin -- -cell 100 100 100 90 90 90 ...")
    if not 0 < percentile <= 100:
        raise CompareError(f"--percentile must be above 0 and at most 100, got {percentile:g}")
    if ref_float is None and ref_bin is None:
        ref_bin = os.environ.get("NB_C_BIN") or None
        if ref_bin is None:
            raise CompareError("no reference: give --ref-bin PATH, --ref-float FILE, or set NB_C_BIN")
    if ref_float is not None and not os.path.isfile(ref_float):
        raise CompareError(f"--ref-float: {ref_float}: file does not exist")
    binary = _reference_binary(ref_bin) if ref_bin is not None else None
    ours_flags = list(flags) + (C_PARITY_FLAGS if c_parity else [])
    try:
        fpixels, spixels, rendered, behaviours = _inspect(ours_flags)
    except ArithmeticError as exc:
        raise CompareError(f"the flags lead to numbers out of range ({exc})") from None
    box = _check_roi(roi, fpixels, spixels)
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--outdir: cannot create {outdir}: {exc.strerror or exc}") from None

    ours_path = os.path.join(outdir, "ours_float.bin")
    ours_seconds, ours_stdout = _render_ours(ours_flags, ours_path)
    atomic_write_bytes(os.path.join(outdir, "ours_stdout.txt"), ours_stdout.encode())
    ours = read_float_image(ours_path, fpixels, spixels)

    if binary is not None:
        ref_seconds, ref_stdout, command, threads = _run_reference(binary, reference_flags(flags), outdir,
                                                                   timeout)
        atomic_write_bytes(os.path.join(outdir, "ref_stdout.txt"), ref_stdout.encode())
        ref_path = os.path.join(outdir, "ref_float.bin")
        try:
            ref = read_float_image(ref_path, fpixels, spixels)
        except InputError as exc:
            raise CompareError(f"reference program output: {exc}") from None
        reference = {"kind": "program", "program": binary, "command": command,
                     "omp_num_threads": threads, "float": ref_path, "runtime_s": ref_seconds}
    else:
        ref = read_float_image(ref_float, fpixels, spixels, flag="--ref-float")
        reference = {"kind": "stored", "float": ref_float, "runtime_s": None}

    region = (slice(None), slice(None)) if box is None else box
    m = image_metrics(ours[region], ref[region])
    corr = m["correlation"]
    passed = math.isfinite(corr) and corr >= threshold
    previews = _write_previews(outdir, ours, ref, rendered, region, log=log, percentile=percentile)
    summary = {
        "flags": list(flags),
        "ours_flags": ours_flags,
        "c_parity": c_parity,
        "fpixels": fpixels,
        "spixels": spixels,
        "roi": None if roi is None else {"xmin": roi[0], "xmax": roi[1], "ymin": roi[2], "ymax": roi[3]},
        "threshold": threshold,
        "passed": passed,
        **m,
        "runtime_ours_s": ours_seconds,
        "runtime_ref_s": reference["runtime_s"],
        "reference": reference,
        "ours": {"float": ours_path, "runtime_s": ours_seconds},
        "reference_behaviours": [asdict(b) for b in behaviours],
        "previews": previews["paths"],
        "preview_scale": previews["scale"],
    }
    payload = json.dumps(jsonable(summary), indent=1, allow_nan=False) + "\n"
    atomic_write_bytes(os.path.join(outdir, "summary.json"), payload.encode())
    return summary


def _g(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.9g}"


def behaviour_line(b: dict) -> str:
    """One line naming a reference behaviour (a ``reference_behaviours`` item of the summary)."""
    if b["reproduced"]:
        tail = "xbragg's run reproduces it"
    else:
        tail = f"rerun with {b['switch']} to reproduce it"
    return f"reference behaviour {b['name']}: {b['explanation']}; {tail}"


def verdict_line(s: dict) -> str:
    """PASS/FAIL with the correlation; on FAIL, the known behaviours that xbragg did not reproduce."""
    line = (("PASS" if s["passed"] else "FAIL") + f": correlation {_g(s['correlation'])} "
            + (">=" if s["passed"] else "<") + f" threshold {s['threshold']:g}")
    open_items = [b["name"] for b in s["reference_behaviours"] if not b["reproduced"]]
    if not s["passed"] and open_items:
        line += (f" (known reference behaviour{'s' if len(open_items) > 1 else ''} "
                 f"{', '.join(open_items)} not reproduced"
                 + ("" if s["c_parity"] else ": rerun with --c-parity") + ")")
    return line


def format_summary(s: dict) -> str:
    """The printed report: metrics, previews, reference behaviours, and the verdict last."""
    where = "" if s["roi"] is None else " in roi x {xmin}..{xmax}, y {ymin}..{ymax}".format(**s["roi"])
    ref_rt = "n/a (stored)" if s["runtime_ref_s"] is None else f"{s['runtime_ref_s']:.3f} s"
    ps = s["preview_scale"]
    zoom = ps["zoom"]
    lines = [
        f"image {s['fpixels']}x{s['spixels']}, {s['pixels']} pixels compared{where}",
        f"correlation   {_g(s['correlation'])}",
        f"rmse          {_g(s['rmse'])}",
        f"max abs diff  {_g(s['max_abs_diff'])} at (slow, fast) {s['max_abs_diff_at_slow_fast']}",
        f"max rel diff  {_g(s['max_rel_diff'])} on {s['rel_pixels']} pixels above {_g(s['rel_floor'])}",
        f"sum ours/ref  {_g(s['sum_ours'])} / {_g(s['sum_ref'])} = {_g(s['sum_ratio'])}",
        f"runtime       ours {s['runtime_ours_s']:.3f} s, reference {ref_rt}",
        f"previews      ref/ours white at {ps['saturation']:.4g} ({'log' if ps['log'] else 'linear'}), "
        f"diff red/blue at +/-{ps['diff_saturation']:.4g} ({ps['percentile']:g}th percentiles); "
        f"zoom fast {zoom['xmin']}..{zoom['xmax']}, slow {zoom['ymin']}..{zoom['ymax']}",
    ]
    lines += [behaviour_line(b) for b in s["reference_behaviours"]]
    lines.append(verdict_line(s))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``xbragg compare [options] -- FLAGS...``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    own, flags = _split(argv)
    try:
        args = _parser().parse_args(own)
    except SystemExit as exc:          # -h (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        summary = compare(flags, ref_bin=args.ref_bin, ref_float=args.ref_float, roi=args.roi,
                          threshold=args.threshold, outdir=args.outdir, timeout=args.timeout,
                          c_parity=args.c_parity, log=args.log, percentile=args.percentile)
    except XbraggError as exc:
        sys.stderr.write(f"xbragg compare: error: {exc}\n")
        return EXIT_BAD_INPUT
    sys.stdout.write(verdict_line(summary) + "\n" if args.quiet else format_summary(summary))
    return EXIT_OK if summary["passed"] else EXIT_BELOW_THRESHOLD


if __name__ == "__main__":
    sys.exit(main())
