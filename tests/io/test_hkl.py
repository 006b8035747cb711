from pathlib import Path

import numpy as np
import pytest

from xbragg.errors import InputError
from xbragg.io.hkl import HKLTable, read_fdump, read_hkl, write_fdump

INPUTS = Path(__file__).resolve().parents[1] / "reference" / "inputs"


def _lines(path):
    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    return [(int(h), int(k), int(l), float(F)) for h, k, l, F in rows]


def test_grid8():
    table = read_hkl(INPUTS / "grid8.hkl")
    assert table.count == 4913
    assert table.origin == (-8, -8, -8)
    assert (table.h_max, table.k_max, table.l_max) == (8, 8, 8)
    assert table.shape == (17, 17, 17) == table.F.shape
    assert table.F.dtype == np.float64
    assert table.F[0, 0, 0] == 98.4356 and table.F[0, 0, 1] == 69.0685
    for h, k, l, F in _lines(INPUTS / "grid8.hkl")[::97]:
        assert table.F[h + 8, k + 8, l + 8] == F


def test_scaled_hkl_matches_line_by_line():
    # speed is a benchmark's business, not a unit test's (it failed on a loaded machine)
    table = read_hkl(INPUTS / "scaled.hkl")
    entries = _lines(INPUTS / "scaled.hkl")
    assert table.count == len(entries) == 64333
    hkl = np.array([e[:3] for e in entries])
    assert table.origin == tuple(hkl.min(axis=0))
    assert (table.h_max, table.k_max, table.l_max) == tuple(hkl.max(axis=0))
    expected = np.zeros(table.shape)
    for h, k, l, F in entries:
        expected[h - table.h_min, k - table.k_min, l - table.l_min] = F
    np.testing.assert_array_equal(table.F, expected)


def test_pattern_with_default_F():
    table = read_hkl(INPUTS / "pattern.hkl", default_F=7.0)
    assert table.count == 10
    assert table.origin == (-1, -1, -1) and table.shape == (4, 4, 3)
    listed = {(h, k, l): F for h, k, l, F in _lines(INPUTS / "pattern.hkl")}
    for index in np.ndindex(table.shape):
        hkl = tuple(int(i + o) for i, o in zip(index, table.origin))
        assert table.F[index] == listed.get(hkl, 7.0)


def test_comments_blank_lines_float_indices_and_repeats(tmp_path):
    path = tmp_path / "x.hkl"
    path.write_text("# h k l F\n\n 1 2 3 10\n  # comment\n1.0 2 -3.0 5.5\n"
                    "1 2 3 20\n\t\n1 2 3 30\r\n")
    table = read_hkl(path, default_F=1.5)
    assert table.count == 4
    assert table.origin == (1, 2, -3) and table.shape == (1, 1, 7)
    assert table.F[0, 0, 6] == 30.0  # last of the repeats wins
    assert table.F[0, 0, 0] == 5.5
    assert table.F[0, 0, 3] == 1.5


def _error(tmp_path, text, name="bad.hkl", **kwargs):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as info:
        read_hkl(path, **kwargs)
    return path, info.value


def test_missing_file(tmp_path):
    path = tmp_path / "missing.hkl"
    with pytest.raises(InputError) as info:
        read_hkl(path)
    assert str(info.value) == f"-hkl: {path}: file does not exist"


def test_directory_is_an_error(tmp_path):
    with pytest.raises(InputError, match="directory"):
        read_hkl(tmp_path)


def test_non_numeric_token(tmp_path):
    path, error = _error(tmp_path, "1 2 3 4\n\n1 2 x 4\n", flag="-myhkl")
    message = str(error)
    assert message.startswith(f"-myhkl: {path}, line 3:")
    assert "'x'" in message and "expected l" in message
    assert error.line == 3 and error.path == str(path) and error.flag == "-myhkl"


def test_underscore_number_rejected(tmp_path):
    path, error = _error(tmp_path, "1 2 3 4\n1 2 3 1_0\n")
    assert f"{path}, line 2" in str(error) and "'1_0'" in str(error)


def test_wrong_column_count(tmp_path):
    path, error = _error(tmp_path, "1 2 3 4\n1 2 3\n")
    assert f"-hkl: {path}, line 2:" in str(error) and "expected 4" in str(error)
    path, error = _error(tmp_path, "1 2 3 4 5\n", name="five.hkl")
    assert f"{path}, line 1" in str(error) and "found 5" in str(error)


