"""Bad input on the command line: one clear message, exit status 2, no output file.

Rule (issue): an unknown flag is an error naming the nearest valid flag; a
missing or unreadable file, a malformed line in an HKL, matrix or source file,
a non-numeric or out-of-range value, a missing required input each give one
clear message naming the flag, file and line, a non-zero exit status, and no
output file created or half-written.  (The integer, noise and PGM outputs and
the seeds have their own bad-input tests in test_outputs.py.)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xbragg.cli.main import main

from cli_refusal import expect_refusal
from golden import GOLDEN
from processes import child_env

INPUTS = GOLDEN / "inputs"

OUT = "out.bin"
# a valid 16x16 run; each test appends (later flags override earlier ones) or replaces pieces
BASE = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-distance", "100",
        "-lambda", "6.2", "-N", "5", "-detpixels", "16", "-floatfile", OUT, "-noprogress"]
MAT_BASE = ["-mat", "A.mat", "-lambda", "6.2", "-default_F", "100", "-detpixels", "16",
            "-floatfile", OUT, "-noprogress"]


def _copy(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copyfile(INPUTS / name, target)
    return target


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A scratch working directory with a few small input files, good and bad."""
    monkeypatch.chdir(tmp_path)
    for name in ("A.mat", "pattern.hkl", "sources.txt", "mask.img"):
        _copy(name, tmp_path)
    lines = (INPUTS / "A.mat").read_text().splitlines()
    (tmp_path / "bad_line3.hkl").write_text("0 0 0 10\n1 0 0 5\n1 2 x 4\n0 1 0 7\n")
    (tmp_path / "three_cols.hkl").write_text("0 0 0 10\n1 0 0 5\n0 1 0\n")
    (tmp_path / "two_lines.mat").write_text("\n".join(lines[:2]) + "\n")
    (tmp_path / "nonnumeric.mat").write_text("\n".join([lines[0], lines[1].replace("0.01019549", "zz"),
                                                        lines[2]]) + "\n")
    (tmp_path / "bad.src").write_text("-10 0 0 1 6.2e-10\n-10 0.02 0 1 6.2e-10\n-10 abc 0 1 6.2e-10\n")
    (tmp_path / "text.mask").write_text("this is not an SMV image\n")
    (tmp_path / "adir").mkdir()
    return tmp_path


def _fail(argv, capsys) -> str:
    return expect_refusal(argv, capsys, OUT)


def test_valid_base_run_succeeds(work, capsys):
    # the base arguments are good, so every failure below is due to the piece changed
    assert main(BASE) == 0
    assert Path(OUT).stat().st_size == 16 * 16 * 4
    assert main(MAT_BASE) == 0


# --- flags and values -----------------------------------------------------------------------

