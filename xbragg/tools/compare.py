"""``xbragg compare [options] -- FLAGS...``: xbragg's float image against the reference's.

Renders FLAGS with xbragg (in this process, in the current directory so that relative input
paths work; the float image goes to ``OUTDIR/ours_float.bin``, the integer image, where
written, to ``OUTDIR/ours_int.img``) and takes the reference image
either by running the reference program (``--ref-bin`` or the environment variable
``NB_C_BIN``; same FLAGS plus ``-floatfile OUTDIR/ref_float.bin -intfile OUTDIR/ref_int.img
-noprogress -nonoise -nopgm``) or from a stored raw float32 image (``--ref-float``, ``.gz``
allowed; its size is the one FLAGS give).

Writes ``OUTDIR/summary.json`` (correlation, RMSE, largest absolute and relative difference,
both sums and their ratio, both runtimes) and greyscale previews ``ref.png``, ``ours.png`` (same
log scale) and ``diff.png`` (``|ours - ref|``, log scale). ``--roi xmin xmax ymin ymax``
(inclusive fast/slow pixel box) restricts the metrics. Exit status 3 when the correlation is
below ``--threshold``, 2 on bad input, 0 otherwise.
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

import numpy as np

from xbragg.errors import InputError, OutputError, XbraggError
from xbragg.io.atomic import atomic_write_bytes
from xbragg.io.rawfloat import read_float_image
from xbragg.tools.png import log_scale, write_gray8
from xbragg.tools.trace_diff import jsonable

__all__ = ["image_metrics", "main", "relative_differences"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_BELOW_THRESHOLD = 0, 2, 3
DEFAULT_THRESHOLD = 0.999
DEFAULT_OUTDIR = "xbragg-compare"
#: relative differences are taken on reference pixels above this fraction of its maximum
REL_FLOOR = 1e-6
REF_OUTPUT_FLAGS = ["-noprogress", "-nonoise", "-nopgm"]


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
              "[--threshold T] [--outdir DIR] -- FLAGS...",
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
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"lowest acceptable correlation (default {DEFAULT_THRESHOLD})")
    p.add_argument("--outdir", default=DEFAULT_OUTDIR,
                   help=f"where the images, previews and summary.json go (default {DEFAULT_OUTDIR})")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="give up on the reference program after S seconds")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    return p


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


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
                   timeout: float | None) -> tuple[float, str, list[str]]:
    """Run the reference program; (seconds, stdout, command)."""
    command = ([binary] + list(flags)
               + ["-floatfile", os.path.join(outdir, "ref_float.bin"),
                  "-intfile", os.path.join(outdir, "ref_int.img")] + REF_OUTPUT_FLAGS)
    start = time.perf_counter()
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, check=False)
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
    return seconds, stdout, command


def _image_size(flags: list[str]) -> tuple[int, int]:
    # the detector's size only (flags and -img/-mask headers): no structure factors read,
    # no Fdump.bin written, no mosaic built before the render does it all once
    from xbragg import options_from_flags
    from xbragg.setup.detector import detector_size
    from xbragg.setup.experiment import resolve_headers
    opts, _ = resolve_headers(options_from_flags(flags))
    fpixels, spixels = detector_size(opts)[:2]
    return int(fpixels), int(spixels)


def _check_roi(roi: list[int] | None, fpixels: int, spixels: int) -> tuple[slice, slice] | None:
    if roi is None:
        return None
    xmin, xmax, ymin, ymax = roi
    if not (0 <= xmin <= xmax < fpixels and 0 <= ymin <= ymax < spixels):
        raise CompareError(f"--roi {xmin} {xmax} {ymin} {ymax} is not an inclusive box inside the "
                           f"{fpixels}x{spixels} image (0 <= XMIN <= XMAX < {fpixels}, "
                           f"0 <= YMIN <= YMAX < {spixels})")
    return slice(ymin, ymax + 1), slice(xmin, xmax + 1)


def _write_previews(outdir: str, ours: np.ndarray, ref: np.ndarray) -> dict[str, str]:
    finite = [float(np.nanmax(np.where(np.isfinite(x), x, np.nan))) if np.isfinite(x).any() else 0.0
              for x in (ours, ref)]
    vmax = max(finite)
    diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    dmax = float(diff[np.isfinite(diff)].max()) if np.isfinite(diff).any() else 0.0
    paths = {name: os.path.join(outdir, f"{name}.png") for name in ("ref", "ours", "diff")}
    write_gray8(paths["ref"], log_scale(ref, vmax))
    write_gray8(paths["ours"], log_scale(ours, vmax))
    write_gray8(paths["diff"], log_scale(diff, dmax))
    return paths


def compare(flags: list[str], *, ref_bin: str | None = None, ref_float: str | None = None,
            roi: list[int] | None = None, threshold: float = DEFAULT_THRESHOLD,
            outdir: str = DEFAULT_OUTDIR, timeout: float | None = None) -> dict:
    """Render, fetch the reference, compare and write the outputs; returns the summary.

    Raises :class:`CompareError` (or another :class:`XbraggError`) for bad input.
    """
    if not flags:
        raise CompareError("no FLAGS: give the simulation flags after --, e.g. "
                           "xbragg compare --ref-float float.bin -- -cell 100 100 100 90 90 90 ...")
    if ref_float is None and ref_bin is None:
        ref_bin = os.environ.get("NB_C_BIN") or None
        if ref_bin is None:
            raise CompareError("no reference: give --ref-bin PATH, --ref-float FILE, or set NB_C_BIN")
    if ref_float is not None and not os.path.isfile(ref_float):
        raise CompareError(f"--ref-float: {ref_float}: file does not exist")
    binary = _reference_binary(ref_bin) if ref_bin is not None else None
    try:
        fpixels, spixels = _image_size(flags)
    except ArithmeticError as exc:
        raise CompareError(f"the flags lead to numbers out of range ({exc})") from None
    box = _check_roi(roi, fpixels, spixels)
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--outdir: cannot create {outdir}: {exc.strerror or exc}") from None

    ours_path = os.path.join(outdir, "ours_float.bin")
    ours_seconds, ours_stdout = _render_ours(flags, ours_path)
    atomic_write_bytes(os.path.join(outdir, "ours_stdout.txt"), ours_stdout.encode())
    ours = read_float_image(ours_path, fpixels, spixels)

    if binary is not None:
        ref_seconds, ref_stdout, command = _run_reference(binary, flags, outdir, timeout)
        atomic_write_bytes(os.path.join(outdir, "ref_stdout.txt"), ref_stdout.encode())
        ref_path = os.path.join(outdir, "ref_float.bin")
        try:
            ref = read_float_image(ref_path, fpixels, spixels)
        except InputError as exc:
            raise CompareError(f"reference program output: {exc}") from None
        reference = {"kind": "program", "program": binary, "command": command,
                     "float": ref_path, "runtime_s": ref_seconds}
    else:
        ref = read_float_image(ref_float, fpixels, spixels, flag="--ref-float")
        reference = {"kind": "stored", "float": ref_float, "runtime_s": None}

    region = (slice(None), slice(None)) if box is None else box
    m = image_metrics(ours[region], ref[region])
    corr = m["correlation"]
    passed = math.isfinite(corr) and corr >= threshold
    previews = _write_previews(outdir, ours, ref)
    summary = {
        "flags": list(flags),
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
        "previews": previews,
    }
    payload = json.dumps(jsonable(summary), indent=1, allow_nan=False) + "\n"
    atomic_write_bytes(os.path.join(outdir, "summary.json"), payload.encode())
    return summary


def _g(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.9g}"


def format_summary(s: dict) -> str:
    where = "" if s["roi"] is None else " in roi x {xmin}..{xmax}, y {ymin}..{ymax}".format(**s["roi"])
    ref_rt = "n/a (stored)" if s["runtime_ref_s"] is None else f"{s['runtime_ref_s']:.3f} s"
    lines = [
        f"image {s['fpixels']}x{s['spixels']}, {s['pixels']} pixels compared{where}",
        f"correlation   {_g(s['correlation'])}",
        f"rmse          {_g(s['rmse'])}",
        f"max abs diff  {_g(s['max_abs_diff'])} at (slow, fast) {s['max_abs_diff_at_slow_fast']}",
        f"max rel diff  {_g(s['max_rel_diff'])} on {s['rel_pixels']} pixels above {_g(s['rel_floor'])}",
        f"sum ours/ref  {_g(s['sum_ours'])} / {_g(s['sum_ref'])} = {_g(s['sum_ratio'])}",
        f"runtime       ours {s['runtime_ours_s']:.3f} s, reference {ref_rt}",
        ("PASS" if s["passed"] else "FAIL") + f": correlation {_g(s['correlation'])} "
        + (">=" if s["passed"] else "<") + f" threshold {s['threshold']:g}",
    ]
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
                          threshold=args.threshold, outdir=args.outdir, timeout=args.timeout)
    except XbraggError as exc:
        sys.stderr.write(f"xbragg compare: error: {exc}\n")
        return EXIT_BAD_INPUT
    text = format_summary(summary)
    sys.stdout.write(text.splitlines()[-1] + "\n" if args.quiet else text)
    return EXIT_OK if summary["passed"] else EXIT_BELOW_THRESHOLD


if __name__ == "__main__":
    sys.exit(main())
