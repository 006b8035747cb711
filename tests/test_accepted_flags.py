"""Flags nanoBragg takes that change nothing in its Bragg image (or only a file name): accepted,
their files read and checked as the reference reads them, and what they do said in one note."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from golden import GOLDEN, note_lines, run_xbragg
from xbragg.cli.main import main
from xbragg.errors import InputError
from xbragg.io.stol import read_stol_file

INPUTS = GOLDEN / "inputs"
SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -distance 50".split()

# a run with -hkl writes the Fdump.bin cache in the working directory
pytestmark = pytest.mark.usefixtures("scratch_directory")


def _run(tmp_path: Path, flags: list[str]) -> tuple[np.ndarray, list[str]]:
    image, stdout = run_xbragg(SMALL + flags, tmp_path)
    return image, note_lines(stdout)


@pytest.fixture
def plain(tmp_path):
    image, notes = _run(tmp_path, [])
    assert notes == []
    return image


@pytest.mark.parametrize("flags, words", [
    (["-coherent"], "never uses"),
    (["-density", "1.35"], "-density 1.35"),
    (["-sample_den", "1.35"], "-density 1.35"),
    (["-sample_density", "2"], "-density 2"),
    (["-MW", "25000"], "-MW 25000"),
    (["-molec", "25000"], "-MW 25000"),
])
def test_switches_and_values_change_nothing_and_say_so(tmp_path, plain, flags, words):
    image, notes = _run(tmp_path, flags)
    assert np.array_equal(image, plain)
    assert len(notes) == 1 and words in notes[0] and "no effect on the image" in notes[0]


def test_stolout_writes_nothing(tmp_path, plain):
    image, notes = _run(tmp_path, ["-stolout", str(tmp_path / "out.stol")])
    assert np.array_equal(image, plain)
    assert len(notes) == 1 and "never writes" in notes[0]
    assert not (tmp_path / "out.stol").exists()


@pytest.mark.parametrize("flag, first_column", [("-stol", "sin(theta)/lambda"), ("-4stol", "4 sin(theta)"),
                                                ("-Q", "Q = 4 pi")])
def test_stol_files_are_read_and_change_nothing(tmp_path, plain, flag, first_column):
    path = tmp_path / "water.stol"
    path.write_text("# stol F\n0.0 2.57\n0.1, 2.2\n\n0.2\t1.9\n0.3\n")
    image, notes = _run(tmp_path, [flag, str(path)])
    assert np.array_equal(image, plain)
    assert len(notes) == 1 and f"read 4 amorphous structure factors versus {first_column}" in notes[0]


def test_stol_reader_scales_like_the_reference(tmp_path):
    path = tmp_path / "f.stol"
    path.write_text("0.25 3\n0.5\n")
    stol = read_stol_file(path, "-stol")
    assert stol.tolist() == [[0.25e10, 3.0], [0.5e10, 0.0]]          # 1/A to 1/m; a missing F is 0
    assert read_stol_file(path, "-4stol")[0, 0] == 0.25e10 / 4
    assert read_stol_file(path, "-Q")[0, 0] == 0.25e10 / math.pi / 4


@pytest.mark.parametrize("text, message", [
    ("0.1 2\n0.2 abc\n", "line 2"),
    ("0.1 2 3\n", "3 columns, at most 2"),
    ("\n# nothing\n", "no structure factors found"),
])
def test_bad_stol_files_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.stol"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_stol_file(path, "-4stol")
    assert message in str(info.value) and "-4stol" in str(info.value) and "bad.stol" in str(info.value)


def test_missing_stol_file_stops_before_any_output(tmp_path, capsys):
    assert main(SMALL + ["-stol", "missing.stol", "-nonoise", "-nopgm"]) == 2
    assert "-stol" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_dump_names_the_structure_factor_cache(tmp_path):
    hkl = ["-hkl", str(INPUTS / "pattern.hkl")]
    with_hkl, notes = _run(tmp_path, hkl + ["-dump", "my.cache"])
    assert notes == []
    assert (tmp_path / "my.cache").exists() and not (tmp_path / "Fdump.bin").exists()
    from_cache, _ = _run(tmp_path, ["-dump", "my.cache"])          # no -hkl: the cache is read
    assert np.array_equal(from_cache, with_hkl)
