"""Whole commands as users type them, side by side with the reference: process start to exit, files written.

    python benchmarks/commands.py [--repeats N] [--cases a,b] [--torch] [--json out.json]

Each golden case runs as the golden suite runs it (its flags plus ``-floatfile``,
``-nonoise -nopgm`` and, for xbragg, ``-noprogress``) in a scratch directory holding the
golden inputs, ``Fdump.bin`` removed before every run.  xbragg and the reference (the
binary ``NB_C_BIN`` names; skipped without it) alternate, ``--repeats`` times each; the
table gives the best wall time of each, their ratio (reference / xbragg: above 1 means
xbragg is faster) and each process's peak resident memory.  ``--torch`` adds xbragg with
``--backend torch --compile on``: its first run with PyTorch's compile caches cleared (cold)
and the best of the later ones (warm, the caches reused).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference"   # the golden flags and inputs
#: the golden suite's own output flags (golden/README.md, "Every run adds")
ADDED = ["-floatfile", "float.bin", "-nonoise", "-nopgm"]


def _cases(names: list[str] | None) -> dict[str, str]:
    """Case name -> flags: the full frame and every 128x128-or-smaller float case."""
    cases = json.loads((REFERENCE / "cases.json").read_text())
    chosen = {c["name"]: c["args"] for c in cases
              if c["name"] == "supervisor_full"
              or (c["fpixels"] * c["spixels"] <= 128 * 128 and not c["name"].startswith("outputs_"))}
    if names:
        unknown = set(names) - set(chosen)
        if unknown:
            raise SystemExit(f"unknown case(s) {', '.join(sorted(unknown))}; known: {', '.join(chosen)}")
        chosen = {k: v for k, v in chosen.items() if k in names}
    return chosen


def _timed(cmd: list[str], cwd: str, env: dict) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one command run to completion."""
    if os.path.exists(os.path.join(cwd, "Fdump.bin")):
        os.remove(os.path.join(cwd, "Fdump.bin"))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.read().decode()}")
    proc.stderr.close()
    return wall, usage.ru_maxrss / 1024


def _clear_torch_caches() -> None:
    """Remove PyTorch's on-disk compile caches (inductor's, under the temporary directory)."""
    import getpass
    shutil.rmtree(Path(tempfile.gettempdir()) / f"torchinductor_{getpass.getuser()}", ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cases", help="comma-separated case names (default: the full frame and the small cases)")
    ap.add_argument("--torch", action="store_true", help="also xbragg --backend torch --compile on")
    ap.add_argument("--json", default="commands.json")
    ns = ap.parse_args()
    cases = _cases(ns.cases.split(",") if ns.cases else None)
    xbragg_cmd = [sys.executable, "-m", "xbragg"]
    ref_bin = os.environ.get("NB_C_BIN")
    env = dict(os.environ)
    ref_env = {**env, "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1")}
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for f in (REFERENCE / "inputs").iterdir():
            shutil.copy(f, Path(work) / f.name)
        for name, args in cases.items():
            flags = args.split() + ADDED
            row = {"case": name}
            runs = {"xbragg": [], "reference": []}
            for _ in range(ns.repeats):
                runs["xbragg"].append(_timed([*xbragg_cmd, *flags, "-noprogress"], work, env))
                if ref_bin:
                    runs["reference"].append(_timed([ref_bin, *flags], work, ref_env))
            if ns.torch:
                _clear_torch_caches()
                torch_cmd = [*xbragg_cmd, *flags, "-noprogress", "--backend", "torch", "--compile", "on"]
                runs["torch_cold"] = [_timed(torch_cmd, work, env)]
                runs["torch_warm"] = [_timed(torch_cmd, work, env) for _ in range(ns.repeats)]
            for what, measured in runs.items():
                if measured:
                    row[f"{what}_s"] = min(w for w, _ in measured)
                    row[f"{what}_peak_mb"] = max(m for _, m in measured)
            if "reference_s" in row:
                for what in ("xbragg", "torch_warm"):
                    if f"{what}_s" in row:
                        row[f"{what}_ratio"] = row["reference_s"] / row[f"{what}_s"]
            rows.append(row)
            print(json.dumps(row), flush=True)
    machine = {"platform": platform.platform(), "python": sys.version.split()[0], "cpus": os.cpu_count(),
               "reference": ref_bin, "repeats": ns.repeats}
    Path(ns.json).write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"{'case':34} {'xbragg s':>9} {'ref s':>8} {'ratio':>6} {'MB':>6} {'ref MB':>7}")
    for r in rows:
        print(f"{r['case']:34} {r['xbragg_s']:9.3f} {r.get('reference_s', float('nan')):8.3f} "
              f"{r.get('xbragg_ratio', float('nan')):6.2f} {r['xbragg_peak_mb']:6.0f} "
              f"{r.get('reference_peak_mb', float('nan')):7.0f}")


if __name__ == "__main__":
    main()
