"""The full 2463x2527 supervisor frame, in bounded memory.

Default (physically correct phi): the frame must contain the reference's
``supervisor_roi_spec`` region pixel for pixel.  With ``--phi-carryover`` it must
match the reference's own full frame, ``supervisor_full``.
"""
from __future__ import annotations

import io

import numpy as np

from golden import case, compare, reference_image, stage_inputs, within_tolerance
from xbragg.cli.main import run


def _render_full(tmp_path, monkeypatch, *extra):
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    full = case("supervisor_full")
    out = io.StringIO()
    argv = full["args"].split() + ["-floatfile", "full.bin", "-noprogress", "--memory-budget", "64", *extra]
    assert run(argv, out=out) == 0
    return np.fromfile(tmp_path / "full.bin", dtype="<f4").reshape(full["spixels"], full["fpixels"])


def test_supervisor_full_frame_contains_the_spec_roi(tmp_path, monkeypatch):
    image = _render_full(tmp_path, monkeypatch)
    spec = reference_image(case("supervisor_roi_spec"))
    x0, x1, y0, y1 = 600, 760, 980, 1100
    crop = np.zeros_like(spec)
    crop[y0:y1 + 1, x0:x1 + 1] = image[y0:y1 + 1, x0:x1 + 1]
    assert within_tolerance(compare(crop, spec))
    assert image.max() > 0 and np.isfinite(image).all()


def test_supervisor_full_frame_with_phi_carryover_matches_reference(tmp_path, monkeypatch):
    image = _render_full(tmp_path, monkeypatch, "--phi-carryover")
    metrics = compare(image, reference_image(case("supervisor_full")))
    assert within_tolerance(metrics), metrics
