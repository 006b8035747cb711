"""Bad input gives a clear error, never a traceback.

Generated HKL, matrix and source files, and flag lists made of the known flags of
``xbragg.cli.flags.FLAGS`` with values of the right and the wrong kinds, must give
either a valid experiment (which then renders) or an :class:`xbragg.errors.XbraggError`
with a non-empty message; through ``xbragg.cli.main.main`` either exit status 0 or
exit status 2 with exactly one line on stderr.  Any other exception fails.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

import xbragg
from xbragg.cli.flags import FLAGS
from xbragg.cli.main import main
from xbragg.errors import InputError, XbraggError

BASE = ["-cell", "40", "50", "60", "90", "90", "90", "-default_F", "10", "-lambda", "1.2", "-distance", "60"]
TINY = ["-detpixels", "3", "-oversample", "1"]

# ---------------------------------------------------------------------------------------------
# tokens and file contents

numbers = st.one_of(
    st.integers(-30, 30).map(str),
    st.integers(-2**40, 2**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-100, 100).map(lambda x: f"{x:.3f}"),
    st.sampled_from(["0", "-0", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf", "Infinity", "1_000",
                     "0x10", "1e", ".", "-", "+5", "3.0", "1e3"]),
)
# no NUL: a command line (C strings) cannot carry one
words = st.one_of(st.text("abcxyzHKL#_-+.,;:!/ \t", min_size=1, max_size=8),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
                          min_size=1, max_size=4))
tokens = st.one_of(numbers, numbers, numbers, words)
# finite numbers of ordinary size (non-finite and huge matrix entries: known defects, see below)
moderate_tokens = st.one_of(st.floats(-1.0, 1.0).map(repr), st.integers(-3, 3).map(str), words)


def lines_of(row, tokens=tokens):
    """File text: well-formed rows mixed with blank lines, comments and random token rows."""
    line = st.one_of(row, row, st.just(""), st.just("# comment"), st.lists(tokens, max_size=7).map(" ".join))
    return st.tuples(st.lists(line, max_size=12), st.sampled_from(["", "\n", "\r\n"])).map(
        lambda parts: parts[1].join(parts[0]) if parts[1] else "\n".join(parts[0]))

hkl_rows = st.tuples(*[st.integers(-6, 6).map(str)] * 3, st.floats(0, 1e4).map(repr)).map(" ".join)
mat_rows = st.lists(st.floats(-0.05, 0.05).map(repr), min_size=3, max_size=3).map(" ".join)
source_rows = st.lists(st.one_of(st.floats(-20, 20).map(repr), st.floats(0.5e-10, 2e-10).map(repr), numbers),
                       min_size=1, max_size=6).map(
    lambda xs: "".join(x + (" " if i % 3 else ",") for i, x in enumerate(xs)))


def expect_valid_or_clear_error(fn):
    """``fn()`` or None when it raised an XbraggError with a message; anything else propagates."""
    try:
        return fn()
    except XbraggError as exc:
        assert str(exc).strip(), f"empty message from {type(exc).__name__}"
        return None


def build_and_render(flags: list[str], base: list[str] = BASE):
    exp = xbragg.build_experiment(xbragg.options_from_flags(base + flags + TINY))
    return xbragg.render(exp, workers=1).image


def _file_case(flag: str, content: str | bytes, base: list[str] = BASE):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "input")
        with open(path, "wb") as handle:
            handle.write(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
        note(f"{flag} file: {content!r}")
        expect_valid_or_clear_error(lambda: build_and_render([flag, path], base))


@given(content=lines_of(hkl_rows))
def test_hkl_files_give_an_experiment_or_a_clear_error(content):
    _file_case("-hkl", content)


NO_CELL = BASE[7:]      # -default_F, -lambda, -distance: the matrix alone gives the cell


@given(content=lines_of(mat_rows, moderate_tokens))
def test_matrix_files_give_an_experiment_or_a_clear_error(content):
    _file_case("-mat", content, NO_CELL)


def _matrix_error(content: str, base: list[str]) -> str:
    """The message of the :class:`InputError` that a -mat file holding ``content`` gives."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "A.mat")
        with open(path, "w") as handle:
            handle.write(content)
        with pytest.raises(InputError) as info:
            build_and_render(["-mat", path], base)
    return str(info.value)


def test_singular_matrix_with_cell_gives_a_clear_error():
    # -cell is given too, but the matrix sets the crystal: its error, not an image of the -cell
    message = _matrix_error("0 0 0\n0 0 0\n0 0 0\n", BASE)
    assert message.startswith("-mat: ") and "degenerate" in message, message


