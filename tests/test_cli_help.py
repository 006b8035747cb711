"""First contact with the command line: --version, the help's examples and subcommands, and
"did you mean" suggestions for mistyped flags."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

import xbragg
from xbragg.cli.flags import flag_index
from xbragg.cli.main import main, run
from xbragg.cli.parse import EXAMPLES, OWN_SPELLINGS, SUBCOMMANDS, edit_distance, help_text, parse_args, suggest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spelling", ["--version", "-version"])
def test_version_prints_the_package_version(spelling, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = subprocess.run([sys.executable, "-m", "xbragg", spelling], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"xbragg {xbragg.__version__}\n", "")
    assert list(tmp_path.iterdir()) == []          # no simulation ran


def test_version_has_one_source():
    tomllib = pytest.importorskip("tomllib")        # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "xbragg.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", xbragg.__version__)


def test_help_opens_with_three_examples_and_lists_the_subcommands():
    out = io.StringIO()
    assert run(["-h"], out=out) == 0
    text = out.getvalue()
    assert text == help_text()
    head = text.split("\nsubcommands:")[0]
    commands = [line.strip() for line in head.splitlines() if line.strip().startswith("xbragg -")
                or line.strip().startswith("xbragg compare")]
    assert commands == [command for _, command in EXAMPLES] and len(commands) == 3
    listed = text.split("\nsubcommands:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in listed] == list(SUBCOMMANDS) == ["compare", "trace-diff", "series"]
    assert text.index("subcommands:") < text.index("crystal:")


@pytest.mark.parametrize("comment, command", EXAMPLES)
def test_help_examples_are_valid_commands(comment, command):
    words = command.split()
    assert words[0] == "xbragg"
    if words[1] in SUBCOMMANDS:
        # a subcommand's own options, then the simulation flags after "--"
        words = words[words.index("--") + 1:]
    else:
        words = words[1:]
    parse_args(words)             # raises on an unknown flag or a bad value


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_subcommand_help_exits_0(name, capsys):
    assert main([name, "-h"]) == 0
    assert f"xbragg {name}" in capsys.readouterr().out


@pytest.mark.parametrize("typo, meant", [
    ("-detpixel", "-detpixels"), ("-lamda", "-lambda"), ("-distanse", "-distance"), ("-hkll", "-hkl"),
    ("--backedn", "--backend"), ("-backend", "--backend"), ("--lambda", "-lambda"), ("-orgx", "-ORGX"),
    ("-mosaic_spred", "-mosaic_spread"), ("-pix", "-pixel"), ("--phi_carryover", "--phi-carryover"),
    ("--verison", "--version"), ("-floatfil", "-floatfile"),
])
def test_suggestion_is_the_nearest_flag(typo, meant):
    assert suggest(typo) == meant
    names = [*flag_index(), *OWN_SPELLINGS]
    assert edit_distance(typo.lower(), meant.lower()) == min(edit_distance(typo.lower(), n.lower())
                                                             for n in names)


@pytest.mark.parametrize("far", ["-foobar", "-tilt", "--qwertyuiop"])
def test_no_suggestion_when_nothing_is_near(far, capsys):
    assert suggest(far) is None
    assert main([far, "1"]) == 2
    err = capsys.readouterr().err
    assert f"unknown flag {far} (xbragg -h lists every flag)" in err and "did you mean" not in err


@pytest.mark.parametrize("a, b, distance", [
    ("", "", 0), ("abc", "", 3), ("kitten", "sitting", 3), ("backedn", "backend", 1), ("ab", "ba", 1),
    ("ca", "abc", 3), ("-foobar", "-nopolar", 3), ("lamda", "lambda", 1),
])
def test_edit_distance(a, b, distance):
    assert edit_distance(a, b) == distance == edit_distance(b, a)
