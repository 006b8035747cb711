"""Non-finite, impossible and oversized input (issue 10, items 4 and 6-10).

Each case is refused with one line naming the flag, file, line or header key and what was
expected, or runs within its memory: a structure-factor cache read silently, NaN/Inf
amplitudes, non-finite SMV header values, wavelengths made non-positive by -dispersion,
degenerate detector geometry, and runs too large for memory.
"""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import xbragg.io.hkl as hkl_module
from xbragg.backends import to_numpy
from xbragg.cli.main import main
from xbragg.cli.parse import help_text
from xbragg.errors import InputError
from xbragg.io.hkl import HKLTable, read_fdump, read_hkl, write_fdump
from xbragg.io.smv import write_smv
from xbragg.render import render
from xbragg.setup.experiment import build_experiment
from xbragg.setup.options import SimulationOptions
from xbragg.setup.geometry import unitize

from cli_refusal import expect_refusal

ROOT = Path(__file__).resolve().parents[1]
OUT = "out.bin"
BASE = ["-cell", "100", "100", "100", "90", "90", "90", "-lambda", "6.2", "-N", "5", "-detpixels", "16",
        "-floatfile", OUT, "-nonoise", "-nopgm", "-noprogress"]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fail(argv, capsys) -> str:
    return expect_refusal(argv, capsys, OUT)


AS_LIMIT = 6 * 2**30


def _run_child(argv: list[str], cwd: Path) -> tuple[int, str, str, int]:
    """The CLI in a fresh process: (status, stdout, stderr, peak RSS in bytes of it and its workers)."""
    # an address-space cap: a build that allocated what these runs must not fails here with
    # MemoryError instead of exhausting the machine
    code = ("import resource, sys\n"
            f"resource.setrlimit(resource.RLIMIT_AS, ({AS_LIMIT}, {AS_LIMIT}))\n"
            "from xbragg.cli.main import main\n"
            "status = main(sys.argv[1:])\n"
            "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.stderr.write(f'PEAK_KB {peak}\\n')\n"
            "sys.exit(status)\n")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)
    lines = proc.stderr.splitlines()
    peak = int(lines[-1].split()[1]) * 1024
    return proc.returncode, proc.stdout, "\n".join(lines[:-1]), peak


# --- item 4: the Fdump.bin cache of another run -----------------------------------------------

def test_reading_the_cache_is_announced_with_its_size(work, capsys):
    (work / "small.hkl").write_text("0 0 0 10\n1 2 -3 5\n")
    assert main(BASE + ["-hkl", "small.hkl"]) == 0
    assert "reading Fs" not in capsys.readouterr().out
    assert Path("Fdump.bin").exists()
    # a later run without -hkl, even with -default_F, reads that cache: it says which and how big
    assert main(BASE + ["-default_F", "3"]) == 0
    out = capsys.readouterr().out
    assert "reading Fs from Fdump.bin" in out
    assert "h 0..1 k 0..2 l -3..0 (24 values)" in out


def test_help_says_what_two_runs_in_one_directory_share():
    text = help_text()
    hkl_help = text.split("  -hkl X\n", 1)[1].split("\n  -", 1)[0]
    assert "Fdump.bin" in hkl_help and "without -hkl reads" in hkl_help and "share" in hkl_help
    int_help = text.split("  -intfile X", 1)[1].split("\n  -", 1)[0]
    assert "two runs in one directory write the same intimage.img" in int_help


# --- item 6: non-finite and overflowing amplitudes ----------------------------------------------

@pytest.mark.parametrize("token, needle", [("nan", "F = nan is not a finite number"),
                                           ("inf", "F = inf is not a finite number"),
                                           ("-Infinity", "F = -Infinity is not a finite number"),
                                           ("1e200", "F = 1e200 is too large: F*F would overflow")])
def test_hkl_amplitude_must_be_finite(tmp_path, token, needle):
    path = tmp_path / "bad.hkl"
    path.write_text(f"0 0 0 10\n# comment\n1 0 0 {token}\n")
    with pytest.raises(InputError) as info:
        read_hkl(path)
    assert str(info.value).startswith(f"-hkl: {path}, line 3: {needle}")


