import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from xbragg.errors import InputError, OutputError
from xbragg.io.rawfloat import read_float_image, write_float_image

GOLDEN = Path(__file__).resolve().parents[1] / "reference"


def test_round_trip(tmp_path):
    image = np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.1)
    path = tmp_path / "float.bin"
    write_float_image(path, image)
    raw = path.read_bytes()
    assert raw == image.astype("<f4").tobytes()
    back = read_float_image(path, 4, 3)
    assert back.dtype == np.float32 and back.shape == (3, 4)
    np.testing.assert_array_equal(back, image)


def test_float64_is_stored_as_float32(tmp_path):
    write_float_image(tmp_path / "f.bin", np.array([[0.1, 1e40]]))
    back = read_float_image(tmp_path / "f.bin", 2, 1)
    assert back[0, 0] == np.float32(0.1) and np.isinf(back[0, 1])


def test_gzip(tmp_path):
    image = np.linspace(0, 1, 20, dtype=np.float32).reshape(4, 5)
    path = tmp_path / "float.bin.gz"
    path.write_bytes(gzip.compress(image.tobytes()))
    np.testing.assert_array_equal(read_float_image(path, 5, 4), image)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(InputError) as info:
        read_float_image(path, 5, 4, flag="-floatfile")
    assert "gzip" in str(info.value) and str(path) in str(info.value)


def test_golden_float_images_match_their_hashes():
    cases = json.loads((GOLDEN / "cases.json").read_text())
    checked = 0
    for case in cases:
        name = case["files"].get("float")
        if not name or "float_sha256" not in case:
            continue
        image = read_float_image(GOLDEN / case["name"] / name, case["fpixels"],
                                 case["spixels"])
        assert image.shape == (case["spixels"], case["fpixels"])
        digest = hashlib.sha256(image.astype("<f4").tobytes()).hexdigest()
        assert digest == case["float_sha256"], case["name"]
        checked += 1
        if checked >= 6:
            break
    assert checked > 0


def test_size_mismatch_and_missing(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(4 * 11))
    with pytest.raises(InputError) as info:
        read_float_image(path, 4, 3, flag="-floatfile")
    assert str(info.value).startswith(f"-floatfile: {path}:")
    assert "44 bytes, expected 48" in str(info.value)
    with pytest.raises(InputError, match="does not exist"):
        read_float_image(tmp_path / "none.bin", 1, 1)


def test_write_errors(tmp_path):
    with pytest.raises(ValueError):
        write_float_image(tmp_path / "f.bin", np.zeros(3))
    with pytest.raises(OutputError):
        write_float_image(tmp_path / "no" / "f.bin", np.zeros((1, 1)))


def test_directory_nul_name_and_truncated_gzip(tmp_path):
    with pytest.raises(InputError) as info:
        read_float_image(tmp_path, 1, 1, flag="-floatfile")
    assert str(info.value).startswith("-floatfile: ") and "directory" in str(info.value)
    with pytest.raises(InputError, match="not a usable file name"):
        read_float_image(str(tmp_path / "a\0b.bin"), 1, 1, flag="-floatfile")
    path = tmp_path / "float.bin.gz"
    path.write_bytes(gzip.compress(bytes(4 * 6))[:-6])
    with pytest.raises(InputError) as info:
        read_float_image(path, 3, 2, flag="-floatfile")
    assert "bad gzip data" in str(info.value) and str(path) in str(info.value)
