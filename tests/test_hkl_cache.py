"""Building is pure: the library reads only the files it is given and writes none, unless asked
for the structure-factor cache (``hkl_cache=``); the command line keeps the reference's cache
(``Fdump.bin``, or the -dump file): written after -hkl is read, read when -hkl is absent."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from xbragg import build_experiment, options_from_flags, render, simulate
from xbragg.cli.main import main
from xbragg.errors import InputError
from xbragg.io.hkl import read_fdump

PATTERN = Path(__file__).resolve().parent / "reference" / "inputs" / "pattern.hkl"
FLAGS = "-cell 100 100 100 90 90 90 -lambda 6.2 -N 5 -distance 100 -detpixels 16"
CLI = FLAGS.split() + ["-floatfile", "float.bin", "-nonoise", "-nopgm", "-noprogress"]


def _image(opts, **build) -> np.ndarray:
    return render(build_experiment(opts, **build), workers=1).image


@pytest.fixture
def other_run(tmp_path, monkeypatch) -> Path:
    """A directory holding the Fdump.bin of another command-line run, with other amplitudes."""
    folder = tmp_path / "other"
    folder.mkdir()
    monkeypatch.chdir(folder)
    Path("other.hkl").write_text("0 0 0 7\n1 0 0 900\n0 1 0 900\n-1 0 0 900\n0 -1 0 900\n")
    assert main(CLI + ["-hkl", "other.hkl", "-default_F", "3"]) == 0
    for name in ("other.hkl", "float.bin", "intimage.img"):
        Path(name).unlink()
    assert os.listdir(folder) == ["Fdump.bin"]
    return folder


@pytest.mark.parametrize("structure_factors", ["-default_F 100", f"-hkl {PATTERN}"])
def test_same_options_give_the_same_image_whatever_the_working_directory_holds(
        tmp_path, monkeypatch, other_run, structure_factors):
    opts = options_from_flags(f"{FLAGS} {structure_factors}")
    cache_bytes = (other_run / "Fdump.bin").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    in_empty = _image(opts)
    monkeypatch.chdir(other_run)
    beside_cache = _image(opts)
    assert in_empty.max() > 0
    assert in_empty.tobytes() == beside_cache.tobytes()
    # neither run read or wrote a cache: the directories hold what they held
    assert os.listdir(empty) == [] and os.listdir(other_run) == ["Fdump.bin"]
    assert (other_run / "Fdump.bin").read_bytes() == cache_bytes
    if "-default_F" in structure_factors:
        # the cache there holds other amplitudes: reading it would have changed the image
        assert _image(opts, hkl_cache="Fdump.bin").tobytes() != in_empty.tobytes()


def test_the_cache_is_written_and_read_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with_hkl = options_from_flags(f"{FLAGS} -hkl {PATTERN}")
    from_hkl = _image(with_hkl)
    simulate(with_hkl)
    assert os.listdir(tmp_path) == []
    exp = build_experiment(with_hkl, hkl_cache="F.cache")
    assert os.listdir(tmp_path) == ["F.cache"]
    assert np.array_equal(read_fdump("F.cache").F, exp.crystal.structure_factors.F)

    without_hkl = options_from_flags(FLAGS)
    with pytest.raises(InputError) as info:
        build_experiment(without_hkl)
    assert "no structure factors" in str(info.value) and "cache" not in str(info.value)
    with pytest.raises(InputError, match=r"\(no Fdump.bin cache in the working directory\)"):
        build_experiment(without_hkl, hkl_cache="Fdump.bin")
    exp = build_experiment(without_hkl, hkl_cache="F.cache")
    assert "reading Fs from F.cache (cache of an earlier run with -hkl): h -1..2 k -1..2 l -1..1 " \
           "(48 values)" in exp.messages
    assert render(exp, workers=1).image.tobytes() == from_hkl.tobytes()


def test_dump_names_the_command_line_s_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(CLI + ["-hkl", str(PATTERN), "-dump", "my.cache"]) == 0
    assert Path("my.cache").is_file() and not Path("Fdump.bin").exists()
    first = Path("float.bin").read_bytes()
    capsys.readouterr()
    assert main(CLI + ["-dump", "my.cache"]) == 0
    assert "reading Fs from my.cache (cache of an earlier run with -hkl)" in capsys.readouterr().out
    assert Path("float.bin").read_bytes() == first


def test_an_unwritable_cache_is_a_warning_as_in_the_reference(tmp_path, monkeypatch, capsys):
    # nanoBragg.c prints "WARNING: unable to open dump file" and goes on; the run's own
    # outputs are still written
    monkeypatch.chdir(tmp_path)
    opts = options_from_flags("-default_F 0 -N 5 -cell 100 100 100 90 90 90 -detpixels 8")
    exp = build_experiment(opts.updated(hkl_path=str(PATTERN)), hkl_cache="no/such/dir/F.bin")
    assert any(m.startswith("WARNING: unable to open dump file: no/such/dir/F.bin") for m in exp.messages)
    assert not (tmp_path / "no").exists()
