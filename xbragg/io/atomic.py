"""Atomic file replacement: an output is either fully written or left untouched."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

from xbragg.errors import OutputError

__all__ = ["atomic_write_bytes", "check_writable"]


def _reason(exc: OSError) -> str:
    """Human-readable OS reason of ``exc`` (e.g. ``"No such file or directory"``)."""
    return exc.strerror or str(exc)


def _directory_of(path: str) -> str:
    """Directory that will hold ``path`` (``"."`` for a bare file name)."""
    return os.path.dirname(os.path.abspath(path)) or "."


_UMASK: int | None = None


def _umask() -> int:
    """The process umask (read once; reading it requires briefly setting it)."""
    global _UMASK
    if _UMASK is None:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK = current
    return _UMASK


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail early when ``path`` cannot be written as an output file.

    Checks that the directory holding ``path`` exists, is a directory and is
    writable, and that ``path`` itself is not a directory (nor an existing
    read-only file). Nothing is created. Raises :class:`OutputError` naming
    the path and the reason.
    """
    name = os.fspath(path)
    if name == "":
        raise OutputError("empty output file name")
    directory = _directory_of(name)
    if os.path.isdir(name):
        raise OutputError(f"cannot write {name}: it is a directory")
    if not os.path.exists(directory):
        raise OutputError(f"cannot write {name}: directory {directory} does not exist")
    if not os.path.isdir(directory):
        raise OutputError(f"cannot write {name}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {name}: permission denied on directory {directory}")
    if os.path.exists(name) and not os.access(name, os.W_OK):
        # os.replace would succeed, but a read-only target signals intent not to overwrite.
        raise OutputError(f"cannot write {name}: permission denied")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` to ``path`` atomically.

    ``data`` is one bytes-like object or an iterable of chunks written in order.
    The bytes go to a temporary file ``.xbragg-*`` in the target's directory,
    which is then renamed onto ``path`` with :func:`os.replace`; an existing
    file is therefore never half-overwritten. On any failure the temporary
    file is removed and :class:`OutputError` names the path and the OS reason.
    The new file gets the usual permissions (0666 minus the umask).
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise OutputError(f"cannot write {name}: it is a directory")
    directory = _directory_of(name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".xbragg-", dir=directory)
    except OSError as exc:
        if not os.path.isdir(directory):
            raise OutputError(
                f"cannot write {name}: directory {directory} does not exist") from exc
        raise OutputError(f"cannot write {name}: {_reason(exc)}") from exc
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    handle.write(data)
                else:
                    for chunk in data:
                        handle.write(chunk)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, name)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {name}: {_reason(exc)}") from exc
