"""Throughput of ``xbragg series``: frames per second on 1 and 2 Dask workers, per-frame overhead,
and one series against as many separate ``xbragg`` commands.

    python benchmarks/series.py [--frames 20] [--commands 100] [--json out.json]

- ``here``: the series rendered in this process (``--workers 1``, the default), whose
  NumPy renderer spreads each frame's tiles over every core;
- ``dask-1``, ``dask-2``: a LocalCluster of 1 or 2 single-threaded worker processes,
  reached by address (as ``--scheduler``), each frame rendered on one core;
- overhead: wall time x workers minus the frames' own render seconds (scheduling,
  transfer, file writing on the coordinator), as a fraction of the render seconds;
- ``commands``: ``--commands`` small frames as one series against the same frames as
  separate ``xbragg -phi ...`` processes (start-up, imports and set-up paid once, not per frame).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from xbragg.series import ClusterSettings, FrameFormats, series  # noqa: E402
from xbragg.series.execute import local_cluster  # noqa: E402

SWEEP_512 = ("-cell 70 80 90 75 85 95 -lambda 1.5 -N 5 -default_F 100 -distance 100 -detpixels 512 "
             "-osc 1 -phisteps 10 -mosaic 0.5 -mosaic_dom 4 -noprogress")
SMALL = "-cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -default_F 100 -distance 100 -detpixels 64 -osc 0.1"


def timed_series(flags: str, frames: int, directory: str, cluster: ClusterSettings) -> dict:
    s = series(flags, frames=frames, cluster=cluster, formats=FrameFormats(floatfile=os.path.join(directory, "f.bin")))
    start = time.perf_counter()
    report = s.run()
    wall = time.perf_counter() - start
    workers = 1 if cluster.scheduler is None else cluster.workers
    overhead = (wall * workers - report.render_seconds) / report.render_seconds
    return {"frames": report.rendered, "wall_s": round(wall, 3), "frames_per_s": round(report.rendered / wall, 3),
            "render_s_per_frame": round(report.render_seconds / report.rendered, 4),
            "overhead_fraction": round(overhead, 3)}


def on_local_cluster(workers: int, flags: str, frames: int) -> dict:
    with local_cluster(workers) as cluster, \
            tempfile.TemporaryDirectory() as d:
        result = timed_series(flags, frames, d, ClusterSettings(workers=workers, scheduler=cluster.scheduler_address))
    return result


def series_against_commands(n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "xbragg", "series", "--frames", str(n), *SMALL.split(),
                        "-floatfile", "s.bin", "-noprogress"], cwd=d, env=env, check=True, capture_output=True)
        one = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(n):
            subprocess.run([sys.executable, "-m", "xbragg", *SMALL.split(), "-phi", repr(i * 0.1),
                            "-floatfile", f"c_{i:05d}.bin", "-nonoise", "-nopgm", "-noprogress"],
                           cwd=d, env=env, check=True, capture_output=True)
        many = time.perf_counter() - start
    return {"frames": n, "series_s": round(one, 2), "commands_s": round(many, 2), "speed_up": round(many / one, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--commands", type=int, default=100)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "platform": platform.platform()}, "flags": SWEEP_512}
    with tempfile.TemporaryDirectory() as d:
        results["here"] = timed_series(SWEEP_512, args.frames, d, ClusterSettings())
    for workers in (1, 2):
        results[f"dask-{workers}"] = on_local_cluster(workers, SWEEP_512, args.frames)
    results["dask_speed_up_2_over_1"] = round(results["dask-2"]["frames_per_s"] / results["dask-1"]["frames_per_s"], 2)
    results["commands"] = series_against_commands(args.commands)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
