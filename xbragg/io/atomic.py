"""Output files that never destroy anything: written whole, and a run's outputs all or none.

What is at an output's path decides how it is written (the same rules for every
writer; see docs/user-guide.md, "Output files"):

- nothing, or a regular file: the bytes go to a temporary ``.xbragg-*`` file in
  the same directory, renamed onto the path only once complete, so an existing
  file is never half-overwritten;
- a symbolic link: followed; its final target is written as above, in the
  target's directory, and the link is left as it was (a dangling link creates
  its target);
- a character device (``/dev/null``) or a FIFO: opened and written in place,
  never renamed over; a FIFO must have a reader when the outputs are written;
- a directory, block device or socket: refused.

:class:`OutputBatch` writes several outputs as one: each is staged first, and
only when all are staged are they put in place.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from xbragg.errors import OutputError

__all__ = ["OutputBatch", "OutputTarget", "atomic_write_bytes", "check_writable", "output_target",
           "refuse_inputs", "same_file_key"]

Data = bytes | bytearray | memoryview | Iterable[bytes]


def _reason(exc: OSError) -> str:
    """Human-readable OS reason of ``exc`` (e.g. ``"No such file or directory"``)."""
    return exc.strerror or str(exc)


def _prefix(flag: str | None) -> str:
    return f"{flag}: " if flag else ""


_UMASK: int | None = None


def _umask() -> int:
    """The process umask (read once; reading it requires briefly setting it)."""
    global _UMASK
    if _UMASK is None:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK = current
    return _UMASK


def _kind(mode: int) -> str:
    """What a file that is neither regular nor written through is, for messages."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@dataclass(frozen=True)
class OutputTarget:
    """Where an output's bytes go.

    ``path``: the name given; ``real``: the file written, symbolic links
    followed; ``write_through``: a character device or FIFO, opened and
    written in place; ``exists``: something is at ``real`` now.
    """

    path: str
    real: str
    write_through: bool
    exists: bool

    @property
    def directory(self) -> str:
        """The directory that holds ``real`` (where the temporary file goes)."""
        return os.path.dirname(self.real) or "."


def output_target(path: str | os.PathLike[str], *, flag: str | None = None) -> OutputTarget:
    """Classify ``path`` as an output; :class:`OutputError` (naming ``flag``) when refused.

    Refused: an empty name, a directory, a block device, a socket, a loop of
    symbolic links.  Nothing is created.
    """
    name = os.fspath(path)
    if name == "":
        raise OutputError(f"{_prefix(flag)}empty output file name")
    try:
        st = os.stat(name)          # follows symbolic links, as opening the path would
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:          # a loop of links, a directory that cannot be searched
        raise OutputError(f"{_prefix(flag)}cannot write {name}: {_reason(exc)}") from None
    if st is None:
        # nothing there, or a dangling link: the link's target is created
        return OutputTarget(name, os.path.realpath(name), False, False)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return OutputTarget(name, name, True, True)
    if stat.S_ISREG(st.st_mode):
        return OutputTarget(name, os.path.realpath(name), False, True)
    raise OutputError(f"{_prefix(flag)}cannot write {name}: it is {_kind(st.st_mode)}; outputs go to "
                      "regular files, character devices (such as /dev/null) or FIFOs")


def same_file_key(path: str | os.PathLike[str]) -> tuple | None:
    """A key equal for two names of one file (hard links, symbolic links, ``./x`` and ``x``).

    An existing file is keyed by device and inode, a name not yet created by
    its resolved absolute path.  ``None`` for a character device: writing
    ``/dev/null`` twice, or reading and writing it, destroys nothing.
    """
    name = os.fspath(path)
    try:
        st = os.stat(name)
    except OSError:
        return ("path", os.path.realpath(name))
    if stat.S_ISCHR(st.st_mode):
        return None
    return ("inode", st.st_dev, st.st_ino)


def refuse_inputs(path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], *,
                  flag: str | None = None) -> None:
    """:class:`OutputError` when the output ``path`` is one of the files ``inputs``, however named."""
    key = same_file_key(path)
    for source in inputs:
        if key is not None and same_file_key(source) == key:
            raise OutputError(f"{_prefix(flag)}{os.fspath(path)} is the input file {os.fspath(source)}: "
                              "the output would overwrite the input")


