"""``xbragg compare``: xbragg against stored golden images and a stand-in reference program."""
from __future__ import annotations

import gzip
import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from golden import GOLDEN, NB_C_BIN, case, needs_reference, reference_image, stage_inputs
from png_reader import decode_png, read_png_size
from xbragg import options_from_flags
from xbragg.cli.main import main as cli_main
from xbragg.setup.reference_behaviour import reference_behaviours
from xbragg.tools import preview
from xbragg.tools.compare import C_PARITY_FLAGS, image_metrics, main, reference_flags
from xbragg.tools.png import encode_png

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
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    return tmp_path


def _summary(outdir) -> dict:
    return json.loads((outdir / "summary.json").read_text())


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
    for png in ("ref.png", "ours.png"):
        assert _png_size(out / png) == (c["fpixels"], c["spixels"])
    width, height = _png_size(out / "diff.png")                 # the image and its colour bar
    assert width >= c["fpixels"] and height > c["spixels"]
    assert (out / "zoom.png").is_file()
    assert s["reference_behaviours"] == [] and s["c_parity"] is False
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
    assert _png_size(workdir / "box" / "ref.png") == (128, 128)    # previews show the whole image


def _fake_reference(tmp_path, body: str = "", image: str = "cubic_default") -> str:
    """An executable standing in for the reference: copies a golden image to -floatfile."""
    script = tmp_path / "fake_nanobragg"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, shutil, sys\n"
        "args = sys.argv[1:]\n"
        "open(sys.argv[0] + '.args', 'w').write(' '.join(args))\n"
        "open(sys.argv[0] + '.threads', 'w').write(os.environ.get('OMP_NUM_THREADS', 'unset'))\n"
        f"{body}"
        "dest = args[len(args) - 1 - args[::-1].index('-floatfile') + 1]\n"
        f"shutil.copy({str(_float(image))!r}, dest)\n"
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
    # one OpenMP thread unless the environment chose (the carry-over depends on the threads)
    assert open(binary + ".threads").read() == "1" and s["reference"]["omp_num_threads"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert main(["--ref-bin", binary, "--outdir", "out3", "-q", "--", *flags]) == 0
    assert open(binary + ".threads").read() == "2"
    monkeypatch.delenv("OMP_NUM_THREADS")
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
    data = encode_png(pixels, {"Comment": "scale 1.5"})
    assert read_png_size(data) == (6, 5)
    assert data[24:29] == bytes([8, 0, 0, 0, 0])          # bit depth 8, greyscale
    grey, text = decode_png(data)
    assert (grey == pixels).all() and text == {"Comment": "scale 1.5"}
    assert data.endswith(b"IEND\xaeB`\x82")
    rgb = np.stack([pixels, 255 - pixels, pixels // 2], axis=2)
    data = encode_png(rgb)
    assert data[24:29] == bytes([8, 2, 0, 0, 0])          # bit depth 8, RGB
    assert (decode_png(data)[0] == rgb).all()
    with pytest.raises(ValueError):
        encode_png(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        encode_png(np.zeros((2, 2, 4), dtype=np.uint8))


def test_brightness_and_saturation():
    img = np.array([[-1.0, 0.0, np.nan], [1e-3, 1.0, 5.0]])
    assert preview.saturation_level(img, 100) == 5.0
    assert preview.saturation_level(img, 50) == 1.0            # the positive pixels only
    assert preview.saturation_level(np.zeros((2, 2))) == 0.0
    lin = preview.brightness(img, 1.0)
    assert lin.dtype == np.uint8
    assert lin[0].tolist() == [0, 0, 0] and lin[1].tolist() == [0, 255, 255]
    log = preview.brightness(img, 1.0, log=True)
    assert log[1, 0] == round(255 * np.log10(2) / np.log10(1001)) and log[1, 1] == 255
    assert (preview.brightness(img, 0.0) == 0).all()


def test_diverging_colour_map():
    rgb = preview.diverging(np.array([[-2.0, -0.5, 0.0, 0.5, 2.0, np.nan]]), 1.0)
    assert rgb[0].tolist() == [[0, 0, 255], [128, 128, 255], [255, 255, 255], [255, 128, 128],
                               [255, 0, 0], [0, 0, 0]]
    assert (preview.diverging(np.array([[1.0, -1.0]]), 0.0) == 255).all()


def test_bitmap_font():
    assert preview.text_mask("1").tolist() == [[False, True, False], [True, True, False],
                                               [False, True, False], [False, True, False],
                                               [True, True, True]]
    assert preview.text_mask("-1.5e-07", 2).shape == (10, (4 * 8 - 1) * 2)
    assert preview.text_mask("ours-ref").any()
    with pytest.raises(ValueError, match="no glyph"):
        preview.text_mask("?")


def test_preview_of_golden_image_is_not_black(workdir):
    out = workdir / "out"
    flags = _flags("cubic_default")
    assert main(["--ref-float", str(_float("cubic_default")), "--outdir", str(out), "--", *flags]) == 0
    ref = reference_image(case("cubic_default")).astype(np.float64)
    grey, text = decode_png((out / "ref.png").read_bytes())
    s = _summary(out)
    saturation = s["preview_scale"]["saturation"]
    assert saturation == pytest.approx(np.percentile(ref[ref > 0], 99.5))
    assert f"{saturation:.6g}" in text["Comment"]
    assert (grey > 0.2 * 255).mean() > 0.05                   # not almost all black
    assert (grey == 255).mean() > 0.004                       # the brightest 0.5% saturate
    assert (decode_png((out / "ours.png").read_bytes())[0] == grey).all()   # same scale for ours
    assert main(["--ref-float", str(_float("cubic_default")), "--outdir", "log", "--log", "-q", "--",
                 *flags]) == 0
    log = decode_png((workdir / "log" / "ref.png").read_bytes())[0]
    assert log.mean() > 2 * grey.mean() and log.mean() > 0.25 * 255


def test_difference_preview_colour_bar_and_zoom(workdir):
    ref = reference_image(case("cubic_default")).astype(np.float64)
    spoiled = ref.copy()
    spoiled[30, 40] -= 50.0              # ours - ref = +50 there: red
    spoiled[90, 100] += 20.0             # ours - ref = -20 there: blue
    path = workdir / "spoiled.bin"
    spoiled.astype("<f4").tofile(path)
    out = workdir / "out"
    assert main(["--ref-float", str(path), "--outdir", str(out), "--", *_flags("cubic_default")]) == 0
    s = _summary(out)
    scale = s["preview_scale"]["diff_saturation"]
    assert 0 < scale <= 50.0
    rgb, text = decode_png((out / "diff.png").read_bytes())
    assert f"{scale:.6g}" in text["Comment"]
    assert rgb[30, 40].tolist() == [255, 0, 0] and rgb[90, 100, 2] == 255 and rgb[90, 100, 0] < 255
    assert (rgb[:128, :128] == 255).all(axis=2).mean() > 0.9            # no difference: white
    # below the image: the colour bar from blue to red, then its numbers in the bitmap font
    bar = rgb[128:].astype(int)
    row = next(r for r in bar if (r[:, 2] - r[:, 0] > 200).any())
    assert row[2].tolist() == [0, 0, 255] and row[-3].tolist() == [255, 0, 0]
    label = preview.text_mask(f"+{scale:.3g}")
    dark = (bar == 0).all(axis=2)
    found = any((dark[y:y + 5, x:x + label.shape[1]] == label).all()
                for y in range(dark.shape[0] - 4) for x in range(dark.shape[1] - label.shape[1] + 1))
    assert found
    zoom = s["preview_scale"]["zoom"]
    assert s["max_abs_diff_at_slow_fast"] == [30, 40]
    assert zoom["xmin"] <= 40 <= zoom["xmax"] and zoom["ymin"] <= 30 <= zoom["ymax"]
    assert zoom["xmax"] - zoom["xmin"] == zoom["ymax"] - zoom["ymin"] == 63
    width, height = _png_size(out / "zoom.png")
    assert width >= 3 * 64 * zoom["factor"] and height > 64 * zoom["factor"]


def test_previews_cover_the_rendered_region(workdir):
    flags = _flags("cubic_default") + ["-roi", "10", "49", "20", "99"]
    ref = reference_image(case("cubic_default")).copy()
    outside = np.ones(ref.shape, dtype=bool)
    outside[20:100, 10:50] = False
    ref[outside] = 0.0
    path = workdir / "roi.bin"
    ref.astype("<f4").tofile(path)
    assert main(["--ref-float", str(path), "--outdir", "out", "--", *flags]) == 0
    assert _png_size(workdir / "out" / "ref.png") == (40, 80)
    s = _summary(workdir / "out")
    assert s["preview_scale"]["region"] == {"xmin": 10, "xmax": 49, "ymin": 20, "ymax": 99}
    zoom = s["preview_scale"]["zoom"]
    assert (zoom["xmin"], zoom["xmax"]) == (10, 49) and zoom["ymax"] - zoom["ymin"] == 63


def _behaviours(flags: str) -> list:
    return reference_behaviours(options_from_flags(flags))


def test_reference_behaviour_phi_carryover():
    base = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 32 "
    (item,) = _behaviours(base + "-phi 0 -osc 1 -phisteps 10")
    assert item.name == "phi-carryover" and not item.reproduced
    assert "-phi starts at 0 with 10 phi steps" in item.explanation
    assert "--c-parity" in item.switch and "--phi-carryover" in item.switch
    assert _behaviours(base + "-osc 1 -phisteps 10")[0].name == "phi-carryover"    # -phi 0 is the default
    (item,) = _behaviours(base + "-phi -5 -phistep 5 -phisteps 3 -osc 15")
    assert "phi step 2 of 3 is at exactly 0" in item.explanation
    assert _behaviours(base + "-phi 0 -osc 1 -phisteps 10 --phi-carryover")[0].reproduced
    assert _behaviours(base + "-phi 5 -osc 1 -phisteps 10") == []                  # no step at 0
    assert _behaviours(base + "-phi 0 -phisteps 1 -osc 0") == []                   # no other step
    assert _behaviours(base) == []


def test_reference_behaviour_pivot_and_capture():
    base = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 32 "
    (item,) = _behaviours(base + "-mosflm -pivot sample -twotheta 10")
    assert item.name == "pivot-ignored" and item.switch == "--c-parity"
    assert "ignores -pivot sample with the MOSFLM convention" in item.explanation
    assert _behaviours(base + "-mosflm -pivot beam -twotheta 10") == []            # the default
    assert _behaviours(base + "-xds -pivot sample") == []
    assert _behaviours(base + "-fdet_vector 0 0 1 -pivot sample -twotheta 10") == []   # CUSTOM honours it
    (item,) = _behaviours(base + "-oversample_thick")
    assert item.name == "zero-capture" and "all-zero image" in item.explanation
    assert _behaviours(base + "-oversample_thick -detector_thick 100") == []
    assert _behaviours(base + "-detector_thick 0") == []


def test_c_parity_against_stand_in_reference(workdir, capsys):
    # phi_from_zero was rendered by the reference, which carried phi over
    binary = _fake_reference(workdir, image="phi_from_zero")
    flags = _flags("phi_from_zero")
    assert main(["--ref-bin", binary, "--outdir", "plain", "--", *flags]) == 3
    printed = capsys.readouterr().out
    assert "reference behaviour phi-carryover" in printed
    assert "-phi starts at 0 with 5 phi steps; rerun with --c-parity (or --phi-carryover)" in printed
    assert printed.splitlines()[-1].endswith("(known reference behaviour phi-carryover not reproduced: "
                                             "rerun with --c-parity)")
    s = _summary(workdir / "plain")
    assert s["reference_behaviours"][0]["name"] == "phi-carryover" and s["passed"] is False

    assert main(["--c-parity", "--ref-bin", binary, "--outdir", "parity", "-q", "--", *flags]) == 0
    assert capsys.readouterr().out.startswith("PASS")
    s = _summary(workdir / "parity")
    assert s["correlation"] > 0.999999 and s["max_rel_diff"] <= 1e-5
    assert s["c_parity"] is True and s["ours_flags"] == flags + C_PARITY_FLAGS
    assert s["reference_behaviours"][0]["reproduced"] is True
    assert open(binary + ".args").read().split()[:len(flags)] == flags      # reference: FLAGS only


def test_xbragg_switches_stay_out_of_the_reference_command(workdir):
    binary = _fake_reference(workdir, image="phi_from_zero")
    flags = _flags("phi_from_zero")
    mixed = flags[:7] + ["--phi-carryover", "--backend", "numpy"] + flags[7:] + ["--dtype", "float64"]
    assert reference_flags(mixed) == flags
    assert main(["--ref-bin", binary, "--outdir", "out", "--", *mixed]) == 0
    args = open(binary + ".args").read().split()
    assert not any(a.startswith("--") for a in args) and "numpy" not in args
    assert _summary(workdir / "out")["reference_behaviours"][0]["reproduced"] is True


SUPERVISOR_SMALL_ROI = ["-roi", "600", "640", "980", "1010"]


@needs_reference
def test_supervisor_command_against_reference_program(workdir, capsys):
    flags = _flags("supervisor_roi")
    i = flags.index("-roi")
    flags = flags[:i] + SUPERVISOR_SMALL_ROI + flags[i + 5:]
    assert main(["--ref-bin", NB_C_BIN, "--outdir", "plain", "--", *flags]) == 3
    printed = capsys.readouterr().out
    assert "phi-carryover" in printed and "-phi starts at 0 with 10 phi steps" in printed
    assert "rerun with --c-parity" in printed.splitlines()[-1]
    assert main(["--ref-bin", NB_C_BIN, "--outdir", "parity", "--c-parity", "--", *flags]) == 0
    s = _summary(workdir / "parity")
    assert s["correlation"] >= 0.999999 and s["max_rel_diff"] <= 1e-5
    assert s["sum_ratio"] == pytest.approx(1, abs=1e-6)


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


NOTE_BASE = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 64 -lambda 1 -distance 50 -misset 10 20 30"


@needs_reference
@pytest.mark.parametrize("extra, named", [
    ("-mosflm -pivot sample -twotheta 10", ["pivot-ignored"]),
    ("-oversample_thick", ["zero-capture"]),
    ("-phi 0 -osc 15 -phisteps 3", ["phi-carryover"]),
    ("-mosflm -pivot beam -twotheta 10", []),
    ("-xds -fdet_vector 1 0 0 -detector_rotx 10", []),       # the convention's pivot carries over
    ("-phi 5 -osc 15 -phisteps 3", []),
])
def test_named_behaviours_are_the_differences_from_reference_program(workdir, extra, named):
    flags = (NOTE_BASE + " " + extra).split()
    status = main(["--ref-bin", NB_C_BIN, "--outdir", "out", "-q", "--", *flags])
    s = _summary(workdir / "out")
    assert [b["name"] for b in s["reference_behaviours"]] == named
    if named:
        assert status == 3
    else:
        assert status == 0 and s["correlation"] >= 0.999999 and s["max_rel_diff"] <= 1e-5


@needs_reference
@pytest.mark.parametrize("phi", [
    "-phi 0 -osc 15 -phisteps 3",
    "-phi 0 -phistep 5 -osc 15 -roi 10 40 5 50",
    "-phi -5 -phistep 5 -phisteps 3 -osc 15",     # phi = 0 after a non-zero step of the same pass
    "-phi -10 -phistep 5 -phisteps 3 -osc 15",    # ... and the last step of every pass
])
def test_c_parity_reproduces_phi_carryover_of_reference_program(workdir, phi):
    flags = (NOTE_BASE + " " + phi).split()
    assert main(["--ref-bin", NB_C_BIN, "--outdir", "out", "--c-parity", "-q", "--", *flags]) == 0
    s = _summary(workdir / "out")
    assert s["correlation"] >= 0.999999 and s["max_rel_diff"] <= 1e-5