@pytest.mark.parametrize("argv, needles", [
    # unknown flag: names the nearest valid one
    (BASE + ["-distanc", "100"], ["unknown flag -distanc", "did you mean -distance?"]),
    (BASE + ["-detpixel", "16"], ["unknown flag -detpixel", "-detpixels"]),
    (BASE + ["-lamda", "1"], ["unknown flag -lamda", "-lambda"]),
    (BASE + ["--backnd", "numpy"], ["unknown flag --backnd", "--backend"]),
    # a value where a flag is expected
    (BASE + ["100"], ["unexpected value '100'"]),
    # non-numeric, non-finite and out-of-range values
    (BASE + ["-distance", "abc"], ["-distance", "expected a number", "'abc'"]),
    (BASE + ["-distance", "nan"], ["-distance", "finite"]),
    (BASE + ["-distance", "inf"], ["-distance", "finite"]),
    (BASE + ["-distance", "-5"], ["-distance", "must be positive", "-5"]),
    (BASE + ["-pixel", "0"], ["-pixel", "must be positive"]),
    (BASE + ["-lambda", "0"], ["-lambda", "must be positive"]),
    (BASE + ["-energy", "-1"], ["-energy", "must be positive"]),
    (BASE + ["-detpixels", "12.5"], ["-detpixels", "expected an integer", "'12.5'"]),
    (BASE + ["-detpixels", "0"], ["-detpixels", "must be positive"]),
    (BASE + ["-detpixels_x", "ten"], ["-detpixels_x", "expected an integer"]),
    (BASE + ["-N", "-1"], ["-N", "at least 0"]),
    (BASE + ["-exposure", "-1"], ["-exposure", "at least 0"]),
    (BASE + ["-dmin", "-1"], ["-dmin", "at least 0"]),
    (BASE + ["--memory-budget", "0"], ["--memory-budget", "must be positive"]),
    (BASE + ["-roi", "10", "5", "0", "3"], ["-roi", "xmin <= xmax", "10 5 0 3"]),
    (BASE + ["-roi", "0", "5", "9", "3"], ["-roi", "ymin <= ymax"]),
    (BASE + ["-roi", "-1", "5", "0", "3"], ["-roi", "at least 0"]),
    (BASE + ["-cell", "100", "100", "100", "90", "90", "0"], ["-cell", "must be positive"]),
    (BASE + ["-cell", "100", "100", "100", "90", "90", "200"], ["-cell", "impossible"]),
    (BASE + ["-pivot", "middle"], ["-pivot", "'beam'", "'sample'", "'middle'"]),
    (BASE + ["-fdet_vector", "0", "0", "0"], ["-fdet_vector", "zero"]),
    # wrong number of values
    (BASE + ["-distance"], ["-distance", "expects 1 value, got 0"]),
    (BASE + ["-misset", "1", "2"], ["-misset", "expects 3 values, got 2"]),
    (BASE + ["-cell"], ["-cell", "expected 1 to 6 numbers"]),
    (BASE + ["-cell", "-distance", "100"], ["-cell", "expected 1 to 6 numbers"]),
    (BASE + ["-hkl"], ["-hkl", "expects 1 value"]),
    (BASE + ["-hkl", "-distance", "100"], ["-hkl", "expected a file name", "-distance"]),
    # array library settings: named, and rejected before any work
    (BASE + ["--backend", "nosuch"], ["--backend", "'nosuch'", "numpy"]),
    (BASE + ["--dtype", "float16"], ["--dtype", "'float16'", "float32"]),
    (BASE + ["--device", "cuda:7"], ["--device", "cuda:7"]),
    # absurd sizes fail with a message instead of running out of memory or forever
    (BASE + ["-detpixels", "1000000"], ["-detpixels", "too large"]),
    (BASE + ["-distance", "1e-300"], ["-distance", "detector plane passes 1e-303 m from the sample"]),
])
def test_bad_values(work, capsys, argv, needles):
    err = _fail(argv, capsys)
    for needle in needles:
        assert needle in err, (needle, err)


def test_cell_with_fewer_values_before_another_flag_is_fine(work, capsys):
    # -cell takes 1 to 6 numbers: the next flag ends the list
    assert main(BASE + ["-cell", "100", "100", "100", "-distance", "100"]) == 0
    assert main(BASE + ["-cell", "100", "-N", "5"]) == 0
    assert Path(OUT).stat().st_size == 16 * 16 * 4