def _temp_file(target: OutputTarget, flag: str | None) -> tuple[int, str]:
    """A new ``.xbragg-*`` file in ``target``'s directory: (descriptor, path).

    :class:`OutputError` naming ``flag`` and the path when it cannot be created.
    """
    directory = target.directory
    try:
        return tempfile.mkstemp(prefix=".xbragg-", dir=directory)
    except OSError as exc:
        if not os.path.exists(directory):
            reason = f"directory {directory} does not exist"
        elif not os.path.isdir(directory):
            reason = f"{directory} is not a directory"
        else:
            reason = f"cannot create a file in {directory}: {_reason(exc)}"
        raise OutputError(f"{_prefix(flag)}cannot write {target.path}: {reason}") from None


def check_writable(path: str | os.PathLike[str], *, flag: str | None = None) -> OutputTarget:
    """Fail early when ``path`` cannot be written as an output file; return its target.

    Checks what :func:`output_target` checks, then: a character device or FIFO
    must be writable; otherwise the target's directory must exist and take a
    new file (a probe file is created and removed at once, which catches
    read-only file systems and ``/proc``), and an existing file must not be
    read-only.  Raises :class:`OutputError` naming ``flag``, the path and the
    reason.
    """
    target = output_target(path, flag=flag)
    name, where = target.path, _prefix(flag)
    if target.write_through:
        if not os.access(name, os.W_OK):
            raise OutputError(f"{where}cannot write {name}: permission denied")
        return target
    fd, probe = _temp_file(target, flag)
    os.close(fd)
    os.unlink(probe)
    if target.exists and not os.access(target.real, os.W_OK):
        # os.replace would succeed, but a read-only target signals intent not to overwrite.
        raise OutputError(f"{where}cannot write {name}: permission denied")
    return target


