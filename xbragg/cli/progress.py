"""A progress bar for long renders: on a terminal only, and off with -noprogress."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable ``(done, total)`` that redraws at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, width: int = 40) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        frac = done / total if total else 1.0
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {100 * frac:5.1f}%  {now - self.start:6.1f} s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def progress_for(enabled: bool, stream: TextIO | None = None) -> ProgressBar | None:
    """A bar when ``enabled`` and ``stream`` (stderr) is a terminal, else ``None``."""
    stream = stream or sys.stderr
    if enabled and hasattr(stream, "isatty") and stream.isatty():
        return ProgressBar(stream)
    return None
