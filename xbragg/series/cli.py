"""``xbragg series``: a rotation sweep or stills from nanoBragg flags, here or on Dask.

The series options below are taken out of the arguments; everything else is read as
a single run's flags (``xbragg -h``).  See docs/series.md.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

from ..backends import BackendError
from ..cli.progress import progress_for
from ..cli.report import print_notes
from ..errors import InputError, XbraggError
from ..memory import default_memory_limit_bytes
from ..outputs import OutputPlan, check_format_outputs, hkl_cache
from ..render import DEFAULT_MEMORY_BUDGET_BYTES
from ..setup.experiment import build_experiment
from .execute import ClusterSettings, dask_available
from .files import FrameFormats
from .frame import RenderSettings
from .plan import DEFAULT_ORIENTATION_SEED
from .run import Series

__all__ = ["main", "SERIES_OPTIONS", "usage"]


@dataclass(frozen=True)
class Option:
    """One series option: its value's kind ("int", "float", "str", or "" for none) and help."""

    name: str
    kind: str
    help: str
    choices: tuple[str, ...] = ()


SERIES_OPTIONS = {o.name: o for o in (
    Option("--frames", "int", "N: a rotation sweep of N frames; frame i starts at -phi + i*osc and covers -osc "
                              "with the given -phisteps"),
    Option("--stills", "int", "N: N stills, each with a uniformly random crystal orientation"),
    Option("--orientation-seed", "int", f"S: base seed of the stills' orientations and of the fluence jitter "
                                        f"(default {DEFAULT_ORIENTATION_SEED})"),
    Option("--noise-seeds", "str", "per-frame (default: each frame's noise seed derived from -seed and its "
                                   "number) or same (every frame uses -seed)", ("per-frame", "same")),
    Option("--mosaic-seeds", "str", "same (default: the mosaic domains of -mosaic_seed in every frame) or "
                                    "per-frame (each frame's own, derived from -mosaic_seed)", ("same", "per-frame")),
    Option("--fluence-jitter", "float", "F: per-frame fluence scale, log-normal with mean 1 and log-sigma F"),
    Option("--manifest", "str", "FILE: the manifest (default: beside the first output, NAME_manifest.jsonl)"),
    Option("--workers", "str", "N or auto: 1 (default) renders here; more start a Dask LocalCluster of N "
                               "worker processes (auto: one per core, or per GPU with --device cuda)"),
    Option("--scheduler", "str", "ADDRESS: render on an existing Dask cluster (tcp://host:8786)"),
    Option("--in-flight", "int", "N: frames submitted to Dask at once (default: twice the workers)"),
    Option("--retries", "int", "N: times a failed frame is tried again on Dask (default 2)"),
    Option("--on-error", "str", "stop (default) or skip: what a frame that fails does to the run",
           ("stop", "skip")),
)}

#: the settings of a single run's per-frame output flags (each a FrameFormats field of that name)
_OUTPUTS = ("floatfile", "intfile", "cbffile", "noisefile", "pgmfile")


def usage() -> str:
    """``xbragg series -h``."""
    lines = ["usage: xbragg series (--frames N | --stills N) [series options] FLAGS...",
             "  FLAGS: a single run's nanoBragg flags (xbragg -h); per-frame files are named from",
             "  -floatfile, -intfile, -cbf, -noisefile, -pgmfile: -floatfile sweep.bin -> sweep_00001.bin ...;",
             "  -nexus FILE holds the whole series (the noise images with -nexus_counts).",
             "  Re-running the same command resumes: frames already written are skipped.", "",
             "series options:"]
    for o in SERIES_OPTIONS.values():
        lines.append(f"  {o.name}\n      {o.help}")
    return "\n".join(lines) + "\n"


def _split(argv: list[str]) -> tuple[dict, list[str]]:
    """(series option values by name, the other arguments)."""
    own: dict = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        option = SERIES_OPTIONS.get(token)
        if option is None:
            if token != "--":
                rest.append(token)
            i += 1
            continue
        if i + 1 >= len(argv):
            raise InputError("expects a value", flag=token)
        text = argv[i + 1]
        try:
            value = {"int": int, "float": float, "str": str}[option.kind](text)
        except ValueError:
            raise InputError(f"expected {'an integer' if option.kind == 'int' else 'a number'}, got {text!r}",
                             flag=token) from None
        if option.choices and value not in option.choices:
            raise InputError(f"expected one of {', '.join(option.choices)}, got {text!r}", flag=token)
        own[token] = value
        i += 2
    return own, rest


def _workers(text: str | None) -> int | None:
    if text is None:
        return 1
    if text == "auto":
        return None
    if not text.isdigit() or int(text) < 1:
        raise InputError(f"expected a positive whole number or 'auto', got {text!r}", flag="--workers")
    return int(text)


