import os

import pytest

from xbragg.errors import OutputError
from xbragg.io.atomic import OutputBatch, atomic_write_bytes, check_writable, same_file_key


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


# --- OutputBatch: several outputs written as one ------------------------------------------------

def test_batch_failure_while_staging_changes_nothing(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"old a")

    def chunks():
        yield b"partial"
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="^-second: cannot write .*No space left"):
        with OutputBatch() as batch:
            batch.add(tmp_path / "a.bin", b"new a", flag="-first")
            batch.add(tmp_path / "b.bin", chunks(), flag="-second")
            batch.commit()
    assert (tmp_path / "a.bin").read_bytes() == b"old a"
    assert not (tmp_path / "b.bin").exists()
    assert _leftovers(tmp_path) == []


def test_batch_never_renames_over_what_is_no_longer_a_regular_file(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"old a")
    with pytest.raises(OutputError, match="^-second: .*is now a directory"):
        with OutputBatch() as batch:
            batch.add(tmp_path / "a.bin", b"new a", flag="-first")
            batch.add(tmp_path / "b.bin", b"new b", flag="-second")
            (tmp_path / "b.bin").mkdir()            # between staging and commit
            batch.commit()
    assert (tmp_path / "a.bin").read_bytes() == b"old a"   # already renamed, put back
    assert (tmp_path / "b.bin").is_dir()
    assert _leftovers(tmp_path) == []


def test_batch_leaving_without_commit_writes_nothing(tmp_path):
    with OutputBatch() as batch:
        batch.add(tmp_path / "a.bin", b"a")
    assert list(tmp_path.iterdir()) == []


def test_batch_refuses_one_file_twice(tmp_path):
    with pytest.raises(OutputError, match="-two: .* is the same file as -one: "):
        with OutputBatch() as batch:
            batch.add(tmp_path / "x.bin", b"1", flag="-one")
            batch.add(str(tmp_path / "sub" / ".." / "x.bin"), b"2", flag="-two")
    assert list(tmp_path.iterdir()) == []


def test_same_file_key():
    assert same_file_key("/dev/null") is None            # a character device never clashes
    assert same_file_key("no/such/x") == same_file_key("no/such/../such/./x")


def test_symlink_target_replaced_in_its_own_directory(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "t.bin").write_bytes(b"old")
    (tmp_path / "link").symlink_to(tmp_path / "real" / "t.bin")
    target = check_writable(tmp_path / "link")
    assert target.real == str(tmp_path / "real" / "t.bin") and not target.write_through
    atomic_write_bytes(tmp_path / "link", b"new")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "t.bin").read_bytes() == b"new"
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []
