"""``xbragg compare``: xbragg against stored golden images and a stand-in reference program."""
from __future__ import annotations

import gzip
import json
import os
import stat
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from golden import GOLDEN, case, stage_inputs
from xbragg.cli.main import main as cli_main
from xbragg.tools.compare import image_metrics, main
from xbragg.tools.png import encode_gray8, log_scale


def _flags(name: str) -> list[str]:
    return case(name)["args"].split()


def _float(name: str):
    c = case(name)
    return GOLDEN / name / c["files"]["float"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch working directory holding copies of the golden inputs."""
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NB_C_BIN", raising=False)
    return tmp_path


def _summary(outdir) -> dict:
    return json.loads((outdir / "summary.json").read_text())


def read_png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; ``ValueError`` if ``data`` is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _png_size(path) -> tuple[int, int]:
    return read_png_size(path.read_bytes())


@pytest.mark.parametrize("name", ["cubic_default", "cubic_rect_detector"])
def test_stored_golden_image_agrees(workdir, name, capsys):
    out = workdir / "out"
    assert main(["--ref-float", str(_float(name)), "--outdir", str(out), "--", *_flags(name)]) == 0
    s = _summary(out)
    assert s["passed"] is True
    assert s["correlation"] > 0.999999
    assert s["sum_ratio"] == pytest.approx(1, abs=1e-6)
    assert s["max_rel_diff"] <= 1e-5
    assert s["runtime_ref_s"] is None and s["runtime_ours_s"] > 0
    assert s["reference"]["kind"] == "stored"
    c = case(name)
    assert (s["fpixels"], s["spixels"]) == (c["fpixels"], c["spixels"])
    assert s["pixels"] == c["fpixels"] * c["spixels"]
    for png in ("ref.png", "ours.png", "diff.png"):
        assert _png_size(out / png) == (c["fpixels"], c["spixels"])
    assert (out / "ours_float.bin").stat().st_size == 4 * c["fpixels"] * c["spixels"]
    assert "PASS" in capsys.readouterr().out
    assert not (workdir / "intimage.img").exists()          # outputs stay in --outdir


def test_wrong_reference_exits_3(workdir, capsys):
    out = workdir / "out"
    wrong = _float("triclinic_misset")
    assert case("triclinic_misset")["fpixels"] == case("cubic_default")["fpixels"]
    assert main(["--ref-float", str(wrong), "--outdir", str(out), "--", *_flags("cubic_default")]) == 3
    s = _summary(out)
    assert s["passed"] is False and s["correlation"] < 0.999
    assert "FAIL" in capsys.readouterr().out
    for png in ("ref.png", "ours.png", "diff.png"):
        assert (out / png).is_file()


def test_threshold_and_gzip_reference(workdir):
    gz = workdir / "ref.bin.gz"
    gz.write_bytes(gzip.compress(_float("cubic_default").read_bytes()))
    flags = _flags("cubic_default")
    assert main(["--ref-float", str(gz), "--outdir", "o1", "-q", "--", *flags]) == 0
    assert main(["--ref-float", str(gz), "--outdir", "o2", "--threshold", "1.5", "--", *flags]) == 3


def test_roi_restricts_metrics(workdir):
    ref = np.fromfile(_float("cubic_default"), dtype="<f4").reshape(128, 128).copy()
    rng = np.random.default_rng(1)
    noisy = ref.copy()
    noisy[:, 64:] = rng.uniform(0, ref.max(), size=noisy[:, 64:].shape)   # fast >= 64 spoiled
    path = workdir / "noisy.bin"
    noisy.astype("<f4").tofile(path)
    flags = _flags("cubic_default")
    assert main(["--ref-float", str(path), "--outdir", "full", "--", *flags]) == 3
    assert main(["--ref-float", str(path), "--outdir", "box", "--roi", "0", "63", "10", "99",
                 "--", *flags]) == 0
    s = _summary(workdir / "box")
    assert s["pixels"] == 64 * 90
    assert s["roi"] == {"xmin": 0, "xmax": 63, "ymin": 10, "ymax": 99}
    assert s["correlation"] > 0.999999
    assert _png_size(workdir / "box" / "diff.png") == (128, 128)    # previews show the whole image


def _fake_reference(tmp_path, body: str = "") -> str:
    """An executable standing in for the reference: copies the golden image to -floatfile."""
    script = tmp_path / "fake_nanobragg"
    script.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys\n"
        "args = sys.argv[1:]\n"
        "open(sys.argv[0] + '.args', 'w').write(' '.join(args))\n"
        f"{body}"
        "dest = args[len(args) - 1 - args[::-1].index('-floatfile') + 1]\n"
        f"shutil.copy({str(_float('cubic_default'))!r}, dest)\n"
        "print('max_I = 154.652')\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_reference_program_is_run(workdir, monkeypatch):
    binary = _fake_reference(workdir)
    flags = _flags("cubic_default")
    assert main(["--ref-bin", binary, "--outdir", "out", "--", *flags]) == 0
    s = _summary(workdir / "out")
    assert s["reference"]["kind"] == "program"
    assert s["runtime_ref_s"] is not None and s["runtime_ref_s"] > 0
    assert s["correlation"] > 0.999999
    args = Path(binary + ".args").read_text().split()
    assert args[: len(flags)] == flags
    for flag in ("-noprogress", "-nonoise", "-nopgm"):
        assert flag in args
    assert args[args.index("-floatfile") + 1] == os.path.join("out", "ref_float.bin")
    assert args[args.index("-intfile") + 1] == os.path.join("out", "ref_int.img")
    assert "max_I" in (workdir / "out" / "ref_stdout.txt").read_text()
    # the environment variable names the program when --ref-bin is not given
    monkeypatch.setenv("NB_C_BIN", binary)
    assert main(["--outdir", "out2", "--", *flags]) == 0
    assert _summary(workdir / "out2")["reference"]["program"] == binary


def test_failing_reference_program_exits_2(workdir, capsys):
    binary = _fake_reference(workdir, body="sys.stderr.write('boom\\n'); sys.exit(1)\n")
    assert main(["--ref-bin", binary, "--outdir", "out", "--", *_flags("cubic_default")]) == 2
    err = capsys.readouterr().err
    assert "status 1" in err and "boom" in err


def test_bad_input_exits_2(workdir, capsys):
    flags = _flags("cubic_default")
    ref = str(_float("cubic_default"))
    assert main(["--ref-float", ref]) == 2
    assert "no FLAGS" in capsys.readouterr().err
    assert main(["--ref-float", ref, "--"]) == 2
    assert main(["--", *flags]) == 2
    assert "no reference" in capsys.readouterr().err
    assert main(["--ref-float", "missing.bin", "--", *flags]) == 2
    assert "missing.bin" in capsys.readouterr().err
    assert main(["--ref-bin", "no-such-program-xyz", "--", *flags]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["--ref-float", str(_float("cubic_N1_64")), "--", *flags]) == 2   # 64x64
    assert "bytes" in capsys.readouterr().err
    assert main(["--ref-float", ref, "--roi", "0", "128", "0", "10", "--", *flags]) == 2
    assert "--roi" in capsys.readouterr().err
    assert main(["--ref-float", ref, "--", "-cell", "abc"]) == 2
    assert main(["--ref-float", ref, "--ref-bin", "x", "--", *flags]) == 2   # usage error
    assert not (workdir / "xbragg-compare" / "summary.json").exists()


def test_cli_subcommand_dispatch(workdir, capsys):
    flags = _flags("cubic_default")
    assert cli_main(["compare", "--ref-float", str(_float("cubic_default")), "-q", "--", *flags]) == 0
    assert capsys.readouterr().out.startswith("PASS")
    assert (workdir / "xbragg-compare" / "summary.json").is_file()


def test_png_encoder_round_trip():
    pixels = np.arange(6 * 5, dtype=np.uint8).reshape(5, 6) * 8
    data = encode_gray8(pixels)
    assert read_png_size(data) == (6, 5)
    assert data[24:29] == bytes([8, 0, 0, 0, 0])          # bit depth 8, greyscale
    n = int.from_bytes(data[33:37], "big")
    assert data[37:41] == b"IDAT"
    raw = np.frombuffer(zlib.decompress(data[41:41 + n]), dtype=np.uint8).reshape(5, 7)
    assert (raw[:, 0] == 0).all() and (raw[:, 1:] == pixels).all()
    assert zlib.crc32(data[37:41 + n]) == int.from_bytes(data[41 + n:45 + n], "big")
    assert data.endswith(b"IEND\xaeB`\x82")
    with pytest.raises(ValueError):
        encode_gray8(np.zeros((2, 2)))


def test_log_scale():
    img = np.array([[-1.0, 0.0, np.nan], [1e-3, 1.0, 5.0]])
    out = log_scale(img, 1.0)
    assert out.dtype == np.uint8
    assert out[0].tolist() == [0, 0, 0] and out[1, 1] == out[1, 2] == 255 and 0 < out[1, 0] < 255
    assert (log_scale(img, 0.0) == 0).all()


def test_image_metrics():
    ref = np.array([[1.0, 2.0], [3.0, 4.0]])
    m = image_metrics(ref * 1.01, ref)
    assert m["correlation"] == pytest.approx(1)
    assert m["sum_ratio"] == pytest.approx(1.01)
    assert m["max_rel_diff"] == pytest.approx(0.01)
    assert m["max_abs_diff"] == pytest.approx(0.04) and m["max_abs_diff_at_slow_fast"] == [1, 1]
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((ref * 0.01) ** 2)))
    assert image_metrics(np.zeros((2, 2)), np.zeros((2, 2)))["correlation"] == 1.0
    bad = ref.copy()
    bad[0, 0] = np.nan
    assert np.isnan(image_metrics(bad, ref)["correlation"])
