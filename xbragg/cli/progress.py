"""A progress bar for long renders and series: on a terminal only, and off with -noprogress."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Callable ``(done, total)`` that redraws at most ten times a second.

    With ``unit`` (``"frames"``), the line also shows done/total, the rate and the time left.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 40, unit: str | None = None) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.unit = unit
        self.start = time.monotonic()
        self.last = 0.0
        self.first: int | None = None       # done at the first call (frames resumed): not in the rate

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = done
        if done < total and now - self.last < 0.1:
            return
        self.last = now
        frac = done / total if total else 1.0
        filled = int(self.width * frac)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"\r[{bar}] {100 * frac:5.1f}%  {now - self.start:6.1f} s"
        if self.unit:
            rate = (done - self.first) / (now - self.start) if now > self.start else 0.0
            left = f", {(total - done) / rate:.0f} s left" if rate > 0 and done < total else ""
            line += f"  {done}/{total} {self.unit}, {rate:.2f}/s{left}   "
        self.stream.write(line)
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def progress_for(enabled: bool, stream: TextIO | None = None, unit: str | None = None) -> ProgressBar | None:
    """A bar when ``enabled`` and ``stream`` (stderr) is a terminal, else ``None``."""
    stream = stream or sys.stderr
    if enabled and hasattr(stream, "isatty") and stream.isatty():
        return ProgressBar(stream, unit=unit)
    return None
