from pathlib import Path

import numpy as np
import pytest

from xbragg.errors import OutputError
from xbragg.io.pgm import write_pgm

GOLDEN = Path(__file__).resolve().parents[1] / "reference"


def test_layout(tmp_path):
    data = np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8)
    path = tmp_path / "x.pgm"
    write_pgm(path, data, 0.25)
    assert path.read_bytes() == (b"P5\n3 2\n# pixels scaled by 0.25\n255\n"
                                 + bytes([0, 1, 2, 253, 254, 255]))


@pytest.mark.parametrize("case", ["outputs_int_noise_pgm", "outputs_scaled"])
def test_reference_pgm_byte_for_byte(tmp_path, case):
    source = GOLDEN / case / "image.pgm"
    raw = source.read_bytes()
    lines = raw.split(b"\n", 4)
    fast, slow = (int(v) for v in lines[1].split())
    scale = float(lines[2].split()[-1])
    data = np.frombuffer(lines[4], dtype=np.uint8).reshape(slow, fast)
    target = tmp_path / "image.pgm"
    write_pgm(target, data, scale)
    assert target.read_bytes() == raw


def test_errors(tmp_path):
    with pytest.raises(ValueError):
        write_pgm(tmp_path / "x.pgm", np.zeros((2, 2), dtype=np.uint16), 1.0)
    with pytest.raises(OutputError):
        write_pgm(tmp_path / "no" / "x.pgm", np.zeros((2, 2), dtype=np.uint8), 1.0)