# --- input files ------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, needles", [
    # missing or unreadable files
    (BASE + ["-hkl", "missing.hkl"], ["-hkl", "missing.hkl", "does not exist"]),
    (BASE + ["-hkl", "adir"], ["-hkl", "adir", "directory"]),
    (["-mat", "missing.mat", "-lambda", "6.2", "-default_F", "1", "-floatfile", OUT],
     ["-mat", "missing.mat", "does not exist"]),
    (BASE + ["-sourcefile", "missing.txt"], ["-sourcefile", "missing.txt", "does not exist"]),
    (BASE + ["-mask", "missing.img"], ["-mask", "missing.img", "does not exist"]),
    (BASE + ["-img", "missing.img"], ["-img", "missing.img", "does not exist"]),
    # malformed HKL lines: the flag, the file and the line
    (BASE + ["-hkl", "bad_line3.hkl"], ["-hkl", "bad_line3.hkl", "line 3", "'x'"]),
    (BASE + ["-hkl", "three_cols.hkl"], ["-hkl", "three_cols.hkl", "line 3", "found 3"]),
    # matrix files
    (MAT_BASE[:1] + ["two_lines.mat"] + MAT_BASE[2:], ["-mat", "two_lines.mat", "line 2", "expected 9"]),
    (MAT_BASE[:1] + ["nonnumeric.mat"] + MAT_BASE[2:], ["-mat", "nonnumeric.mat", "line 2", "'zz'"]),
    # source files
    (BASE + ["-sourcefile", "bad.src"], ["-sourcefile", "bad.src", "line 3", "'abc'"]),
    # masks: not SMV, or a size other than the detector's
    (BASE + ["-mask", "text.mask"], ["-mask", "text.mask", "not an SMV"]),
    (BASE + ["-mask", "mask.img"], ["-mask", "mask.img", "16x16"]),
])
def test_bad_files(work, capsys, argv, needles):
    err = _fail(argv, capsys)
    for needle in needles:
        assert needle in err, (needle, err)
    assert not Path("Fdump.bin").exists()


def test_bad_file_after_good_hkl_writes_no_cache(work, capsys):
    # the Fdump.bin cache is written only once every input has been checked
    err = _fail(BASE + ["-hkl", "pattern.hkl", "-sourcefile", "bad.src"], capsys)
    assert "bad.src, line 3" in err
    assert not Path("Fdump.bin").exists()


# --- missing required inputs --------------------------------------------------------------------

def test_no_cell_and_no_matrix(work, capsys):
    err = _fail(["-default_F", "100", "-detpixels", "16", "-floatfile", OUT], capsys)
    assert "-cell" in err and "-mat" in err


def test_no_structure_factors(work, capsys):
    assert not Path("Fdump.bin").exists()
    err = _fail(["-cell", "100", "100", "100", "-detpixels", "16", "-floatfile", OUT], capsys)
    assert "-hkl" in err and "-default_F" in err and "Fdump.bin" in err
    err = _fail(["-cell", "100", "100", "100", "-default_F", "0", "-detpixels", "16",
                 "-floatfile", OUT], capsys)
    assert "-hkl" in err


# --- outputs ------------------------------------------------------------------------------------

def test_existing_output_untouched_by_failed_run(work, capsys):
    before = bytes(range(256)) * 4
    Path(OUT).write_bytes(before)
    mtime = os.stat(OUT).st_mtime_ns
    status = main(BASE + ["-hkl", "bad_line3.hkl"])
    err = capsys.readouterr().err
    assert status == 2
    assert "bad_line3.hkl, line 3" in err
    assert Path(OUT).read_bytes() == before
    assert os.stat(OUT).st_mtime_ns == mtime
    assert not any(p.name.startswith(".xbragg-") for p in Path(".").iterdir())


def test_unwritable_output_fails_before_rendering(work, capsys, monkeypatch):
    import xbragg.cli.main as cli_main

    def no_render(*args, **kwargs):
        raise AssertionError("render must not be reached")

    monkeypatch.setattr(cli_main, "render", no_render)
    args = [a if a != OUT else "nodir/out.bin" for a in BASE]
    status = main(args)
    captured = capsys.readouterr()
    assert status == 2
    assert "-floatfile" in captured.err and "nodir/out.bin" in captured.err
    assert "does not exist" in captured.err
    assert captured.out == ""                       # failed before the setup printout
    assert not Path("nodir").exists()


def test_output_path_is_a_directory(work, capsys):
    args = [a if a != OUT else "adir" for a in BASE]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "-floatfile" in err and "adir" in err and "directory" in err


# --- the real process -------------------------------------------------------------------------

@pytest.mark.parametrize("extra, needle", [
    (["-distanc", "100"], "did you mean -distance?"),
    (["-hkl", "bad_line3.hkl"], "line 3"),
])
def test_exit_status_of_the_process(work, extra, needle):
    proc = subprocess.run([sys.executable, "-m", "xbragg", *BASE, *extra], capture_output=True,
                          text=True, cwd=work, env=child_env(), timeout=60)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (work / OUT).exists()
