"""Forked render workers: a pool with no threads or locks, whose workers never outlive it.

:class:`ForkPool` talks to each worker over one pipe and nothing else.  A
``concurrent.futures`` process pool keeps a manager thread that shares locks
with the caller; an exception raised in the caller by a signal handler (Ctrl-C,
the command line's SIGTERM) just after it took such a lock left the manager
thread waiting for it forever, and the exit then hung.  Here the caller can be
interrupted anywhere: leaving the pool kills the workers at once.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NoReturn

__all__ = ["ForkPool", "WorkerError", "forked_worker_setup"]

_PR_SET_PDEATHSIG = 1        # linux/prctl.h
_PARENT_POLL_S = 0.5         # the fallback's check interval
_AHEAD_PER_WORKER = 2        # items sent to a worker before its first result is read


class WorkerError(Exception):
    """The traceback of an exception raised in a worker (the ``__cause__`` of the one re-raised)."""


class ForkPool:
    """``workers`` processes forked from this one that run ``fn(item)``; results in order.

    ``fn`` is inherited by the fork, not pickled; items and results are pickled
    over the pipes.  Use it as a context manager: leaving it (normally or by an
    exception) kills and reaps the workers.  Linux (fork) only.
    """

    def __init__(self, fn: Callable[[Any], Any], workers: int) -> None:
        context = multiprocessing.get_context("fork")
        self._procs: list = []
        self._conns: list = []
        parent = os.getpid()
        try:
            for _ in range(workers):
                mine, theirs = context.Pipe()
                proc = context.Process(target=_serve, args=(fn, theirs, parent), daemon=True)
                self._conns.append(mine)
                proc.start()
                self._procs.append(proc)
                theirs.close()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ForkPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def map(self, items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for each item, in order; item k goes to worker k mod n.

        Maps may follow one another on one pool; one closed early (``close()`` on the
        iterator) first reads the replies to the items it had already sent.

        An exception in ``fn`` is re-raised here (its worker traceback as the
        cause); a worker that dies (killed, out of memory) raises RuntimeError.
        """
        items = list(items)
        n = len(self._conns)
        ahead = _AHEAD_PER_WORKER * n
        sent = min(ahead, len(items))
        for k in range(sent):
            self._send(k % n, items[k])
        for k in range(len(items)):
            worker = k % n
            try:
                status, value, trace = self._conns[worker].recv()
            except (EOFError, OSError):
                self._died(worker)
            if sent < len(items):
                self._send(sent % n, items[sent])
                sent += 1
            if status == "error":
                raise value from WorkerError(trace)
            try:
                yield value
            except GeneratorExit:
                # the caller stopped early (it found what it looked for): read the results
                # already asked for, so that the next map's replies start clean (nothing to
                # read once the pool is closed)
                if self._conns:
                    for j in range(k + 1, sent):
                        self._conns[j % n].recv()
                raise

    def _send(self, worker: int, item: Any) -> None:
        try:
            self._conns[worker].send(item)
        except OSError:                  # a broken pipe: the worker is gone
            self._died(worker)

    def _died(self, worker: int) -> NoReturn:
        proc = self._procs[worker]
        proc.join(1.0)
        raise RuntimeError(f"render worker process {proc.pid} ended unexpectedly "
                           f"(exit status {proc.exitcode}; killed, or out of memory?)") from None

    def close(self) -> None:
        """Kill and reap the workers (idempotent); their unfinished work is dropped."""
        for conn in self._conns:
            conn.close()
        for proc in self._procs:
            proc.kill()
        for proc in self._procs:
            proc.join()
        self._conns, self._procs = [], []


def _serve(fn: Callable[[Any], Any], conn, parent_pid: int) -> None:
    """A worker's loop: an item in, ``("ok", result, "")`` or ``("error", exc, traceback)`` out."""
    forked_worker_setup(parent_pid)
    while True:
        try:
            item = conn.recv()
        except EOFError:                 # the pool closed its end
            return
        try:
            reply = ("ok", fn(item), "")
        except Exception as exc:
            reply = ("error", exc, traceback.format_exc())
        try:
            conn.send(reply)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception:                # the result or exception could not be pickled
            conn.send(("error", RuntimeError(f"{type(reply[1]).__name__} in a render worker could not be "
                                             "sent back"), traceback.format_exc()))


def forked_worker_setup(parent_pid: int) -> None:
    """Prepare a worker process forked by ``parent_pid``.

    Ctrl-C on a terminal reaches the whole process group: workers ignore it and
    the parent stops the pool (no traceback per worker).  SIGTERM gets its
    default action back (the fork inherits the command line's handler).  The
    worker is killed when the parent dies, even by SIGKILL: Linux's
    ``PR_SET_PDEATHSIG``, or where that is unavailable a thread that polls the
    parent's pid.  Otherwise a worker waiting for work would wait forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _kill_on_parent_death():
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    if os.getppid() != parent_pid:      # the parent died before the line above took effect
        os._exit(1)


def _kill_on_parent_death() -> bool:
    """Ask Linux to SIGKILL this process when the thread that forked it exits.

    That thread is the one that made the pool and reads its results, so it
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
