"""Outputs never destroy anything (issue 10, items 1-3).

1. What is at an output path decides how it is written: a character device or
   FIFO in place, a symbolic link followed to its target, a directory, block
   device or socket refused; nothing that is not a regular file is renamed over.
2. An output that is an input, or another output, however named, is refused
   before rendering, naming both flags.
3. The outputs of a run appear together or not at all.

As root, these tests never write the system's /dev/null or /dev/full: code that
renames over its outputs (the bug) would replace them.  They use private
copies of the device nodes made with mknod; without root they use the system's
own nodes, which an unprivileged process cannot replace.
"""
from __future__ import annotations

import errno
import os
import select
import shutil
import socket
import stat
import threading
from pathlib import Path

import pytest

import xbragg.cli.main as cli_main
from xbragg.cli.flags import FLAGS
from xbragg.cli.main import main
from xbragg.outputs import INPUT_FILE_FLAGS, cache_outputs, input_files
from xbragg.setup.options import SimulationOptions

INPUTS = Path(__file__).resolve().parent / "reference" / "inputs"   # tests/reference/README.md
# a valid 16x16 run without noise or PGM unless a test asks for them
NO_CELL = ["-default_F", "100", "-distance", "100", "-lambda", "6.2", "-N", "5", "-detpixels", "16",
           "-noprogress"]
