import os

import pytest

from xbragg.errors import OutputError
from xbragg.io.atomic import atomic_write_bytes, check_writable


def _leftovers(directory):
    return [p.name for p in directory.iterdir() if p.name.startswith(".xbragg-")]


def test_writes_bytes_and_chunks(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"hello")
    assert target.read_bytes() == b"hello"
    atomic_write_bytes(str(target), [b"ab", b"", b"cd"])
    assert target.read_bytes() == b"abcd"
    assert _leftovers(tmp_path) == []


def test_permissions_follow_umask(tmp_path):
    target = tmp_path / "perm.bin"
    atomic_write_bytes(target, b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert (target.stat().st_mode & 0o777) == (0o666 & ~mask)


def test_missing_directory_names_path(tmp_path):
    target = tmp_path / "nope" / "out.bin"
    with pytest.raises(OutputError) as info:
        atomic_write_bytes(target, b"x")
    assert str(target) in str(info.value)
    assert "does not exist" in str(info.value)


def test_target_is_directory(tmp_path):
    with pytest.raises(OutputError, match="directory"):
        atomic_write_bytes(tmp_path, b"x")


def test_failure_mid_write_keeps_old_file(tmp_path):
    target = tmp_path / "keep.bin"
    target.write_bytes(b"original")

    def chunks():
        yield b"partial"
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as info:
        atomic_write_bytes(target, chunks())
    assert "No space left on device" in str(info.value)
    assert str(target) in str(info.value)
    assert target.read_bytes() == b"original"
    assert _leftovers(tmp_path) == []


def test_non_os_failure_cleans_up(tmp_path):
    target = tmp_path / "x.bin"

    def chunks():
        yield b"a"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write_bytes(target, chunks())
    assert not target.exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="ermission denied"):
            atomic_write_bytes(locked / "f.bin", b"x")
        with pytest.raises(OutputError, match="ermission denied"):
            check_writable(locked / "f.bin")
    finally:
        locked.chmod(0o700)


def test_check_writable(tmp_path):
    check_writable(tmp_path / "new.bin")
    (tmp_path / "exists.bin").write_bytes(b"")
    check_writable(tmp_path / "exists.bin")
    with pytest.raises(OutputError, match="does not exist") as info:
        check_writable(tmp_path / "missing" / "f.bin")
    assert "missing" in str(info.value)
    with pytest.raises(OutputError, match="is a directory"):
        check_writable(tmp_path)
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(OutputError, match="not a directory"):
        check_writable(tmp_path / "plain" / "f.bin")
    assert not (tmp_path / "new.bin").exists()


def test_check_writable_relative_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_writable("here.bin")
    atomic_write_bytes("here.bin", b"1")
    assert (tmp_path / "here.bin").read_bytes() == b"1"
