"""Shared helpers for reading small text inputs with precise error messages."""
from __future__ import annotations

import os

from xbragg.errors import InputError

__all__ = ["read_bytes", "read_text", "parse_number"]


def read_bytes(path: str | os.PathLike[str], flag: str | None) -> bytes:
    """Whole content of the file ``path``.

    Raises :class:`InputError` (naming ``flag`` and ``path``) when the file is
    missing, is a directory or cannot be read.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError("file does not exist", flag=flag, path=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", flag=flag, path=name) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}", flag=flag,
                         path=name) from None
    except ValueError as exc:          # e.g. a NUL byte in the path
        raise InputError(f"not a usable file name: {exc}", flag=flag, path=repr(name)) from None


def read_text(path: str | os.PathLike[str], flag: str | None) -> str:
    """Whole content of the text file ``path`` (undecodable bytes replaced); errors as :func:`read_bytes`."""
    return read_bytes(path, flag).decode("utf-8", errors="replace")


def parse_number(token: str) -> float | None:
    """``token`` as a float, or ``None`` when it is not a plain number.

    Accepts what C's ``strtod`` accepts for decimal input (``3``, ``-8``,
    ``1.5e-3``, ``nan``, ``inf``); rejects Python-only spellings with ``_``.
    """
    if "_" in token:
        return None
    try:
        return float(token)
    except ValueError:
        return None