def test_huge_matrix_entries_give_a_clear_error():
    # without -cell, a matrix that is not read would give "-cell: no crystal given" instead
    message = _matrix_error("0 0 1\n1e308 0 0\n0 0.03125 0\n", NO_CELL)
    assert message.startswith("-mat: ") and "out of range" in message, message


def test_nan_in_matrix_gives_a_clear_error_on_the_command_line():
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        with open("nan.mat", "w") as handle:
            handle.write("0.01 0 0\n0 0.01 0\n0 0 nan\n")
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            status = main(NO_CELL + ["-mat", "nan.mat"] + TINY + ["-noprogress"])
    assert status == 2 and len(err.getvalue().splitlines()) == 1


@given(content=lines_of(source_rows))
def test_source_files_give_an_experiment_or_a_clear_error(content):
    _file_case("-sourcefile", content)


@given(content=st.binary(max_size=200))
def test_binary_garbage_gives_a_clear_error(content):
    for flag in ("-hkl", "-mat", "-sourcefile"):
        _file_case(flag, content)


# ---------------------------------------------------------------------------------------------
# flag lists through the command line

FILE_FLAGS = {"-hkl", "-mat", "-sourcefile", "-mask", "-img"}


def _good_value(flag, kind: str):
    if kind == "int":
        return st.integers(-3, 6).map(str)
    if kind in ("float", "float_or_inf"):
        return st.one_of(st.floats(-5, 200).map(lambda x: f"{x:.4g}"), st.sampled_from(["0", "1", "90", "0.1"]))
    if kind == "seed":
        return st.integers(-2**31, 2**31).map(str)
    if kind == "str":
        return st.sampled_from(["beam", "sample", "BEAM", "numpy", "torch", "array_api_strict", "cupy",
                                "float64", "float32", "cpu", "meta", "cuda", "nosuch"])
    if kind == "path":
        if set(flag.names) & FILE_FLAGS:
            return st.sampled_from(["good.hkl", "good.mat", "good.src", "good.img", "missing.file", ".",
                                    "bad.hkl"])
        return st.sampled_from(["out.bin", "out.img", "out.pgm", "nodir/out.img", ".", "out2.img"])
    return st.just("")


bad_values = st.one_of(st.sampled_from(["abc", "nan", "inf", "-inf", "1e999", "", "-", "--", "1.5", "-1",
                                        "0", "1e10", "-cell", "-N", "2147483648", "0x1f", "rand", "random"]),
                       words)


@st.composite
def flag_uses(draw):
    flag = draw(st.sampled_from(FLAGS))
    name = draw(st.sampled_from(flag.names))
    n = abs(flag.nargs) if flag.nargs < 0 else flag.nargs
    if flag.nargs < 0:
        n = draw(st.integers(1, n))
    good = _good_value(flag, flag.kind)
    vals = [draw(st.one_of(good, good, good, bad_values)) for _ in range(n)]
    if n and draw(st.integers(0, 9)) == 0:
        vals = vals[:draw(st.integers(0, n - 1))]       # too few values
    return [name, *vals]


GOOD_FILES = {
    "good.hkl": "0 0 1 100\n1 2 3 50.5\n-1 0 0 7\n",
    "good.mat": "0.01 0.0 0.0\n0.0 0.012 0.0\n0.0 0.0 0.014\n",
    "good.src": "-10 0 0 1 1.2e-10\n-10 0.01 0 1\n",
    "bad.hkl": "1 2 3\nx y z w\n",
}


def _write_inputs(tmp: str) -> None:
    for name, text in GOOD_FILES.items():
        with open(os.path.join(tmp, name), "w") as handle:
            handle.write(text)
    from xbragg.io.smv import write_smv
    write_smv(os.path.join(tmp, "good.img"), np.ones((3, 3), dtype=np.uint16),
              [("PIXEL_SIZE", "0.1"), ("DISTANCE", "80"), ("WAVELENGTH", "1.1")])


@given(uses=st.lists(flag_uses(), max_size=6))
def test_flag_lists_give_exit_status_0_or_one_clear_error_line(uses):
    # a valid baseline first, the drawn flags, then a tiny detector so that valid runs stay fast
    argv = BASE + [tok for use in uses for tok in use] + TINY + ["-noprogress"]
    note(f"argv: {argv}")
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):
        _write_inputs(tmp)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    note(f"stderr: {err.getvalue()!r}")
    event(f"exit status {status}")
    assert status in (0, 2)
    if status == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("xbragg: error: ") and lines[0][15:].strip()
