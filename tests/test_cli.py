"""The command line: help, the flag table, a real run, printed statistics, Fdump.bin, progress."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import xbragg.cli.parse as parse_module
from xbragg.cli.flags import FLAGS, flag_index
from xbragg.cli.main import main, run
from xbragg.cli.parse import CHOICES, help_text, parse_args
from xbragg.cli.progress import ProgressBar, progress_for
from xbragg.setup.options import SimulationOptions

from processes import child_env

GOLDEN = Path(__file__).resolve().parent / "reference"  # the golden cases (tests/reference/README.md)
INPUTS = GOLDEN / "inputs"

SMALL = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-distance", "100",
         "-lambda", "6.2", "-N", "5", "-detpixels", "16", "-floatfile", "out.bin", "-noprogress"]

#: keys of ParsedArgs.settings that cli.main reads
SETTINGS_KEYS = {"floatfile", "nonoise", "nopgm", "progress", "backend", "device", "dtype",
                 "memory_budget_mib", "trace_pixel", "trace_panel", "compile", "exptfile"}
# integer, noise and PGM outputs and the noise seed
SETTINGS_KEYS |= {"intfile", "noisefile", "pgmfile", "scale", "pgmscale", "adc", "seed"}
# the memory limit (issue 10)
SETTINGS_KEYS |= {"memory_limit_gib"}
# the reference's per-pixel printout and its amorphous structure-factor file
SETTINGS_KEYS |= {"printout", "printout_pixel", "stol"}
# the structure-factor cache (-dump): the command line's, not the library's (issue 11)
SETTINGS_KEYS |= {"hkl_cache"}
# files for processing programs: NXmx, miniCBF, the SMV ADC offset (issue 13)
SETTINGS_KEYS |= {"nexusfile", "nexus_counts", "cbffile", "smv_adc_offset"}


# --- help -----------------------------------------------------------------------------------

def _help_entries(text: str) -> dict[str, str]:
    """Each spelling in the help to the description line of its entry."""
    lines = text.splitlines()
    entries = {}
    for i, line in enumerate(lines):
        if line.startswith("  ") and not line.startswith("   ") and i + 1 < len(lines):
            for spelling in line.strip().split(", "):
                entries[spelling.split(" ")[0]] = lines[i + 1]
    return entries


def test_help_lists_every_spelling_with_unit_and_default(capsys):
    assert main(["-h"]) == 0
    out = capsys.readouterr().out
    assert out == help_text()
    entries = _help_entries(out)
    for flag in FLAGS:
        for spelling in flag.names:
            assert spelling in entries, spelling
            description = entries[spelling]
            assert flag.help in description, spelling
            if flag.unit:
                assert f"unit: {flag.unit}" in description, spelling
            if flag.default:
                assert f"default: {flag.default}" in description, spelling
    assert "--phi-carryover" in entries
    for spelling in ("-h", "--help"):
        assert spelling in out


@pytest.mark.parametrize("spelling", ["-h", "--help", "-help"])
def test_help_spellings_write_no_file(tmp_path, monkeypatch, capsys, spelling):
    monkeypatch.chdir(tmp_path)
    assert main(SMALL + [spelling]) == 0
    assert "usage: xbragg" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


# --- the flag table -------------------------------------------------------------------------

def test_no_duplicate_spelling():
    spellings = [name for flag in FLAGS for name in flag.names]
    assert len(spellings) == len(set(spellings))
    assert len(flag_index()) == len(spellings)
    assert all(name.startswith("-") for name in spellings)
    assert {"--phi-carryover", "--c-parity"} <= set(spellings)


def _dummy_values(flag) -> list[str]:
    if flag.nargs == 0:
        return []
    if flag.nargs < 0:                              # -cell: up to |nargs| numbers
        return ["100", "100", "100", "90", "90", "90"][: -flag.nargs]
    if flag.name in CHOICES:
        return [CHOICES[flag.name][-1]] * flag.nargs
    if flag.kind == "str":                          # --device
        return ["cpu"] * flag.nargs
    if flag.kind == "path":
        return ["file.txt"] * flag.nargs
    return ["2"] * flag.nargs                       # numbers: positive, integral, above minimum


class RecordingOptions(SimulationOptions):
    """SimulationOptions that records every attribute a flag sets after construction."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "_set", [])
        object.__setattr__(self, "_ready", True)

    def __setattr__(self, name, value):
        if getattr(self, "_ready", False):
            self._set.append(name)
        object.__setattr__(self, name, value)


@pytest.mark.parametrize("flag", FLAGS, ids=lambda f: f.name)
def test_every_flag_parses_and_sets_real_fields(flag, monkeypatch):
    monkeypatch.setattr(parse_module, "SimulationOptions", RecordingOptions)
    fields = set(SimulationOptions.field_names())
    for spelling in flag.names:
        parsed = parse_args([spelling] + _dummy_values(flag))
        touched = parsed.options._set
        assert touched or parsed.settings or parsed.notes, f"{spelling} changes nothing"
        unknown = set(touched) - fields
        assert not unknown, f"{spelling} sets {unknown}, which are not SimulationOptions fields"
        assert set(parsed.settings) <= SETTINGS_KEYS, spelling
        assert flag.apply is not None


