"""Throughput and peak memory of xbragg renders, side by side with the reference when given.

    python benchmarks/run.py [--quick] [--cases a,b] [--backends numpy:float64,...] [--json out.json]

Each (case, backend, dtype) runs in its own subprocess so that peak resident
memory (ru_maxrss) is per run; it reports the set-up time, the first render
(imports and, for PyTorch, kernel compilation) and a second, steady-state render,
whose throughput is the figure compared.  With NB_C_BIN naming a reference nanoBragg
binary, the reference is timed on the same flags in the same script and the
ratio reported.  Results go to JSON with a machine description.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "reference"   # the golden cases' flags and inputs

CASES = {
    "cubic_1024": "-cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -default_F 100 -distance 100 -detpixels 1024",
    "triclinic_mosaic10_phi10_os2_512": "-cell 70 80 90 75 85 95 -lambda 1.5 -N 5 -default_F 100 "
                                        "-distance 100 -detpixels 512 -phi 0 -osc 1 -phisteps 10 "
                                        "-oversample 2 -misset 10 20 30 -mosaic 0.5 -mosaic_dom 10",
    "tricubic_512": "-cell 70 80 90 75 85 95 -hkl grid8.hkl -lambda 1.5 -N 2 -distance 100 -detpixels 512 "
                    "-interpolate",
    "div_disp_3x3x3_512": "-cell 100 100 100 90 90 90 -lambda 1.0 -N 5 -default_F 100 -distance 100 "
                          "-detpixels 512 -hdivrange 0.5 -vdivrange 0.5 -hdivsteps 3 -vdivsteps 3 "
                          "-square_div -dispersion 1 -dispsteps 3",
    "scaling_512": "-cell 70 80 90 75 85 95 -lambda 1.5 -N 5 -default_F 100 -distance 100 -detpixels 512 "
                   "-phi 0 -osc 1 -phisteps 4",
    "scaling_2048": "-cell 70 80 90 75 85 95 -lambda 1.5 -N 5 -default_F 100 -distance 100 -detpixels 2048 "
                    "-phi 0 -osc 1 -phisteps 4",
}
QUICK = {"cubic_256": "-cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -default_F 100 -distance 100 -detpixels 256"}


#: issue 15's mosaic scaling: cubic 1024 x 1024, N 5, 1 to 1000 domains (``--mosaic``)
MOSAIC = {f"mosaic_{d}_1024": ("-cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -default_F 100 -distance 100 "
                               f"-detpixels 1024 -mosaic 0.5 -mosaic_dom {d}")
          for d in (1, 10, 100, 1000)}


def supervisor_args() -> str:
    cases = json.loads((GOLDEN / "cases.json").read_text())
    return next(c for c in cases if c["name"] == "supervisor_full")["args"]


def _child(args: str, backend: str, dtype: str, compile_mode: str = "auto") -> None:
    """One (case, backend, dtype) in a fresh process: set-up, first and steady render, peak memory."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import xbragg
    t0 = time.perf_counter()
    exp = xbragg.build_experiment(xbragg.options_from_flags(args.split()))
    t1 = time.perf_counter()
    compile_arg = {"on": True, "off": False}.get(compile_mode)
    xbragg.render(exp, backend=backend, dtype=dtype, compile=compile_arg)   # first: imports, compilation
    t2 = time.perf_counter()
    xbragg.render(exp, backend=backend, dtype=dtype, compile=compile_arg)   # steady state
    t3 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # forked NumPy workers: the largest one's peak (it shares most pages with this process)
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"setup_s": t1 - t0, "first_render_s": t2 - t1, "render_s": t3 - t2,
                      "peak_rss_mb": peak_mb, "peak_rss_worker_mb": child_mb}))


def _tree_memory_mb(pid: int) -> tuple[float, float]:
    """(PSS, RSS) in MB of process ``pid`` and all its descendants, from /proc (Linux).

    PSS shares each page among the processes mapping it, so forked workers are not
    counted twice; the RSS sum counts shared pages once per process (an upper bound).
    """
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    pss = rss = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1])
        except OSError:
            pass
    return pss / 1024, rss / 1024


