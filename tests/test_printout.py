"""-printout and -printout_pixel: the reference's per-pixel lines, from the renderer's records."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from golden import EXTRA, GOLDEN, needs_reference, run_reference, run_xbragg
from xbragg.cli.parse import parse_args

INPUTS = GOLDEN / "inputs"
BLOCK_LINES = 14
STORED_FLAGS = ("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 4 -distance 5 -pixel 1 "
                "-Xbeam 0.5 -Ybeam 0.5 -phi 0 -osc 6 -phisteps 3 -oversample 2 -detector_thick 100 "
                "-detector_thicksteps 2 -oversample_omega -dmin 3 -printout").split()
SMALL = "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 8 -distance 50".split()


def blocks(text: str) -> list[list[str]]:
    """The printout blocks of a program's standard output (a block may start mid-line in the
    reference's, after its interpolation warning that ends without a newline)."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        m = re.search(r"\s*-?\d+\s+-?\d+ : stol", line)
        if m:
            found.append([line[m.start():]] + lines[i + 1:i + BLOCK_LINES])
    return found


def _same_line(ours: str, ref: str) -> bool:
    """Same words; numbers equal to the golden relative tolerance (1e-5) or within 1e-9."""
    a, b = ours.split(), ref.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            if x != y:
                return False
            continue
        if not (abs(fx - fy) <= 1e-5 * max(abs(fx), abs(fy)) or abs(fx - fy) <= 1e-9):
            return False
    return True


def assert_blocks_match(ours: list[list[str]], ref: list[list[str]]) -> None:
    assert len(ours) == len(ref)
    for block_ours, block_ref in zip(ours, ref):
        assert len(block_ours) == len(block_ref) == BLOCK_LINES
        for a, b in zip(block_ours, block_ref):
            assert _same_line(a, b), f"\nours: {a!r}\nref:  {b!r}"


# a run with -hkl writes the Fdump.bin cache in the working directory
pytestmark = pytest.mark.usefixtures("scratch_directory")


def _xbragg(tmp_path: Path, flags: list[str]) -> str:
    return run_xbragg(flags, tmp_path)[1]


def test_matches_the_stored_reference_printout(tmp_path):
    # stale values after pixels that -dmin emptied, partial sub-pixels, phi steps, sensor layers
    ref = blocks((EXTRA / "printout" / "printout.txt").read_text())
    assert len(ref) == 16
    assert_blocks_match(blocks(_xbragg(tmp_path, STORED_FLAGS + ["--c-parity"])), ref)   # phi from 0


def test_layout_of_one_block(tmp_path):
    text = _xbragg(tmp_path, SMALL + ["-printout_pixel", "3", "5"])
    (block,) = blocks(text)
    assert block[0].startswith("   3    5 : stol = ")         # fast, then slow, as the reference
    assert re.fullmatch(r"hkl= \S+ \S+ \S+  hkl0= -?\d+ -?\d+ -?\d+", block[2])
    assert [line[:8] for line in block[4:9]] == ["I/steps ", "polar   ", "omega   ", "capfrac ", "pixel   "]
    assert all(len(line) == 23 for line in block[4:9])          # %15.10g after an 8-character label
    assert block[9] == "real-space cell vectors (Angstrom):"
    assert block[10] == "     a           b           c         "
    assert [line[:3] for line in block[11:]] == ["X: ", "Y: ", "Z: "]


def test_printed_pixel_is_the_rendered_one(tmp_path):
    text = _xbragg(tmp_path, SMALL + ["-printout"])
    image = np.fromfile(tmp_path / "x.bin", dtype="<f4").reshape(8, 8)
    found = blocks(text)
    assert len(found) == 64
    for block in found:
        fast, slow = (int(v) for v in block[0].split()[:2])
        assert float(block[8].split()[1]) == pytest.approx(float(image[slow, fast]), rel=1e-9)


def test_first_pass_cell_under_phi_carryover(tmp_path):
    # the first pixel's last phi step is at exactly 0 after a step at -1 deg: the reference keeps
    # that step's rotation (first pass of the carry-over), it does not print the unrotated cell
    text = _xbragg(tmp_path, SMALL + "-printout_pixel 0 0 -phi -1 -osc 2 -phisteps 2 -oversample 1 "
                   "--c-parity".split())
    (block,) = blocks(text)
    # the reference's lines for these flags (nanoBragg.c, -printout_pixel 0 0)
    assert block[11:] == ["X: 99.98476952  1.74524064  0.00000000",
                          "Y: -1.74524064 99.98476952  0.00000000",
                          "Z:  0.00000000  0.00000000 100.00000000"]


def test_printout_pixel_turns_printout_on_and_a_negative_index_prints_all(tmp_path):
    settings = parse_args(["-printout_pixel", "2", "7"]).settings
    assert settings["printout"] and settings["printout_pixel"] == (2, 7)
    assert len(blocks(_xbragg(tmp_path, SMALL + ["-printout_pixel", "-1", "0"]))) == 64
    assert blocks(_xbragg(tmp_path, SMALL)) == []


def test_masked_and_outside_roi_pixels_are_not_printed(tmp_path):
    found = blocks(_xbragg(tmp_path, SMALL + ["-printout", "-roi", "2", "4", "1", "2"]))
    assert [tuple(int(v) for v in b[0].split()[:2]) for b in found] == [
        (f, s) for s in (1, 2) for f in (2, 3, 4)]


@needs_reference
@pytest.mark.parametrize("extra", [
    "-printout",
    "-printout -mosaic 1 -mosaic_dom 3 -mosaic_seed 3 -phi 0 -osc 3 -phisteps 3",
    "-printout -oversample 2 -detector_thick 100 -detector_thicksteps 2 -oversample_polar -oversample_thick",
    "-printout -tophat_spots -N 2",
    "-printout -water 100 -round_xtal",
    "-printout -xds -twotheta 20 -curved_det -roi 1 6 2 5",
    "-printout_pixel 4 4 -phi 0 -osc 10 -phisteps 3",
    "-printout -phi -1 -osc 2 -phisteps 2 -oversample 1 -mosaic 1 -mosaic_dom 2",
    f"-printout -interpolate -N 2 -hkl {INPUTS / 'grid3.hkl'} -distance 10 -pixel 1",
])
def test_live_reference(tmp_path, extra):
    flags = SMALL + extra.split()
    work = tmp_path / "ref"
    work.mkdir()
    _, stdout = run_reference(flags, work)
    ours = blocks(_xbragg(tmp_path, flags + ["--c-parity"]))
    assert ours
    assert_blocks_match(ours, blocks(stdout))
