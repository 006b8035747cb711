import numpy as np
import pytest

from xbragg.errors import InputError
from xbragg.io.matrix import read_mosflm_matrix

from pathlib import Path

INPUTS = Path(__file__).resolve().parents[1] / "reference" / "inputs"


def test_reads_golden_matrix_as_columns():
    a_star, b_star, c_star = read_mosflm_matrix(INPUTS / "A.mat")
    np.testing.assert_array_equal(a_star, [-0.02837711, -0.02871390, 0.01050048])
    np.testing.assert_array_equal(b_star, [-0.00305386, 0.01019549, -0.03209440])
    np.testing.assert_array_equal(c_star, [0.02535816, -0.01400049, -0.01036054])
    for vector in (a_star, b_star, c_star):
        assert vector.dtype == np.float64 and vector.shape == (3,)


def test_extra_mosflm_lines_ignored(tmp_path):
    path = tmp_path / "full.mat"
    path.write_text("1 2 3\n4 5 6\n7 8 9\n 0.000 0.000 0.000\n"
                    "U matrix follows\n  78.0 78.0 38.0 90.0 90.0 90.0\n")
    a, b, c = read_mosflm_matrix(path)
    np.testing.assert_array_equal(a, [1, 4, 7])
    np.testing.assert_array_equal(b, [2, 5, 8])
    np.testing.assert_array_equal(c, [3, 6, 9])


def test_missing_file(tmp_path):
    path = tmp_path / "missing.mat"
    with pytest.raises(InputError) as info:
        read_mosflm_matrix(path, flag="-matrix")
    message = str(info.value)
    assert "-matrix" in message and str(path) in message and "does not exist" in message


def test_non_numeric_names_line(tmp_path):
    path = tmp_path / "bad.mat"
    path.write_text("1 2 3\n4 five 6\n7 8 9\n")
    with pytest.raises(InputError) as info:
        read_mosflm_matrix(path)
    message = str(info.value)
    assert "-mat" in message and f"{path}, line 2" in message and "'five'" in message
    assert info.value.line == 2 and info.value.flag == "-mat"


def test_too_few_numbers(tmp_path):
    path = tmp_path / "short.mat"
    path.write_text("1 2 3\n4 5 6\n7 8\n")
    with pytest.raises(InputError) as info:
        read_mosflm_matrix(path)
    message = str(info.value)
    assert f"{path}, line 3" in message and "only 8 numbers" in message and "-mat" in message
    path.write_text("\n\n")
    with pytest.raises(InputError, match="only 0 numbers"):
        read_mosflm_matrix(path)