def test_fdump_with_non_finite_amplitude_is_refused(tmp_path):
    F = np.full((2, 2, 2), 5.0)
    F[1, 0, 1] = np.nan
    path = tmp_path / "Fdump.bin"
    write_fdump(path, HKLTable(0, 1, -1, 0, 2, 3, F, 8))
    with pytest.raises(InputError, match=r"F\(1,-1,3\) = nan is not finite"):
        read_fdump(path)


def test_image_overflow_is_one_clear_error_without_numpy_warnings(work):
    # |F| is accepted (its square is finite) but the intensity overflows float32; 1024x1024
    # pixels render in forked workers, whose warnings would reach stderr too
    (work / "huge.hkl").write_text("0 0 0 1e150\n1 0 0 1e150\n")
    argv = [a for a in BASE if a not in ("-detpixels", "16")] + ["-hkl", "huge.hkl"]
    status, out, err, _ = _run_child(argv, work)
    assert status == 2
    assert err.startswith("xbragg: error: ") and len(err.splitlines()) == 1, err
    assert "not finite" in err and "largest |F| 1e+150" in err
    assert "Warning" not in err and "Traceback" not in err
    assert not (work / OUT).exists()


def test_image_overflow_is_written_with_a_warning_under_c_parity(work):
    # the reference writes the overflowed (inf) image; --c-parity does the same and says so
    (work / "huge.hkl").write_text("0 0 0 1e150\n1 0 0 1e150\n")
    status, out, err, _ = _run_child(BASE + ["-hkl", "huge.hkl", "--c-parity"], work)
    assert status == 0, err
    assert err.startswith("xbragg: warning: ") and "not finite" in err and "--c-parity" in err
    assert "Traceback" not in err and "RuntimeWarning" not in err
    image = np.fromfile(work / OUT, dtype="<f4")
    assert np.isinf(image).any()


# --- item 7: SMV header values ---------------------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("DISTANCE", "nan", "a positive finite number"), ("DISTANCE", "inf", "a positive finite number"),
    ("DISTANCE", "0", "a positive finite number"), ("PIXEL_SIZE", "nan", "a positive finite number"),
    ("WAVELENGTH", "-1", "a positive finite number"), ("CLOSE_DISTANCE", "-5", "a positive finite number"),
    ("PHI", "nan", "a finite number"), ("OSC_RANGE", "inf", "a finite number"),
    ("BEAM_CENTER_X", "nan", "a finite number"), ("BEAM_CENTER_Y", "-inf", "a finite number"),
    ("ORGX", "nan", "a finite number")])
@pytest.mark.parametrize("flag", ["-img", "-mask"])
def test_header_values_are_checked_like_flag_values(work, capsys, key, value, expected, flag):
    write_smv("header.img", np.ones((16, 16), dtype=np.uint16), [(key, value)])
    err = _fail(BASE + ["-default_F", "1", flag, "header.img"], capsys)
    assert f"{flag}: header.img: {key}={value}: expected {expected}" in err


@pytest.mark.parametrize("key", ["SIZE1", "HEADER_BYTES"])
def test_non_finite_sizes_are_refused(work, capsys, key):
    write_smv("header.img", np.ones((16, 16), dtype=np.uint16))
    raw = Path("header.img").read_bytes()
    start = raw.index(key.encode() + b"=")
    end = raw.index(b";", start)
    Path("header.img").write_bytes(raw[:start] + f"{key}=nan".encode().ljust(end - start) + raw[end:])
    err = _fail(BASE + ["-default_F", "1", "-img", "header.img"], capsys)
    assert "-img: header.img" in err and key in err and "positive integer" in err


# --- item 8: dispersion -----------------------------------------------------------------------------

@pytest.mark.parametrize("extra, wavelength", [(["-dispersion", "200"], "0 A"),
                                               (["-dispersion", "300"], "-3.1 A"),
                                               (["-dispersion", "250", "-dispsteps", "5"], "-1.55 A")])
def test_dispersion_making_a_wavelength_non_positive_is_refused(work, capsys, extra, wavelength):
    err = _fail(BASE + ["-default_F", "1"] + extra, capsys)
    assert err.startswith("xbragg: error: -dispersion: ") and f"source wavelength of {wavelength}" in err