def build_series(argv: list[str], out: TextIO) -> tuple[Series, dict, dict]:
    """The :class:`Series` of a command line; also the series options and the run settings."""
    from ..cli.main import _check_backend
    from ..cli.parse import parse_args
    from . import series

    own, rest = _split(argv)
    parsed = parse_args(rest)
    options, settings = parsed.options, parsed.settings
    formats = FrameFormats(
        **{key: settings[key] for key in _OUTPUTS
           if key in settings and not (key == "noisefile" and settings.get("nonoise"))},
        scale=float(settings.get("scale", 0.0)), pgmscale=float(settings.get("pgmscale", 0.0)),
        adc=float(settings.get("adc", 40.0)), seed=int(settings.get("seed", 1)),
        smv_adc_offset=bool(settings.get("smv_adc_offset", False)))
    nexus = settings.get("nexusfile")
    if not formats.templates() and nexus is None:
        raise InputError("name the outputs of the frames: -floatfile, -intfile, -cbf, -noisefile, -pgmfile "
                         "(each frame gets NAME_00001.EXT ...) or -nexus FILE (the whole series)")
    if settings.get("nexus_counts") and nexus is None:
        raise InputError("needs -nexus FILE: it chooses what the NXmx file holds", flag="-nexus_counts")
    if "exptfile" in settings:
        raise InputError("xbragg series does not write an experiment list yet; write one with a single run "
                         "(the geometry is every frame's)", flag="--write-expt")
    if options.misset_random and options.misset_seed is None:
        options = options.updated(misset_seed=DEFAULT_ORIENTATION_SEED)   # reproducible, so resumable
    _check_backend(settings)
    limit = (int(settings["memory_limit_gib"] * 2**30) if "memory_limit_gib" in settings
             else default_memory_limit_bytes())
    exp = build_experiment(options, explicit=parsed.explicit, memory_limit_bytes=limit,
                           hkl_cache=hkl_cache(settings))
    if len(exp.detector) > 1:
        raise InputError(f"xbragg series renders one-panel detectors; this one has {len(exp.detector)} panels")
    check_format_outputs(exp, OutputPlan(nexusfile=nexus, cbffile=formats.cbffile))
    render_settings = RenderSettings(
        backend=settings.get("backend", "numpy"), device=settings.get("device"),
        dtype=settings.get("dtype", "float64"),
        memory_budget_bytes=int(settings.get("memory_budget_mib", DEFAULT_MEMORY_BUDGET_BYTES / 2**20) * 2**20),
        compile={"on": True, "off": False}.get(settings.get("compile", "auto")), c_parity=options.c_parity)
    seed = own.get("--orientation-seed", DEFAULT_ORIENTATION_SEED)
    noise_seed = formats.seed if own.get("--noise-seeds", "per-frame") == "per-frame" else None
    mosaic_seed = None
    if own.get("--mosaic-seeds") == "per-frame":
        mosaic_seed = options.mosaic_seed if options.mosaic_seed is not None else 12345678
    workers = _workers(own.get("--workers"))
    scheduler = own.get("--scheduler")
    if not dask_available():
        if scheduler:
            raise InputError("needs dask.distributed: pip install 'xbragg[dask]'", flag="--scheduler")
        out.write("note: dask.distributed is not installed: rendering in this process; "
                  "pip install 'xbragg[dask]' to spread frames over workers (--workers, --scheduler)\n")
        workers = 1
    cluster = ClusterSettings(workers=workers, scheduler=scheduler, in_flight=own.get("--in-flight"),
                              retries=own.get("--retries", 2))
    planned = series(options, experiment=exp, frames=own.get("--frames"), stills=own.get("--stills"),
                     orientation_seed=seed, noise_seed=noise_seed, mosaic_seed=mosaic_seed,
                     fluence_jitter=own.get("--fluence-jitter", 0.0), formats=formats, nexus=nexus,
                     nexus_counts=bool(settings.get("nexus_counts", False)), manifest=own.get("--manifest"),
                     settings=render_settings, cluster=cluster)
    planned.command = list(argv)
    print_notes(list(parsed.notes) + list(exp.notes), out)
    return planned, own, settings


def run(argv: list[str], out: TextIO | None = None) -> int:
    """Run ``xbragg series ARGV``; returns the exit status (1 when frames were skipped after failing)."""
    out = out or sys.stdout
    if any(a in ("-h", "--help", "-help") for a in argv):
        out.write(usage())
        return 0
    series, own, settings = build_series(argv, out)
    plan = series.plan
    out.write(f"series: {plan.kind} of {len(plan)} frames, plan {plan.digest}\n")
    start = time.monotonic()
    report = series.run(on_error=own.get("--on-error", "stop"),
                        progress=progress_for(settings.get("progress", True), unit="frames"),
                        notify=lambda line: out.write(line + "\n"))
    elapsed = time.monotonic() - start
    rate = report.rendered / elapsed if elapsed > 0 else 0.0
    out.write(f"series: {report.rendered} frames rendered ({rate:.2f} frames/s), {report.skipped} already "
              f"written" + (f", {len(report.failed)} failed: {report.failed}" if report.failed else "") + "\n")
    return 1 if report.failed else 0


def main(argv: list[str] | None = None) -> int:
    """``xbragg series`` entry point: errors are one line on stderr, status 2; Ctrl-C status 130."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(argv)
    except KeyboardInterrupt:
        sys.stderr.write("xbragg series: interrupted; run the same command again to render the missing frames\n")
        return 130
    except (XbraggError, BackendError) as exc:
        sys.stderr.write(f"xbragg series: error: {exc}\n")
        return 2
