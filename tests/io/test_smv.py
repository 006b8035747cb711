from pathlib import Path

import fabio
import numpy as np
import pytest

from xbragg.errors import InputError, OutputError
from xbragg.io.smv import header_float, read_smv, write_smv

GOLDEN = Path(__file__).resolve().parents[1] / "reference"
INPUTS = GOLDEN / "inputs"


def test_header_img():
    image = read_smv(INPUTS / "header.img", flag="-img")
    assert image.data.shape == (80, 96) and image.data.dtype == np.uint16
    assert image.header_bytes == 512
    assert image.header["SIZE1"] == "96" and image.header["SIZE2"] == "80"
    assert list(image.header)[:4] == ["HEADER_BYTES", "DIM", "BYTE_ORDER", "TYPE"]
    assert header_float(image, "PIXEL_SIZE") == 0.12
    assert header_float(image, "BEAM_CENTER_Y") == 4.5
    assert header_float(image, "DISTANCE") == 120.0
    assert header_float(image, "NOT_THERE") is None
    raw = (INPUTS / "header.img").read_bytes()
    expected = np.frombuffer(raw[512:512 + 2 * 96 * 80], dtype="<u2").reshape(80, 96)
    np.testing.assert_array_equal(image.data, expected)


def test_mask_img_agrees_with_fabio():
    image = read_smv(INPUTS / "mask.img", flag="-mask")
    assert image.data.shape == (128, 128)
    np.testing.assert_array_equal(image.data, fabio.open(str(INPUTS / "mask.img")).data)


@pytest.mark.parametrize("case", ["outputs_int_noise_pgm", "outputs_scaled"])
@pytest.mark.parametrize("name", ["int.img", "noise.img"])
def test_rewrite_reference_output_byte_for_byte(tmp_path, case, name):
    source = GOLDEN / case / name
    image = read_smv(source)
    text = source.read_bytes()[:512].decode("ascii")
    body = text[text.index("SIZE2="):text.index("}")].split("\n")[1:-1]
    target = tmp_path / name
    write_smv(target, image.data, body)
    assert target.read_bytes() == source.read_bytes()


def test_header_without_semicolon_and_last_wins(tmp_path):
    path = tmp_path / "x.img"
    data = np.arange(12, dtype=np.uint16).reshape(3, 4)
    write_smv(path, data, ["DIALS_ORIGIN=-6.5,6.5,-100", ("PHI", "1"), "PHI=2;"])
    image = read_smv(path)
    assert image.header["DIALS_ORIGIN"] == "-6.5,6.5,-100"
    assert header_float(image, "PHI") == 2.0
    with pytest.raises(InputError) as info:
        header_float(image, "DIALS_ORIGIN")
    assert str(path) in str(info.value) and "DIALS_ORIGIN" in str(info.value)