def test_non_integer_index(tmp_path):
    path, error = _error(tmp_path, "1 2 3 4\n1 2.5 3 4\n")
    message = str(error)
    assert f"-hkl: {path}, line 2:" in message and "k = 2.5 is not an integer" in message
    path, error = _error(tmp_path, "nan 2 3 4\n", name="nan.hkl")
    assert f"{path}, line 1" in str(error) and "h = nan" in str(error)


def test_no_reflections(tmp_path):
    path, error = _error(tmp_path, "# nothing\n\n")
    assert f"-hkl: {path}:" in str(error) and "no reflections" in str(error)
    path, error = _error(tmp_path, "", name="empty.hkl")
    assert "no reflections" in str(error)


def test_grid_too_large(tmp_path):
    # a sparse table may span a large grid (two reflections of +-400 are fine), but not this
    path, error = _error(tmp_path, "0 0 0 1\n1000000 1000000 1000000 1\n")
    assert str(path) in str(error) and "grid cells" in str(error)


def test_table_shape_validated():
    with pytest.raises(ValueError):
        HKLTable(0, 1, 0, 1, 0, 1, np.zeros((2, 2, 3)), 8)


def test_fdump_layout_and_round_trip(tmp_path):
    table = read_hkl(INPUTS / "pattern.hkl", default_F=3.0)
    path = tmp_path / "Fdump.bin"
    write_fdump(path, table)
    raw = path.read_bytes()
    header = b"-1 2 -1 2 -1 1\n\f"
    assert raw.startswith(header)
    values = np.frombuffer(raw[len(header):], dtype="<f8")
    assert values.size == 5 * 5 * 4
    padded = values.reshape(5, 5, 4)
    np.testing.assert_array_equal(padded[:-1, :-1, :-1], table.F)
    assert not padded[-1].any() and not padded[:, -1].any() and not padded[:, :, -1].any()
    back = read_fdump(path)
    assert back.origin == table.origin and back.shape == table.shape
    assert back.count == 4 * 4 * 3
    np.testing.assert_array_equal(back.F, table.F)


def test_fdump_round_trip_exact_bits(tmp_path):
    rng = np.random.default_rng(5)
    F = rng.standard_normal((3, 4, 5)) * 1e3
    F[0, 0, 0] = -0.0
    F[1, 1, 1] = np.nextafter(1.0, 2.0)
    table = HKLTable(-1, 1, 0, 3, -10, -6, F, 7)
    write_fdump(tmp_path / "f.bin", table)
    back = read_fdump(tmp_path / "f.bin")
    assert back.F.tobytes() == F.tobytes()
    assert (back.h_min, back.h_max, back.k_min, back.k_max, back.l_min, back.l_max) == \
        (-1, 1, 0, 3, -10, -6)


def test_fdump_first_value_looks_like_whitespace(tmp_path):
    # 0x20 (space) as the first data byte: must not be swallowed by header parsing.
    value = np.frombuffer(b"\x20" + b"\x00" * 6 + b"\x40", dtype="<f8")[0]
    table = HKLTable(0, 0, 0, 0, 0, 0, np.full((1, 1, 1), value), 1)
    write_fdump(tmp_path / "f.bin", table)
    assert read_fdump(tmp_path / "f.bin").F[0, 0, 0] == value


def test_fdump_errors(tmp_path):
    path = tmp_path / "Fdump.bin"
    with pytest.raises(InputError, match="does not exist"):
        read_fdump(path)
    path.write_bytes(b"garbage")
    with pytest.raises(InputError) as info:
        read_fdump(path)
    assert str(path) in str(info.value) and "header" in str(info.value)
    path.write_bytes(b"0 1 0 1 0 x\n\f" + bytes(8 * 27))
    with pytest.raises(InputError, match="header"):
        read_fdump(path)
    path.write_bytes(b"1 0 0 1 0 1\n\f" + bytes(8 * 27))
    with pytest.raises(InputError, match="empty index range"):
        read_fdump(path)
    path.write_bytes(b"0 1 0 1 0 1\n\f" + bytes(8 * 26))
    with pytest.raises(InputError) as info:
        read_fdump(path, flag="-dumpfile")
    assert "truncated" in str(info.value) and str(path) in str(info.value)
    assert "-dumpfile" in str(info.value)
    path.write_bytes(b"0 1 0 1 0 1\n\f" + bytes(8 * 28))
    with pytest.raises(InputError, match="too long"):
        read_fdump(path)
    path.write_bytes(b"0 1 0 1 0 1\n\f" + bytes(8 * 27))
    assert read_fdump(path).shape == (2, 2, 2)
