"""Integer, noise and PGM outputs: byte for byte with the reference, header, bad input."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from golden import GOLDEN, case, parity_args, stage_inputs
from xbragg.cli.main import main, run
from xbragg.io.smv import read_smv
from xbragg.outputs import int_image, pgm_image

OUTPUT_CASES = ["outputs_int_noise_pgm", "outputs_scaled"]


@pytest.mark.parametrize("name", OUTPUT_CASES)
def test_outputs_byte_identical_to_reference(name, backend, tmp_path, monkeypatch):
    c = case(name)
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    argv = parity_args(c) + ["-floatfile", "float.bin", "-noprogress", *c["extra_args"], "--backend", backend]
    assert run(argv, out=out) == 0
    for key in ("intfile", "noisefile", "pgmfile"):
        fname = c["files"][key]
        assert (tmp_path / fname).read_bytes() == (GOLDEN / name / fname).read_bytes(), key
    ref = (GOLDEN / name / "stdout.txt").read_text().splitlines()
    printed = out.getvalue().splitlines()
    for prefix in ("intfile_scale = ", "pgm_scale = "):
        assert next(x for x in printed if x.startswith(prefix)) == next(x for x in ref if x.startswith(prefix))
    assert next(x for x in printed if "photons on noise image" in x) == \
        next(x for x in ref if "photons on noise image" in x)


def test_smv_header_round_trip(tmp_path, monkeypatch):
    fabio = pytest.importorskip("fabio")
    c = case("outputs_int_noise_pgm")
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run(parity_args(c) + ["-floatfile", "f.bin", "-noprogress", "-intfile", "i.img", "-nopgm",
                                 "-nonoise", "-twotheta", "3", "-phi", "2", "-osc", "0.5"], out=io.StringIO()) == 0
    raw = (tmp_path / "i.img").read_bytes()
    assert len(raw) == 512 + 2 * 128 * 128
    image = read_smv(tmp_path / "i.img")
    keys = list(image.header)
    assert keys == ["HEADER_BYTES", "DIM", "BYTE_ORDER", "TYPE", "SIZE1", "SIZE2", "PIXEL_SIZE", "DISTANCE",
                    "WAVELENGTH", "BEAM_CENTER_X", "BEAM_CENTER_Y", "ADXV_CENTER_X", "ADXV_CENTER_Y",
                    "MOSFLM_CENTER_X", "MOSFLM_CENTER_Y", "DENZO_X_BEAM", "DENZO_Y_BEAM", "DIALS_ORIGIN",
                    "XDS_ORGX", "XDS_ORGY", "CLOSE_DISTANCE", "PHI", "OSC_START", "OSC_RANGE", "TWOTHETA",
                    "DETECTOR_SN", "BEAMLINE"]
    assert image.header["TWOTHETA"] == "3" and image.header["PHI"] == "2" and image.header["OSC_RANGE"] == "0.5"
    assert b"DIALS_ORIGIN=" in raw and raw[:512].rstrip(b" ").endswith(b"}\f")
    ref = fabio.open(str(tmp_path / "i.img"))
    assert np.array_equal(ref.data, image.data)
    assert ref.header["WAVELENGTH"] == "6.2"
    # the image read back is what int_image gives from the float image
    floats = np.fromfile(tmp_path / "f.bin", dtype="<f4").reshape(128, 128)
    expected = int_image(floats, (0, 127, 0, 127), 55000.0 / float(floats.max()), 40.0)
    assert np.array_equal(image.data, expected) and image.data.max() == 55040


def test_int_and_pgm_conversion_rules():
    img = np.array([[0.0, 1.0, 1.24999, 1e9], [-5.0, np.nan, 2.0, 3.0]], dtype=np.float32)
    ints = int_image(img, (0, 3, 0, 0), 1.0, 40.0)
    assert ints.tolist() == [[40, 41, 41, 65535], [0, 0, 0, 0]]       # row 1 outside the ROI
    ints = int_image(img, (0, 3, 0, 1), 10.0, 0.0)
    assert ints[1].tolist() == [0, 0, 20, 30]                         # negative clipped, NaN -> 0
    pgm = pgm_image(img, (0, 3, 0, 1), 100.0)
    assert pgm.dtype == np.uint8 and pgm[0].tolist() == [0, 100, 124, 255]


def test_int_image_rounds_through_float32_and_clips_like_the_reference():
    # floorf((float)(x + 0.5)): x + 0.5 is rounded to float32 before the floor, so 65534.4999999
    # rounds up; infinities are clipped; NaN and everything outside the ROI (here column 3) are 0
    img = np.array([[65534.4999999, np.inf, -np.inf, 7.0], [0.5, np.nan, 3.49, 5.0]], dtype=np.float64)
    ints = int_image(img.astype(np.float32), (0, 2, 0, 1), 1.0, 0.0)
    assert ints.dtype == np.uint16
    expect = [[int(np.floor(np.float32(np.float32(65534.4999999) + 0.5))), 65535, 0, 0], [1, 0, 3, 0]]
    assert ints.tolist() == expect
    assert int_image(img.astype(np.float32), (3, 2, 0, 1), 1.0, 0.0).tolist() == [[0] * 4, [0] * 4]


SMALL = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-lambda", "6.2", "-N", "5",
         "-detpixels", "16", "-floatfile", "f.bin", "-noprogress"]


def test_reference_default_outputs_and_switch_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(SMALL + ["-seed", "5"], out=io.StringIO()) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin", "image.pgm", "intimage.img", "noiseimage.img"]
    for p in tmp_path.iterdir():
        p.unlink()
    # later flags win: -noisefile after -nonoise writes the noise image; -nopgm after -pgmfile does not
    assert run(SMALL + ["-nonoise", "-noisefile", "n.img", "-pgmfile", "p.pgm", "-nopgm"], out=io.StringIO()) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin", "intimage.img", "n.img"]


def test_same_seed_same_noise(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(SMALL + ["-seed", "42", "-noisefile", "a.img", "-nopgm"], out=io.StringIO()) == 0
    assert run(SMALL + ["-seed", "42", "-noisefile", "b.img", "-nopgm"], out=io.StringIO()) == 0
    assert run(SMALL + ["-seed", "43", "-noisefile", "c.img", "-nopgm"], out=io.StringIO()) == 0
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.img", "b.img", "c.img"))
    assert a == b and a != c


# --- bad input: exit 2, one message naming the flag, no file written -------------------------

def _fail(argv, capsys) -> str:
    before = set(Path(".").iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("xbragg: error: ") and len(err.splitlines()) == 1, err
    assert set(Path(".").iterdir()) == before, "a failed run must write no file"
    return err


@pytest.mark.parametrize("flag, value", [
    ("-seed", "1.5"), ("-seed", "abc"), ("-seed", "1e3"), ("-mosaic_seed", "2.0"), ("-misset_seed", "x7"),
    ("-seed", "99999999999"),
])
def test_non_integer_seeds(tmp_path, monkeypatch, capsys, flag, value):
    monkeypatch.chdir(tmp_path)
    err = _fail(SMALL + [flag, value], capsys)
    assert flag in err and value in err


def test_negative_and_zero_seeds_are_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(SMALL + ["-seed", "-5", "-mosaic_seed", "0", "-nopgm"], out=io.StringIO()) == 0


def test_mask_of_the_wrong_size(tmp_path, monkeypatch, capsys):
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    for p in tmp_path.iterdir():
        if p.name != "mask.img":
            p.unlink()
    # the mask header sets 128x128; -detpixels after it asks for 16x16
    err = _fail(SMALL + ["-mask", "mask.img", "-detpixels", "16"], capsys)
    assert "-mask" in err and "128x128" in err and "16x16" in err


@pytest.mark.parametrize("flag", ["-img", "-mask"])
def test_image_that_is_not_smv(tmp_path, monkeypatch, capsys, flag):
    monkeypatch.chdir(tmp_path)
    Path("text.img").write_text("not an image\n")
    err = _fail(SMALL + [flag, "text.img"], capsys)
    assert flag in err and "text.img" in err and "not an SMV" in err


@pytest.mark.parametrize("flag", ["-intfile", "-noisefile", "-pgmfile"])
def test_unwritable_output_fails_before_rendering(tmp_path, monkeypatch, capsys, flag):
    monkeypatch.chdir(tmp_path)
    err = _fail(SMALL + [flag, "no_such_dir/out.img"], capsys)
    assert flag in err and "no_such_dir" in err


def test_image_stats_nan_reaches_sums_and_full_mask_changes_nothing():
    from xbragg.stats import image_stats

    rng = np.random.default_rng(5)
    image = rng.uniform(0.0, 10.0, size=(7, 9)).astype(np.float32)
    image[4, 2] = image[1, 6] = image.max() + 1.0       # a tie: the first in raster order wins
    roi = (0, 8, 0, 6)
    full = np.ones(image.shape, dtype=bool)
    kwargs = dict(pixel_size_m=1e-4, oversample=2, rows_per_chunk=3)
    plain = image_stats(image, roi, None, **kwargs)
    masked = image_stats(image, roi, full, **kwargs)
    assert plain == masked
    assert plain.rendered_pixels == image.size
    sub = 1e-4 / 2
    assert plain.max_I_x_m == sub * (6 * 2 + 1) + sub / 2
    assert plain.max_I_y_m == sub * (1 * 2 + 1) + sub / 2

    image[2, 3] = np.nan
    for mask in (None, full):
        stats = image_stats(image, roi, mask, **kwargs)
        assert np.isnan(stats.mean) and np.isnan(stats.rms)
        assert stats.rendered_pixels == image.size
        assert stats.max_I == plain.max_I                # NaN is never the maximum
    # a masked-off NaN is skipped, like any masked pixel
    part = full.copy()
    part[2, 3] = False
    stats = image_stats(image, roi, part, **kwargs)
    assert np.isfinite(stats.mean) and stats.rendered_pixels == image.size - 1