def test_dispersion_below_200_percent_runs(work, capsys):
    assert main(BASE + ["-default_F", "1", "-dispersion", "150", "-dispsteps", "3"]) == 0
    assert np.isfinite(np.fromfile(OUT, dtype="<f4")).all()


def test_source_file_wavelength_and_position_must_be_usable(work, capsys):
    Path("s.txt").write_text("-10 0 0 1 1e-10\n-10 0 0 1 -1e-10\n")
    assert "-sourcefile: s.txt, line 2: lambda = -1e-10" in _fail(BASE + ["-default_F", "1", "-sourcefile",
                                                                        "s.txt"], capsys)
    Path("s.txt").write_text("-inf 0 0 1\n")
    assert "line 1: X = -inf: expected a finite number" in _fail(BASE + ["-default_F", "1", "-sourcefile",
                                                                       "s.txt"], capsys)


# --- item 9: degenerate geometry ---------------------------------------------------------------------

def test_twotheta_90_about_the_beam_spot_is_degenerate_geometry(work, capsys):
    err = _fail(BASE + ["-default_F", "1", "-twotheta", "90"], capsys)
    assert err.startswith("xbragg: error: -twotheta: the detector plane passes")
    assert "degenerate" in err and "-oversample" not in err
    # about the sample, the same swing is a valid geometry
    assert main(BASE + ["-default_F", "1", "-twotheta", "90", "-pivot", "sample"]) == 0


@pytest.mark.parametrize("flag", ["-fdet_vector", "-sdet_vector", "-odet_vector", "-beam_vector",
                                  "-polar_vector", "-spindle_axis", "-twotheta_axis"])
def test_zero_direction_vectors_are_refused(work, capsys, flag):
    err = _fail(BASE + ["-default_F", "1", flag, "0", "0", "0"], capsys)
    assert err == f"xbragg: error: {flag}: a direction must not be the zero vector"


def test_parallel_fast_and_slow_axes_are_refused(work, capsys):
    err = _fail(BASE + ["-default_F", "1", "-fdet_vector", "0", "0", "1", "-sdet_vector", "0", "0", "-2"],
                capsys)
    assert "-fdet_vector, -sdet_vector: the fast axis (0 0 1) and the slow axis (0 0 -1) are parallel" in err


def test_unitize_warns_never_and_keeps_the_direction_of_huge_vectors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit, length = unitize(np.array([1e200, -1e200, 0.0]))
        np.testing.assert_allclose(unit, [2 ** -0.5, -2 ** -0.5, 0.0], rtol=1e-15)
        assert length == np.inf
        unit, _ = unitize(np.array([np.inf, 0.0, 0.0]))
        assert np.isnan(unit[0])
        assert unitize(np.zeros(3))[0].tolist() == [0.0, 0.0, 0.0]


# --- item 10: memory -----------------------------------------------------------------------------------

def test_two_reflections_of_index_400_run_in_little_memory(work):
    (work / "far.hkl").write_text("400 400 400 100\n-400 -400 -400 50\n")
    table = read_hkl(work / "far.hkl")
    assert table.sparse and table.cells == 801 ** 3 and table.nbytes < 1000
    assert table.amplitude(400, 400, 400) == 100.0 and table.amplitude(0, 0, 0) == 0.0
    status, out, err, peak = _run_child(BASE + ["-hkl", "far.hkl", "-detpixels", "64"], work)
    assert status == 0, err
    assert peak < 2 * 10**9, peak
    assert "not writing Fdump.bin" in out and not (work / "Fdump.bin").exists()


