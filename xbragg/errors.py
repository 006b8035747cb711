"""Exceptions raised for bad input: each names what was wrong and where."""
from __future__ import annotations


class XbraggError(Exception):
    """Base class of the errors xbragg reports to users (exit status 2 on the CLI)."""


class InputError(XbraggError):
    """A flag value, input file or combination of inputs that cannot be used.

    ``flag`` is the command-line flag concerned (``"-hkl"``), ``path`` the file,
    ``line`` the 1-based line number in that file; each is optional and, when
    given, is part of the message.
    """

    def __init__(self, message: str, *, flag: str | None = None,
                 path: str | None = None, line: int | None = None) -> None:
        self.flag = flag
        self.path = path
        self.line = line
        self.detail = message
        where = []
        if flag:
            where.append(flag)
        if path:
            where.append(f"{path}" + (f", line {line}" if line is not None else ""))
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class OutputError(XbraggError):
    """An output file that could not be written."""
