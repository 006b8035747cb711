"""README.md's commands and snippets do what it says, and CI runs what it tells a new user to."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

import xbragg
from png_reader import decode_png
from xbragg.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _indented_commands() -> list[str]:
    """The README's indented (4-space) command lines, in order."""
    return [line.strip() for line in README.splitlines() if line.startswith("    ") and line.strip()]


def _python_blocks() -> list[str]:
    """The README's fenced python blocks, dedented, in order."""
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    return ["\n".join(line[2:] if line.startswith("  ") else line for line in b.splitlines()) for b in blocks]


def _png_pixels(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit greyscale PNG as xbragg.tools.png writes it."""
    pixels, _ = decode_png(data)
    assert pixels.ndim == 2, "expected a greyscale PNG"
    return pixels


def test_first_python_snippet_saves_a_visible_preview(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_python_blocks()[0], "README.md", "exec"), {})
    assert capsys.readouterr().out.startswith("max ")
    pixels = _png_pixels((tmp_path / "preview.png").read_bytes())
    assert pixels.shape == (256, 256)
    # not blank: black background, white Bragg peaks, shades between
    assert pixels.min() == 0 and pixels.max() == 255 and len(np.unique(pixels)) > 20


def test_first_command_writes_what_the_readme_says(tmp_path, monkeypatch):
    setup = _indented_commands()[0]
    install, run = setup.split(" && ")
    assert install == "pip install -e ."
    argv = shlex.split(run)
    assert argv[0] == "xbragg"
    monkeypatch.chdir(tmp_path)
    assert main(argv[1:]) == 0
    assert (tmp_path / "floatimage.bin").stat().st_size == 1024 * 1024 * 4
    assert (tmp_path / "intimage.img").is_file()
    # the README's way of reading it
    reader = re.search(r"`(numpy\.fromfile\(\"floatimage\.bin\".*?\))`", README).group(1)
    image = eval(reader, {"numpy": np})
    assert image.shape == (1024, 1024) and image.dtype == np.float32 and image.max() > 0


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    test_command = _indented_commands()[1].split(" && ")
    assert test_command[:2] == ["pip install torch==2.13.0", "pip install -e '.[test,torch,numba]'"]
    for step in test_command:
        assert any(line == step or line.startswith(step + " ") for line in ci), step
    assert "shared" not in _indented_commands()[1]


def test_save_png_edges(tmp_path):
    with pytest.raises(xbragg.InputError, match=r"non-empty 2-D image, got shape \(4,\)"):
        xbragg.save_png(np.ones(4), tmp_path / "line.png")
    assert not (tmp_path / "line.png").exists()
    xbragg.save_png(np.zeros((3, 5)), tmp_path / "zero.png")          # no maximum: all black
    assert not _png_pixels((tmp_path / "zero.png").read_bytes()).any()
    xbragg.save_png(np.array([[1.0, 10.0], [np.nan, 100.0]]), tmp_path / "v.png", vmax=10.0)
    # 1 of vmax 10 over 4 decades: 255 * log10(1 + 1e3) / log10(1 + 1e4) = 191.3; NaN black, above vmax white
    assert _png_pixels((tmp_path / "v.png").read_bytes()).tolist() == [[191, 255], [0, 255]]