def _sparse_and_dense(tmp_path, monkeypatch, text: str, backend: str,
                      **options) -> tuple[np.ndarray, np.ndarray]:
    path = tmp_path / "t.hkl"
    path.write_text(text)
    opts = SimulationOptions(cell_A=(30.0, 34.0, 38.0), cell_angles_deg=(90.0, 90.0, 90.0),
                             wavelength_m=1.2e-10, distance_m=0.05, fpixels=24, spixels=24,
                             pixel_size_m=0.4e-3, hkl_path=str(path),
                             misset_deg=(10.0, 20.0, 30.0), **options)
    images = []
    for dense_max in (hkl_module.DENSE_MAX_CELLS, 0):
        monkeypatch.setattr(hkl_module, "DENSE_MAX_CELLS", dense_max)
        exp = build_experiment(opts)
        assert exp.crystal.structure_factors.sparse == (dense_max == 0)
        result = render(exp, backend=backend, workers=1)
        assert not result.interpolation_fell_back      # tricubic lookups throughout when on
        images.append(to_numpy(result.image))
    return images[0], images[1]


@pytest.mark.parametrize("options", [{"interpolate": False, "Na": 5, "Nb": 5, "Nc": 5},
                                     {"interpolate": True, "Na": 2, "Nb": 2, "Nc": 2}])
@pytest.mark.parametrize("backend", ["numpy", "array_api_strict", "torch"])
def test_sparse_table_gives_the_dense_table_s_image_bit_for_bit(tmp_path, monkeypatch, options, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    # 300 reflections in a 17^3 grid, which covers every 4x4x4 neighbourhood of the image
    lines = [f"{h} {k} {l} {rng.uniform(1, 100):.4f}"
             for h, k, l in rng.integers(-8, 9, size=(300, 3))]
    dense, sparse = _sparse_and_dense(tmp_path, monkeypatch, "\n".join(lines) + "\n", backend,
                                      default_F=3.0, **options)
    assert dense.max() > 0
    assert dense.tobytes() == sparse.tobytes()


@pytest.mark.parametrize("detpixels", ["40000", "20000"])
def test_detector_too_large_for_memory_is_refused_up_front(work, detpixels):
    # 40000: refused while the experiment is built; 20000: by the whole run's estimate
    (work / "small.hkl").write_text("0 0 0 10\n1 2 -3 5\n")
    argv = BASE + ["-hkl", "small.hkl", "-detpixels", detpixels, "-roi", "0", "10", "0", "10"]
    status, _, err, peak = _run_child(argv, work)
    assert status == 2 and len(err.splitlines()) == 1, err
    assert f"{detpixels}x{detpixels}-pixel detector" in err and "GiB of memory needed" in err
    assert ("at least" if detpixels == "40000" else "about") in err
    assert "-detpixels" in err and "--memory-limit" in err
    assert peak < 2**30 and not (work / OUT).exists()
    assert not (work / "Fdump.bin").exists() or detpixels == "20000"


def test_memory_limit_can_be_raised(work, capsys):
    argv = BASE + ["-default_F", "1", "-detpixels", "2048", "-roi", "0", "3", "0", "3"]
    err = _fail(argv + ["--memory-limit", "0.2"], capsys)
    assert "more than the limit of 0.2 GiB" in err
    assert main(argv + ["--memory-limit", "1"]) == 0
    assert Path(OUT).stat().st_size == 2048 * 2048 * 4


def test_library_checks_the_same_limit(work):
    Path("t.hkl").write_text("0 0 0 1\n3 3 3 2\n")
    opts = SimulationOptions(cell_A=(100.0,), hkl_path="t.hkl", fpixels=64, spixels=64)
    with pytest.raises(InputError, match="structure-factor table: about"):
        build_experiment(opts, memory_limit_bytes=100)
    exp = build_experiment(opts, memory_limit_bytes=2**30)
    with pytest.raises(InputError, match="rendering the image of a 64x64-pixel detector"):
        render(exp, memory_limit_bytes=2**20)
    assert render(exp, memory_limit_bytes=2**30).image.shape == (64, 64)


def test_cache_too_large_for_the_limit_is_refused_before_reading(work):
    write_fdump("Fdump.bin", HKLTable(0, 9, 0, 9, 0, 9, np.ones((10, 10, 10)), 1000))
    opts = SimulationOptions(cell_A=(100.0,), fpixels=8, spixels=8)
    with pytest.raises(InputError, match="structure-factor cache Fdump.bin: about"):
        build_experiment(opts, memory_limit_bytes=10_000, hkl_cache="Fdump.bin")
