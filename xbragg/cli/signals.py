"""SIGTERM handled like Ctrl-C: the run stops cleanly instead of dying mid-write."""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: exit status of a run stopped by SIGTERM (128 + 15, as the shell reports a killed process)
TERMINATED_STATUS = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread, unwinding like KeyboardInterrupt.

    A BaseException, so that ``except Exception`` blocks let it through and every
    ``finally`` (worker pool shut down, temporary files removed) runs on the way out.
    """


def _raise_terminated(signum, frame) -> None:
    # a second SIGTERM during the clean-up ends the process at once (the default action)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread.

    Does nothing outside the main thread (only it may set signal handlers); the
    previous handler comes back on leaving.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
