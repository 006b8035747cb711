"""Forked render workers: they leave signals to the parent and exit when it dies."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1        # linux/prctl.h
_PARENT_POLL_S = 0.5         # the fallback's check interval


def forked_worker_setup(parent_pid: int) -> None:
    """Prepare a worker process forked by ``parent_pid`` (a pool's initializer).

    Ctrl-C on a terminal reaches the whole process group: workers ignore it and
    the parent stops the pool (no traceback per worker).  SIGTERM gets its
    default action back (the fork inherits the command line's handler).  The
    worker is killed when the parent dies, even by SIGKILL: Linux's
    ``PR_SET_PDEATHSIG``, or where that is unavailable a thread that polls the
    parent's pid.  Otherwise a worker waiting for tiles would wait forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _kill_on_parent_death():
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:      # the parent died before the line above took effect
        os._exit(1)


def _kill_on_parent_death() -> bool:
    """Ask Linux to SIGKILL this process when the thread that forked it exits.

    That thread is the one that made the pool and waits for its tiles, so it
    outlives the pool unless the process dies.  False where prctl is unavailable.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)