def _chunks(data: Data) -> Iterable[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return (data,)
    return data


def _write_all(fd: int, data: Data) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    for chunk in _chunks(data):
        view = memoryview(chunk).cast("B")
        while view:
            view = view[os.write(fd, view):]


def _write_through(name: str, data: Data) -> None:
    """Write ``data`` into the character device or FIFO ``name`` in place."""
    # O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of waiting forever;
    # writes then block as usual
    fd = os.open(name, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        os.set_blocking(fd, True)
        _write_all(fd, data)
    finally:
        os.close(fd)


@dataclass
class _Staged:
    flag: str | None
    target: OutputTarget
    key: tuple | None
    tmp: str | None = None                  # the temporary file of a renamed output
    data: list | None = None                # the bytes of a write-through output
    backup: str | None = None               # hard link to the file a rename replaced
    placed: bool = False


class OutputBatch:
    """Outputs written as one: all of them appear, or none.

    :meth:`add` writes a regular output to a temporary ``.xbragg-*`` file in
    its target's directory at once (a device or FIFO output is kept in memory).
    :meth:`commit` then writes the device and FIFO outputs in place and renames
    every temporary file onto its target.  A failure before the renames removes
    every temporary file and changes no file (a device or FIFO written before
    the failure keeps what it received).  A failed rename puts the outputs
    already renamed back as they were, from a hard link made to each file just
    before it was replaced; where the file system refuses the link, that output
    keeps its new content.  What remains: a process killed (SIGKILL, power loss)
    during the renames, a few system calls, leaves the outputs renamed so far,
    and ``.xbragg-*`` files.  Errors are :class:`OutputError` naming the flag.

    Use it as a context manager: leaving the block without :meth:`commit`
    (by an exception, a signal, or otherwise) removes everything staged.
    """

    def __init__(self) -> None:
        self._staged: list[_Staged] = []
        self._closed = False

    def __enter__(self) -> OutputBatch:
        return self

    def __exit__(self, *exc_info) -> None:
        if not self._closed:
            self.abort()

    def add(self, path: str | os.PathLike[str], data: Data, *, flag: str | None = None) -> None:
        """Stage ``data`` (bytes or an iterable of chunks, written in order) for ``path``."""
        if self._closed:
            raise RuntimeError("the output batch is already committed or aborted")
        target = output_target(path, flag=flag)
        key = same_file_key(target.real)
        for other in self._staged:
            if key is not None and other.key == key:
                raise OutputError(f"{_prefix(flag)}{target.path} is the same file as "
                                  f"{_prefix(other.flag)}{other.target.path}; two outputs cannot share a file")
        item = _Staged(flag, target, key)
        if target.write_through:
            item.data = [bytes(chunk) for chunk in _chunks(data)]
            self._staged.append(item)
            return
        fd, item.tmp = _temp_file(target, flag)
        name = target.path
        self._staged.append(item)
        try:
            try:
                _write_all(fd, data)
                os.fchmod(fd, 0o666 & ~_umask())
            finally:
                os.close(fd)
        except OSError as exc:
            raise OutputError(f"{_prefix(flag)}cannot write {name}: {_reason(exc)}") from None

    def commit(self) -> None:
        """Write the device and FIFO outputs, then rename every staged file into place."""
        if self._closed:
            raise RuntimeError("the output batch is already committed or aborted")
        try:
            for item in self._staged:
                if item.data is not None:
                    self._write_in_place(item)
            for item in self._staged:
                if item.tmp is not None:
                    self._rename(item)
        except BaseException:
            self._roll_back()
            raise
        finally:
            self._closed = True
            self._remove(item.backup for item in self._staged)

    def abort(self) -> None:
        """Remove everything staged; no output is written."""
        self._closed = True
        self._remove(item.tmp for item in self._staged)

    @staticmethod
    def _write_in_place(item: _Staged) -> None:
        name = item.target.path
        try:
            _write_through(name, item.data)
        except OSError as exc:
            reason = _reason(exc)
            if exc.errno == errno.ENXIO:
                reason = "no process is reading the FIFO"
            raise OutputError(f"{_prefix(item.flag)}cannot write {name}: {reason}") from None
        finally:
            item.data = None

    @staticmethod
    def _rename(item: _Staged) -> None:
        real, where = item.target.real, _prefix(item.flag)
        try:
            st = os.lstat(real)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise OutputError(f"{where}cannot write {item.target.path}: {_reason(exc)}") from None
        if st is not None and not stat.S_ISREG(st.st_mode):
            # something else took the path since it was checked: never rename over it
            raise OutputError(f"{where}cannot write {item.target.path}: {real} is now "
                              f"{_kind(st.st_mode) if not stat.S_ISLNK(st.st_mode) else 'a symbolic link'}")
        if st is not None:
            backup = item.tmp + ".old"
            try:
                os.link(real, backup)
                item.backup = backup
            except OSError:
                pass                    # no way back for this one (documented above)
        item.placed = True              # before the rename: a signal right after it must undo it too
        try:
            os.replace(item.tmp, real)
        except OSError as exc:
            raise OutputError(f"{where}cannot write {item.target.path}: {_reason(exc)}") from None
        item.tmp = None

    def _roll_back(self) -> None:
        """Put back the files already replaced, remove the ones created and every temporary."""
        for item in reversed(self._staged):
            if not item.placed:
                continue
            try:
                if item.backup is not None:
                    # a no-op when the rename never happened (both names are then one file):
                    # the backup's name is removed with the others in commit
                    os.replace(item.backup, item.target.real)
                elif not item.target.exists:
                    os.unlink(item.target.real)
            except OSError:
                pass
        self._remove(item.tmp for item in self._staged)

    @staticmethod
    def _remove(paths: Iterable[str | None]) -> None:
        for path in paths:
            if path is not None:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def atomic_write_bytes(path: str | os.PathLike[str], data: Data, *, flag: str | None = None) -> None:
    """Write ``data`` to ``path`` as one output: whole, or not at all.

    ``data`` is one bytes-like object or an iterable of chunks written in order.
    A regular file is written to a temporary file ``.xbragg-*`` in its
    directory, then renamed onto ``path``; a symbolic link is followed; a
    character device or FIFO is written in place; anything else is refused
    (see the module's docstring).  On any failure nothing is left behind and
    :class:`OutputError` names ``flag``, the path and the OS reason.  A new
    file gets the usual permissions (0666 minus the umask).
    """
    with OutputBatch() as batch:
        batch.add(path, data, flag=flag)
        batch.commit()
