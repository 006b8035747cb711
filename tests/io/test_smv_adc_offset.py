"""SMV's optional ADC_OFFSET key: stated when asked, absent (the reference's bytes) by default."""
import numpy as np
import pytest

from xbragg.io.smv import read_smv, smv_bytes, write_smv

HEADER = [("PIXEL_SIZE", "0.1"), ("BEAMLINE", "fake")]


def test_default_bytes_have_no_adc_offset():
    data = np.arange(12, dtype=np.uint16).reshape(3, 4)
    assert smv_bytes(data, HEADER) == smv_bytes(data, HEADER, adc_offset=None)
    assert b"ADC_OFFSET" not in b"".join(smv_bytes(data, HEADER))


def test_adc_offset_is_the_last_header_item(tmp_path):
    fabio = pytest.importorskip("fabio")
    data = np.arange(12, dtype=np.uint16).reshape(3, 4) + 40
    write_smv(tmp_path / "a.img", data, HEADER, adc_offset=40)
    image = read_smv(tmp_path / "a.img")
    assert list(image.header)[-1] == "ADC_OFFSET" and image.header["ADC_OFFSET"] == "40"
    np.testing.assert_array_equal(image.data, data)
    assert fabio.open(str(tmp_path / "a.img")).header["ADC_OFFSET"] == "40"
    plain = b"".join(smv_bytes(data, HEADER))
    stated = (tmp_path / "a.img").read_bytes()
    assert len(stated) == len(plain) and stated[512:] == plain[512:]


def test_adc_offset_must_be_finite():
    with pytest.raises(ValueError, match="ADC offset"):
        smv_bytes(np.zeros((2, 2), dtype=np.uint16), adc_offset=float("nan"))