def test_round_trip_and_fabio(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 65536, size=(30, 50), dtype=np.uint16)
    path = tmp_path / "img.img"
    write_smv(path, data, ["PIXEL_SIZE=0.1;", "DISTANCE=100;", ("WAVELENGTH", "1.5"),
                           "BEAM_CENTER_X=2.5;"])
    raw = path.read_bytes()
    assert len(raw) == 512 + 2 * 30 * 50
    assert raw.startswith(b"{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                          b"TYPE=unsigned_short;\nSIZE1=50;\nSIZE2=30;\nPIXEL_SIZE=0.1;\n")
    close = raw.index(b"}\f")
    assert raw[close + 2:512] == b" " * (510 - close)
    image = read_smv(path)
    np.testing.assert_array_equal(image.data, data)
    assert header_float(image, "WAVELENGTH") == 1.5
    opened = fabio.open(str(path))
    np.testing.assert_array_equal(opened.data, data)
    assert float(opened.header["PIXEL_SIZE"]) == 0.1
    assert float(opened.header["BEAM_CENTER_X"]) == 2.5
    assert int(opened.header["SIZE1"]) == 50 and int(opened.header["SIZE2"]) == 30


def test_big_endian_and_other_header_length(tmp_path):
    data = np.array([[1, 258], [65535, 0]], dtype=np.uint16)
    header = ("{\nHEADER_BYTES=1024;\nDIM=2;\nBYTE_ORDER=big_endian;\n"
              "TYPE=unsigned_short;\nSIZE1=2;\nSIZE2=2;\n}").encode().ljust(1024, b" ")
    path = tmp_path / "be.img"
    path.write_bytes(header + data.astype(">u2").tobytes() + b"trailing")
    image = read_smv(path)
    assert image.header_bytes == 1024
    np.testing.assert_array_equal(image.data, data)
    assert image.data.dtype == np.uint16


def test_write_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        write_smv(tmp_path / "a.img", np.zeros((2, 2), dtype=np.int32), [])
    with pytest.raises(ValueError):
        write_smv(tmp_path / "a.img", np.zeros((2, 2), dtype=np.uint16), ["A=1;\nB=2;"])
    with pytest.raises(OutputError, match="too long"):
        write_smv(tmp_path / "a.img", np.zeros((2, 2), dtype=np.uint16),
                  [f"KEY{i}=123456789;" for i in range(4000)])
    with pytest.raises(OutputError) as info:
        write_smv(tmp_path / "no" / "a.img", np.zeros((2, 2), dtype=np.uint16), [])
    assert "does not exist" in str(info.value)
    assert not (tmp_path / "a.img").exists()


def test_long_header_grows_to_a_multiple_of_512(tmp_path):
    # the reference writes past its 512 bytes (its pixels then start at the wrong offset);
    # xbragg declares the larger header instead, so the file stays readable
    data = np.arange(6, dtype=np.uint16).reshape(2, 3)
    write_smv(tmp_path / "a.img", data, [f"KEY{i}=123456789;" for i in range(40)])
    raw = (tmp_path / "a.img").read_bytes()
    assert raw.startswith(b"{\nHEADER_BYTES=1024;\n") and len(raw) == 1024 + 12
    image = read_smv(tmp_path / "a.img")
    assert image.header_bytes == 1024 and np.array_equal(image.data, data)
    assert image.header["KEY39"] == "123456789"


def _smv_error(tmp_path, content, flag="-mask"):
    path = tmp_path / "bad.img"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_smv(path, flag=flag)
    message = str(info.value)
    assert message.startswith(f"{flag}: {path}:")
    return message


def test_read_errors(tmp_path):
    missing = tmp_path / "missing.img"
    with pytest.raises(InputError) as info:
        read_smv(missing, flag="-img")
    assert str(info.value) == f"-img: {missing}: file does not exist"
    assert "not an SMV" in _smv_error(tmp_path, b"P5\n2 2\n255\n....")
    assert "not an SMV" in _smv_error(tmp_path, b"")
    good = (INPUTS / "mask.img").read_bytes()
    assert "truncated" in _smv_error(tmp_path, good[:-1])
    assert "HEADER_BYTES" in _smv_error(tmp_path, b"{\nHEADER_BYTES=abc;\n}")
    assert "shorter than" in _smv_error(tmp_path, b"{\nHEADER_BYTES=512;\n}")
    no_size = b"{\nHEADER_BYTES=512;\nDIM=2;\nSIZE1=4;\n}".ljust(600, b" ")
    assert "no SIZE2" in _smv_error(tmp_path, no_size)
    bad_size = b"{\nHEADER_BYTES=512;\nSIZE1=4.5;\nSIZE2=2;\n}".ljust(600, b" ")
    assert "SIZE1" in _smv_error(tmp_path, bad_size)
    floats = b"{\nHEADER_BYTES=512;\nTYPE=float;\nSIZE1=1;\nSIZE2=1;\n}".ljust(600, b" ")
    assert "unsigned_short" in _smv_error(tmp_path, floats)
    order = b"{\nHEADER_BYTES=512;\nBYTE_ORDER=middle;\nSIZE1=1;\nSIZE2=1;\n}"
    assert "BYTE_ORDER" in _smv_error(tmp_path, order.ljust(600, b" "))
