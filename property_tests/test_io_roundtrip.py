"""File round trips are exact: ``Fdump.bin`` (xbragg.io.hkl) and SMV images (xbragg.io.smv)."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xbragg.errors import InputError
from xbragg.io.hkl import MAX_F, HKLTable, read_fdump, write_fdump
from xbragg.io.smv import SMV_HEADER_BYTES, read_smv, write_smv

# every float64 bit pattern an amplitude may have: finite, |F| <= MAX_F (F*F finite)
amplitudes = st.floats(-MAX_F, MAX_F, allow_subnormal=True)


@given(origin=st.tuples(*[st.integers(-2**20, 2**20)] * 3), shape=st.tuples(*[st.integers(1, 6)] * 3),
       data=st.data())
def test_fdump_round_trip_is_exact(origin, shape, data):
    F = data.draw(arrays(np.float64, shape, elements=amplitudes))
    (h0, k0, l0), (nh, nk, nl) = origin, shape
    table = HKLTable(h_min=h0, h_max=h0 + nh - 1, k_min=k0, k_max=k0 + nk - 1, l_min=l0, l_max=l0 + nl - 1,
                     F=F, count=F.size)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "Fdump.bin")
        write_fdump(path, table)
        back = read_fdump(path)
    assert back.origin == table.origin and back.shape == table.shape
    assert back.F.dtype == np.float64
    np.testing.assert_array_equal(back.F.view(np.uint64), F.view(np.uint64))   # bit for bit


@given(bad=st.one_of(st.just(np.nan), st.just(np.inf), st.just(-np.inf), st.floats(min_value=MAX_F,
                                                                                  exclude_min=True)),
       at=st.tuples(*[st.integers(0, 2)] * 3))
def test_fdump_with_an_unusable_amplitude_is_refused(bad, at):
    F = np.ones((3, 3, 3))
    F[at] = bad
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "Fdump.bin")
        write_fdump(path, HKLTable(0, 2, 0, 2, 0, 2, F, 27))
        with pytest.raises(InputError, match=r"F\(%d,%d,%d\)" % at):
            read_fdump(path)


RESERVED = {"HEADER_BYTES", "DIM", "BYTE_ORDER", "TYPE", "SIZE1", "SIZE2"}
keys = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789_", min_size=1, max_size=16).filter(
    lambda k: k not in RESERVED)
# printable latin-1 without the item separators ';' and newline, and without '}' (end of header)
value_chars = st.characters(codec="latin-1", exclude_characters=";\n}\r\f\v\x1c\x1d\x1e\x85",
                            exclude_categories=("Cc",))
values = st.text(value_chars, max_size=40)
items = st.one_of(st.tuples(keys, values),
                  st.builds(lambda k, v: f"{k}={v}", keys, values))   # raw lines without ';'


@given(data=arrays(np.uint16, st.tuples(st.integers(1, 24), st.integers(1, 24))),
       header=st.lists(items, max_size=40))
def test_smv_round_trip_is_exact(data, header):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "image.img")
        write_smv(path, data, header)
        image = read_smv(path)
        size = os.path.getsize(path)
    assert image.data.dtype == np.uint16
    np.testing.assert_array_equal(image.data, data)
    assert image.header_bytes % SMV_HEADER_BYTES == 0
    assert size == image.header_bytes + 2 * data.size
    assert image.header["SIZE1"] == str(data.shape[1]) and image.header["SIZE2"] == str(data.shape[0])
    expected = {}
    for item in header:
        key, value = item if isinstance(item, tuple) else item.split("=", 1)
        expected[key] = value.strip()
    for key, value in expected.items():
        assert image.header[key] == value, key
