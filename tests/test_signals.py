"""Signals stop a run cleanly, and forked render workers never outlive it (issue 10, item 5).

Each test starts a real render large enough to run in forked worker processes
(see render.plan.parallel_plan), waits until the workers exist, signals the main
process, and looks at what is left: exit status, messages, processes, files.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from xbragg.render.plan import PROCESS_MIN_EVALUATIONS, available_cores

from processes import child_env, live_children, process_state

# 2048^2 pixels x 16^2 sub-pixels: about 1e9 evaluations, far more than PROCESS_MIN_EVALUATIONS per
# worker, and minutes of work on two cores: the signal always arrives mid-render
BIG = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-distance", "100",
       "-lambda", "6.2", "-N", "5", "-detpixels", "2048", "-oversample", "16", "-noprogress",
       "-floatfile", "out.bin"]
OUTPUTS = ("out.bin", "intimage.img", "noiseimage.img", "image.pgm")

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked workers and /proc: Linux only"),
    pytest.mark.skipif(available_cores() < 2, reason="one core: the render runs without worker processes"),
]
assert 2048 * 2048 * 16 * 16 > 100 * PROCESS_MIN_EVALUATIONS


def _running(pid: int) -> bool:
    """Still running: not gone and not a zombie (exited, waiting for a parent to reap it)."""
    info = process_state(pid)
    return info is not None and info[0] != "Z"


def _start_render(work: Path, **popen) -> tuple[subprocess.Popen, set[int]]:
    """Start the big render and return it with its worker pids, once they all exist."""
    proc = subprocess.Popen([sys.executable, "-m", "xbragg", *BIG], cwd=work, env=child_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **popen)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline:
        now = live_children(proc.pid)
        if len(now) >= 2 and now == workers:      # the same workers twice in a row: all forked
            return proc, workers
        workers = now
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    pytest.fail(f"no worker processes appeared (status {proc.returncode}): {proc.stderr.read()}")


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = {pid for pid in pids if _running(pid)}
        if not alive:
            return alive
        time.sleep(0.05)
    return {pid for pid in pids if _running(pid)}


def _stop(pids: set[int]) -> None:
    for pid in pids:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


def _assert_no_files(work: Path) -> None:
    left = sorted(p.name for p in work.iterdir())
    assert not [n for n in left if n.startswith(".xbragg-") or n in OUTPUTS], left


@pytest.mark.parametrize("how, status, message", [
    ("SIGTERM", 143, "xbragg: terminated"),
    # Ctrl-C on a terminal signals the whole process group: the workers must stay quiet
    ("SIGINT to the group", 130, "xbragg: interrupted"),
])
def test_signal_stops_workers_and_leaves_no_file(tmp_path, how, status, message):
    # its own process group, and SIGINT at its default (a shell's background job ignores it)
    proc, workers = _start_render(tmp_path, start_new_session=True,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == status
        assert err.splitlines() == [message], err
        assert _wait_gone(workers, 5) == set()
        _assert_no_files(tmp_path)
    finally:
        _stop(workers)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    proc, workers = _start_render(tmp_path)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert _wait_gone(workers, 5) == set()
    finally:
        _stop(workers)


def test_fallback_without_prctl_watches_the_parent(tmp_path):
    """Where PR_SET_PDEATHSIG is unavailable, a worker polls its parent's pid and exits with it."""
    script = textwrap.dedent("""
        import os, sys, time
        from xbragg import workers
        workers._kill_on_parent_death = lambda: False     # the fallback alone
        parent = os.getpid()
        ready_r, ready_w = os.pipe()
        child = os.fork()
        if child == 0:
            workers.forked_worker_setup(parent)
            os.write(ready_w, b"x")
            time.sleep(60)
            os._exit(0)
        os.read(ready_r, 1)                               # the worker is set up
        print(child, flush=True)
        os._exit(0)                                       # the parent dies without a word
    """)
    done = subprocess.run([sys.executable, "-c", script], env=child_env(), capture_output=True, text=True,
                          timeout=30)
    worker = int(done.stdout.strip())
    try:
        assert _wait_gone({worker}, 5) == set()
    finally:
        _stop({worker})