def test_values_and_units_reach_the_options():
    p = parse_args(["-distance", "250", "-pixel", "0.172", "-lambda", "1.5", "-detpixels_x", "20",
                    "-detpixels_y", "30", "-cell", "50", "60", "70", "-N", "3", "-samplesize", "0.01",
                    "-divergence", "2", "-dispersion", "1", "-detector_abs", "inf", "-floatfile", "f.bin"])
    o = p.options
    assert o.distance_m == pytest.approx(0.25)
    assert o.pixel_size_m == pytest.approx(0.172e-3)
    assert o.wavelength_m == pytest.approx(1.5e-10)
    assert (o.fpixels, o.spixels) == (20, 30)
    assert o.cell_A == (50.0, 60.0, 70.0) and o.cell_angles_deg is None
    assert o.Na == o.Nb == o.Nc == 3
    assert o.sample_x_m == o.sample_y_m == o.sample_z_m == pytest.approx(1e-5)
    assert o.hdivrange_rad == o.vdivrange_rad == pytest.approx(2e-3)
    assert o.dispersion == pytest.approx(0.01)
    assert o.detector_abs_m == float("inf")
    assert o.pivot_from_flags == "beam"
    assert p.settings["floatfile"] == "f.bin"
    assert {"distance_m", "pixel_size_m", "wavelength_m", "fpixels", "spixels"} <= p.explicit


def test_later_flags_override_earlier_ones():
    p = parse_args(["-distance", "100", "-close_distance", "90", "-lambda", "1", "-energy", "12398.42"])
    assert p.options.pivot_from_flags == "sample"
    assert p.options.wavelength_m == pytest.approx(1e-10)


# --- a real run -------------------------------------------------------------------------------

def test_python_m_xbragg_writes_the_float_file(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "xbragg", *SMALL], capture_output=True, text=True,
                          cwd=tmp_path, env=child_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out.bin"
    assert out.stat().st_size == 16 * 16 * 4
    image = np.fromfile(out, dtype="<f4")
    assert np.isfinite(image).all() and image.max() > 0
    assert "writing out.bin as 256 4-byte floats" in proc.stdout
    assert proc.stderr == ""                        # stderr is a pipe: no progress bar
    # like the reference, the integer, noise and PGM images are written too, under their default names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.pgm", "intimage.img", "noiseimage.img", "out.bin"]


def _stat_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("max_I = ", "mean= "))]


def test_statistics_match_the_reference(tmp_path, monkeypatch, capsys):
    args = ("-cell 100 100 100 90 90 90 -default_F 100 -distance 100 -pixel 0.1 -lambda 6.2 -N 5 "
            "-detpixels 128 -floatfile float.bin -noprogress -nonoise -nopgm").split()
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    ours = _stat_lines(capsys.readouterr().out)
    reference = _stat_lines((GOLDEN / "cubic_default" / "stdout.txt").read_text())
    assert len(reference) == 2
    assert ours == reference
    assert (tmp_path / "float.bin").stat().st_size == 128 * 128 * 4


def test_fdump_written_and_read_back(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(INPUTS / "pattern.hkl", tmp_path / "pattern.hkl")
    common = ["-cell", "100", "100", "100", "90", "90", "90", "-distance", "100", "-lambda", "6.2",
              "-N", "5", "-detpixels", "16", "-noprogress"]
    assert main(common + ["-hkl", "pattern.hkl", "-floatfile", "first.bin"]) == 0
    first_out = capsys.readouterr().out
    assert (tmp_path / "Fdump.bin").is_file()
    assert "10 initialized hkls" in first_out
    assert main(common + ["-floatfile", "second.bin"]) == 0
    second_out = capsys.readouterr().out
    first = (tmp_path / "first.bin").read_bytes()
    assert first == (tmp_path / "second.bin").read_bytes()
    assert np.frombuffer(first, dtype="<f4").max() > 0
    assert _stat_lines(first_out) == _stat_lines(second_out)
    # without the cache, the same run has no structure factors
    (tmp_path / "Fdump.bin").unlink()
    assert main(common + ["-floatfile", "third.bin"]) == 2
    assert "Fdump.bin" in capsys.readouterr().err


# --- progress bar -----------------------------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_for():
    assert progress_for(True, FakeTerminal()) is not None
    assert progress_for(False, FakeTerminal()) is None
    assert progress_for(True, io.StringIO()) is None


def test_progress_bar_draws_and_ends_line():
    stream = FakeTerminal()
    bar = ProgressBar(stream)
    bar(5, 10)
    bar(10, 10)
    text = stream.getvalue()
    assert "100.0%" in text and text.endswith("\n")


@pytest.mark.parametrize("flag, terminal, shown", [
    ("-noprogress", True, False),
    ("-progress", True, True),
    ("-progress", False, False),
])
def test_progress_on_stderr(tmp_path, monkeypatch, flag, terminal, shown):
    monkeypatch.chdir(tmp_path)
    err = FakeTerminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    out = io.StringIO()
    assert run([a for a in SMALL if a != "-noprogress"] + [flag], out=out) == 0
    text = err.getvalue()
    assert ("%" in text) == shown, text
    if not shown:
        assert text == ""
    assert "\r" not in out.getvalue()