BASE = ["-cell", "100", "100", "100", "90", "90", "90"] + NO_CELL
FLOAT_BYTES = 16 * 16 * 4
#: every output file flag; -nexus and -cbf (issue 13) follow the same rules as the reference's outputs
OUTPUT_FLAGS = ["-floatfile", "-intfile", "-noisefile", "-pgmfile", "-nexus", "-cbf"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("A.mat", "pattern.hkl", "sources.txt", "mask.img"):
        shutil.copyfile(INPUTS / name, tmp_path / name)
    return tmp_path


def _char_device(directory: Path, name: str) -> Path:
    """A character device like /dev/``name`` (null or full): a private node where mknod is allowed."""
    minor = {"null": 3, "full": 7}[name]
    node = directory / f"{name}.dev"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except PermissionError:
        if os.geteuid() == 0:
            pytest.skip("root without CAP_MKNOD: the system's device nodes are not risked")
        return Path("/dev") / name
    return node


def _temporaries(*directories: Path) -> list[str]:
    return [p.name for d in directories for p in d.iterdir() if p.name.startswith(".xbragg-")]


def _no_render(monkeypatch):
    def no_render(*args, **kwargs):
        raise AssertionError("render must not be reached")
    monkeypatch.setattr(cli_main, "render", no_render)


def _refused(argv, capsys) -> str:
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2, captured
    err = captured.err.strip()
    assert err.startswith("xbragg: error: ") and len(err.splitlines()) == 1, err
    return err


# --- 1. what is at the path ------------------------------------------------------------------

def test_character_device_is_written_in_place(work, capsys):
    null = _char_device(work, "null")
    before = os.stat(null)
    status = main(BASE + ["-floatfile", "out.bin", "-intfile", str(null), "-noisefile", str(null),
                          "-pgmfile", str(null)])
    assert status == 0, capsys.readouterr()
    after = os.stat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino                     # the same node, not a new file
    assert (work / "out.bin").stat().st_size == FLOAT_BYTES
    assert _temporaries(work) == []


def test_symbolic_link_is_followed_to_its_target(work, capsys):
    (work / "data").mkdir()
    target = work / "data" / "image.bin"
    target.write_bytes(b"old")
    (work / "out.bin").symlink_to(target)
    dangling = work / "new.img"
    dangling.symlink_to(work / "data" / "created.img")
    assert main(BASE + ["-floatfile", "out.bin", "-intfile", "new.img", "-nonoise", "-nopgm"]) == 0
    assert (work / "out.bin").is_symlink() and os.readlink(work / "out.bin") == str(target)
    assert target.stat().st_size == FLOAT_BYTES
    assert dangling.is_symlink() and (work / "data" / "created.img").stat().st_size > 512
    assert _temporaries(work, work / "data") == []


class _FifoReader:
    """Reads a FIFO in a thread until its writer closes it; the read end is open at once."""

    def __init__(self, path: Path) -> None:
        # non-blocking, so that opening does not wait for a writer (and a writer finds a reader)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.data = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        while True:
            # POLLHUP comes only after a writer has come and gone
            for _, event in poller.poll(30_000) or [(None, select.POLLHUP)]:
                if event & select.POLLIN:
                    try:
                        chunk = os.read(self.fd, 65536)
                    except BlockingIOError:
                        continue
                    if chunk:
                        self.data += chunk
                        continue
                if event & select.POLLHUP:
                    os.close(self.fd)
                    return

    def result(self) -> bytes:
        self.thread.join(30)
        return bytes(self.data)


def test_fifo_is_written_in_place(work, capsys):
    assert main(BASE + ["-floatfile", "reference.bin", "-intfile", "ref.img", "-nonoise", "-nopgm"]) == 0
    os.mkfifo(work / "pipe")
    reader = _FifoReader(work / "pipe")
    assert main(BASE + ["-floatfile", "pipe", "-intfile", "int.img", "-nonoise", "-nopgm"]) == 0
    assert reader.result() == (work / "reference.bin").read_bytes()
    assert stat.S_ISFIFO(os.stat(work / "pipe").st_mode)
    assert _temporaries(work) == []


def test_fifo_without_reader_fails_naming_the_flag_and_writes_nothing(work, capsys):
    os.mkfifo(work / "pipe")
    err = _refused(BASE + ["-floatfile", "pipe", "-intfile", "int.img", "-nonoise", "-nopgm"], capsys)
    assert "-floatfile" in err and "no process is reading" in err
    assert stat.S_ISFIFO(os.stat(work / "pipe").st_mode)
    assert not (work / "int.img").exists()
    assert _temporaries(work) == []


def _socket_file(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    return sock


def _block_device(directory: Path) -> Path:
    node = directory / "block.dev"
    try:
        os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(7, 0))
        return node
    except PermissionError:
        pass
    for entry in os.scandir("/dev"):
        if stat.S_ISBLK(entry.stat(follow_symlinks=False).st_mode):
            return Path(entry.path)     # unprivileged: refused before it is touched
    pytest.skip("no block device to test with")


@pytest.mark.parametrize("kind", ["socket", "block device", "directory"])
@pytest.mark.parametrize("flag", OUTPUT_FLAGS)
def test_other_kinds_of_file_are_refused_before_rendering(work, capsys, monkeypatch, kind, flag):
    _no_render(monkeypatch)
    keep = None
    if kind == "socket":
        keep = _socket_file(work / "sock")
        path = work / "sock"
    elif kind == "block device":
        path = _block_device(work)
    else:
        path = work / "adir"
        path.mkdir()
    mode = os.stat(path).st_mode
    try:
        err = _refused(BASE + [flag, str(path)], capsys)
    finally:
        if keep is not None:
            keep.close()
    assert flag in err and str(path) in err and f"is a {kind}" in err
    assert os.stat(path).st_mode == mode
    assert _temporaries(work) == []


def test_symbolic_link_loop_is_refused(work, capsys, monkeypatch):
    _no_render(monkeypatch)
    os.symlink("loop", work / "loop")
    err = _refused(BASE + ["-intfile", "loop"], capsys)
    assert "-intfile" in err and "symbolic links" in err
    assert (work / "loop").is_symlink()


# --- 2. outputs that are inputs or other outputs ---------------------------------------------

def _hard_link(work, name):
    os.link(work / name, work / ("linked_" + name))
    return "linked_" + name


def _symbolic_link(work, name):
    os.symlink(name, work / ("sym_" + name))
    return "sym_" + name


@pytest.mark.parametrize("in_flag, name", [("-hkl", "pattern.hkl"), ("-mat", "A.mat"),
                                           ("-sourcefile", "sources.txt"), ("-mask", "mask.img"),
                                           ("-img", "mask.img"), ("-stol", "sources.txt")])
@pytest.mark.parametrize("out_flag", OUTPUT_FLAGS)
@pytest.mark.parametrize("spelling", ["same", "dot", "hard link", "symbolic link"])
def test_output_that_is_an_input_is_refused_before_rendering(work, capsys, monkeypatch, in_flag, name,
                                                             out_flag, spelling):
    _no_render(monkeypatch)
    original = (work / name).read_bytes()
    out_name = {"same": lambda: name, "dot": lambda: "./" + name,
                "hard link": lambda: _hard_link(work, name),
                "symbolic link": lambda: _symbolic_link(work, name)}[spelling]()
    argv = NO_CELL if in_flag == "-mat" else BASE
    err = _refused(argv + [in_flag, name, out_flag, out_name], capsys)
    assert in_flag in err and out_flag in err and "overwrite the input" in err
    assert (work / name).read_bytes() == original
    assert _temporaries(work) == []


@pytest.mark.parametrize("default_output, flag", [("intimage.img", "-intfile"),
                                                  ("noiseimage.img", "-noisefile"),
                                                  ("image.pgm", "-pgmfile"),
                                                  ("floatimage.bin", "-floatfile")])
def test_default_output_names_count(work, capsys, monkeypatch, default_output, flag):
    _no_render(monkeypatch)
    shutil.copyfile(work / "pattern.hkl", work / default_output)
    err = _refused(BASE + ["-hkl", default_output], capsys)
    assert flag in err and "-hkl" in err and "default" in err
    assert (work / default_output).read_bytes() == (work / "pattern.hkl").read_bytes()


@pytest.mark.parametrize("first, second", [("x.bin", "x.bin"), ("x.bin", "./x.bin"),
                                           ("sub/../x.bin", "x.bin")])
def test_two_outputs_in_one_file_are_refused(work, capsys, monkeypatch, first, second):
    _no_render(monkeypatch)
    (work / "sub").mkdir()
    err = _refused(BASE + ["-floatfile", first, "-noisefile", second], capsys)
    assert "-floatfile" in err and "-noisefile" in err
    assert not (work / "x.bin").exists()


@pytest.mark.parametrize("first, second", [("-nexus", "-floatfile"), ("-cbf", "-intfile"), ("-nexus", "-cbf")])
def test_format_outputs_in_the_file_of_another_output_are_refused(work, capsys, monkeypatch, first, second):
    _no_render(monkeypatch)
    err = _refused(BASE + [first, "x.out", second, "./x.out"], capsys)
    assert first in err and second in err and "same file" in err
    assert not (work / "x.out").exists()


def test_two_outputs_hard_linked_are_refused(work, capsys, monkeypatch):
    _no_render(monkeypatch)
    (work / "a.img").write_bytes(b"a")
    os.link(work / "a.img", work / "b.img")
    err = _refused(BASE + ["-intfile", "a.img", "-pgmfile", "b.img"], capsys)
    assert "-intfile" in err and "-pgmfile" in err
    assert (work / "a.img").read_bytes() == b"a"


def test_fdump_cache_counts_as_an_output_with_hkl_and_an_input_without(work, capsys, monkeypatch):
    _no_render(monkeypatch)
    err = _refused(BASE + ["-hkl", "pattern.hkl", "-floatfile", "Fdump.bin"], capsys)
    assert "-floatfile" in err and "cache" in err and "-hkl" in err
    assert not (work / "Fdump.bin").exists()
    # an HKL text file named Fdump.bin would be replaced by the cache
    shutil.copyfile(work / "pattern.hkl", work / "Fdump.bin")
    err = _refused(BASE + ["-hkl", "Fdump.bin"], capsys)
    assert "-hkl" in err and "cache" in err
    assert (work / "Fdump.bin").read_bytes() == (work / "pattern.hkl").read_bytes()
    # without -hkl an existing Fdump.bin is read: an input
    err = _refused(BASE + ["-intfile", "Fdump.bin"], capsys)
    assert "-intfile" in err and "-dump" in err and "overwrite the input" in err
    # -dump names the cache
    err = _refused(BASE + ["-hkl", "pattern.hkl", "-dump", "cache.bin", "-pgmfile", "./cache.bin"], capsys)
    assert "-pgmfile" in err and "-dump" in err
    assert not (work / "cache.bin").exists()


def test_every_file_flag_is_checked(tmp_path, monkeypatch):
    """Each file-valued flag outside the outputs names a file the collision check knows, by that flag."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "probe.file").write_bytes(b"")      # -dump's cache is an input only when it exists
    never_used = {"-stolout"}                       # stored by the reference, never written
    for flag in FLAGS:
        if flag.kind != "path" or flag.group == "output" or flag.name in never_used:
            continue
        opts, settings = SimulationOptions(), {}
        flag.apply(opts, settings, ["probe.file"])
        named = input_files(opts, settings) + cache_outputs(opts, settings)
        assert any(path == "probe.file" and label.startswith(flag.name) for label, path in named), flag.name
    assert set(INPUT_FILE_FLAGS) <= {flag.name for flag in FLAGS}


# --- 3. all outputs or none ------------------------------------------------------------------

def _existing(work):
    files = {"float.bin": b"old float", "int.img": b"old int"}
    for name, data in files.items():
        (work / name).write_bytes(data)
    return files


def _assert_untouched(work, files, *new):
    for name, data in files.items():
        assert (work / name).read_bytes() == data, name
    for name in new:
        assert not (work / name).exists(), name
    assert _temporaries(work) == []


def _format_outputs() -> list[str]:
    """-nexus and -cbf when h5py and fabio are installed (the runs of this section then write them too)."""
    flags = []
    for module, flag, name in (("h5py", "-nexus", "new.nxs"), ("fabio", "-cbf", "new.cbf")):
        try:
            __import__(module)
        except ImportError:
            continue
        flags += [flag, name]
    return flags


_FORMATS = _format_outputs()
_FORMAT_FILES = _FORMATS[1::2]


def test_late_failure_of_the_last_output_leaves_every_file_as_it_was(work, capsys, monkeypatch):
    """The noise image's directory stops taking files after the check (replaced by a file)."""
    files = _existing(work)
    (work / "noise").mkdir()
    render = cli_main.render

    def render_then_break_directory(*args, **kwargs):
        result = render(*args, **kwargs)
        (work / "noise").rmdir()
        (work / "noise").write_bytes(b"")
        return result

    monkeypatch.setattr(cli_main, "render", render_then_break_directory)
    err = _refused(BASE + ["-floatfile", "float.bin", "-intfile", "int.img", "-pgmfile", "new.pgm",
                           "-noisefile", "noise/n.img"] + _FORMATS, capsys)
    assert "-noisefile" in err and "noise/n.img" in err
    _assert_untouched(work, files, "new.pgm", *_FORMAT_FILES)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
def test_directory_that_takes_no_file_is_refused_before_rendering(work, capsys, monkeypatch):
    """/proc passes an access() check as root; creating a file there fails: found before the render."""
    _no_render(monkeypatch)
    err = _refused(BASE + ["-floatfile", "float.bin", "-intfile", "/proc/xbragg-test.img"], capsys)
    assert "-intfile" in err and "/proc/xbragg-test.img" in err
    assert not (work / "float.bin").exists()


def test_device_that_fails_on_write_leaves_every_file_as_it_was(work, capsys):
    files = _existing(work)
    full = _char_device(work, "full")
    err = _refused(BASE + ["-floatfile", "float.bin", "-intfile", "int.img", "-pgmfile", "new.pgm",
                           "-noisefile", str(full)] + _FORMATS, capsys)
    assert "-noisefile" in err and os.strerror(errno.ENOSPC) in err
    assert stat.S_ISCHR(os.stat(full).st_mode)
    _assert_untouched(work, files, "new.pgm", *_FORMAT_FILES)


def test_failed_rename_puts_back_the_outputs_already_renamed(work, capsys, monkeypatch):
    files = _existing(work)
    replace = os.replace
    calls = []

    def replace_failing_second(src, dst):
        if Path(src).name.startswith(".xbragg-") and not str(src).endswith(".old"):
            calls.append(dst)
            if len(calls) == 2:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_failing_second)
    err = _refused(BASE + ["-floatfile", "float.bin", "-intfile", "int.img", "-pgmfile", "new.pgm",
                           "-nonoise"] + _FORMATS, capsys)
    assert len(calls) == 2 and "-intfile" in err and os.strerror(errno.EIO) in err
    _assert_untouched(work, files, "new.pgm", *_FORMAT_FILES)


def test_success_replaces_every_output_and_leaves_no_temporary(work, capsys):
    files = _existing(work)
    assert main(BASE + ["-floatfile", "float.bin", "-intfile", "int.img"] + _FORMATS) == 0
    for name, data in files.items():
        assert (work / name).read_bytes() != data
    assert all((work / name).exists() for name in ("noiseimage.img", "image.pgm", *_FORMAT_FILES))
    assert _temporaries(work) == []
    assert not any(name.endswith(".old") for name in os.listdir(work))