def _run_child(cmd: list[str], cwd: str) -> dict:
    """Run one measuring child, sampling its process tree's memory every 0.25 s (reading smaps costs the child time)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_pss = peak_rss = 0.0
    while proc.poll() is None:
        pss, rss = _tree_memory_mb(proc.pid)
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.25)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err}")
    m = json.loads(out.strip().splitlines()[-1])
    if Path("/proc/self/smaps_rollup").exists():
        m["peak_tree_pss_mb"], m["peak_tree_rss_sum_mb"] = peak_pss, peak_rss
    return m


def _pixels(args: str) -> int:
    toks = args.split()
    if "-detpixels" in toks:
        n = int(toks[toks.index("-detpixels") + 1])
        return n * n
    return int(toks[toks.index("-detpixels_x") + 1]) * int(toks[toks.index("-detpixels_y") + 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small case, NumPy only")
    ap.add_argument("--json", default="benchmark.json")
    ap.add_argument("--backends", default="numpy:float64,torch:float64,torch:float64:on,torch:float32:on",
                    help="backend:dtype[:compile on|off|auto] list")
    ap.add_argument("--cases", help="comma-separated case names (default: all)")
    ap.add_argument("--mosaic", action="store_true", help="the mosaic-scaling cases (1 to 1000 domains) instead")
    ns = ap.parse_args()
    cases = dict(QUICK) if ns.quick else {"supervisor_full": supervisor_args(), **CASES}
    if ns.mosaic:
        cases = dict(MOSAIC)
    if ns.cases:
        unknown = set(ns.cases.split(",")) - set(cases)
        if unknown:
            ap.error(f"unknown case(s) {', '.join(sorted(unknown))}; known: {', '.join(cases)}")
        cases = {k: v for k, v in cases.items() if k in ns.cases.split(",")}
    combos = [("numpy", "float64")] if ns.quick else [tuple(b.split(":")) for b in ns.backends.split(",")]
    ref_bin = os.environ.get("NB_C_BIN")
    results = []
    with tempfile.TemporaryDirectory() as work:
        for f in (GOLDEN / "inputs").iterdir():
            shutil.copy(f, Path(work) / f.name)
        for name, args in cases.items():
            npix = _pixels(args)
            row = {"case": name, "pixels": npix}
            if ref_bin:
                t0 = time.perf_counter()
                subprocess.run([ref_bin, *args.split(), "-floatfile", "ref.bin", "-intfile", "ref.img",
                                "-noprogress", "-nonoise", "-nopgm"], cwd=work, check=True, capture_output=True)
                row["reference_wall_s"] = time.perf_counter() - t0
            for combo in combos:
                backend, dtype, compile_mode = (list(combo) + ["auto"])[:3]
                m = _run_child([sys.executable, __file__, "--child", args, backend, dtype, compile_mode], work)
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "xbragg", *args.split(), "-floatfile", "cli.bin",
                                "-intfile", "cli.img", "-noprogress", "-nonoise", "-nopgm",
                                "--backend", backend, "--dtype", dtype, "--compile", compile_mode],
                               cwd=work, check=True, capture_output=True)
                m["cli_wall_s"] = time.perf_counter() - t0      # whole command, as a user runs it
                key = f"{backend}_{dtype}" + ("" if compile_mode == "auto" else f"_compile_{compile_mode}")
                row[key] = {**m, "pixels_per_s": npix / m["render_s"]}
                if ref_bin:
                    row[key]["throughput_vs_reference"] = row["reference_wall_s"] / m["render_s"]
                    row[key]["first_render_vs_reference"] = row["reference_wall_s"] / m["first_render_s"]
                    row[key]["cli_vs_reference"] = row["reference_wall_s"] / m["cli_wall_s"]
                print(name, key, json.dumps(row[key]), flush=True)
            results.append(row)
    machine = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    Path(ns.json).write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"wrote {ns.json}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:6])
    else:
        main()
