import numpy as np
import pytest

from xbragg.errors import InputError
from xbragg.io.sources import read_source_file

from pathlib import Path

INPUTS = Path(__file__).resolve().parents[1] / "reference" / "inputs"


def test_golden_sources():
    sources = read_source_file(INPUTS / "sources.txt")
    assert sources.shape == (3, 5) and sources.dtype == np.float64
    np.testing.assert_array_equal(sources, [[-10.0, 0.0, 0.0, 1.0, 6.2e-10],
                                            [-10.0, 0.02, 0.0, 1.0, 6.2e-10],
                                            [-10.0, 0.0, 0.03, 1.0, 6.2e-10]])


def test_delimiters_blank_comment_and_missing_columns(tmp_path):
    path = tmp_path / "src.txt"
    path.write_text("# X Y Z I lambda\n\n  ,; \n-10,0;0:2!1e-10\n"
                    "-10\t0.1  0.2\n  -1 ,, 2\n")
    sources = read_source_file(path)
    assert sources.shape == (3, 5)
    np.testing.assert_array_equal(sources[0], [-10, 0, 0, 2, 1e-10])
    np.testing.assert_array_equal(sources[1, :3], [-10, 0.1, 0.2])
    assert np.isnan(sources[1, 3:]).all()
    np.testing.assert_array_equal(sources[2, :2], [-1, 2])
    assert np.isnan(sources[2, 2:]).all()


def test_missing_file(tmp_path):
    path = tmp_path / "none.txt"
    with pytest.raises(InputError) as info:
        read_source_file(path)
    assert "-sourcefile" in str(info.value) and str(path) in str(info.value)


def test_non_numeric_token(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("-10 0 0 1 1e-10\n\n-10 0 zero 1\n")
    with pytest.raises(InputError) as info:
        read_source_file(path, flag="-source")
    message = str(info.value)
    assert message.startswith(f"-source: {path}, line 3:")
    assert "'zero'" in message and "Z" in message


def test_too_many_columns(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_text("1 2 3 4 5\n1 2 3 4 5 6\n")
    with pytest.raises(InputError) as info:
        read_source_file(path)
    assert f"{path}, line 2" in str(info.value) and "6 columns" in str(info.value)
    assert "-sourcefile" in str(info.value)


def test_no_sources(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# only a comment\n\n")
    with pytest.raises(InputError) as info:
        read_source_file(path)
    assert "no sources" in str(info.value) and str(path) in str(info.value)
    assert "-sourcefile" in str(info.value)
