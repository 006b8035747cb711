"""The full 2463x2527 supervisor frame renders in bounded memory (physically correct phi).

The reference's supervisor_full image carries phi over (a later release reproduces
that); its ``supervisor_roi_spec`` twin holds the physically correct image of a
region, which the full-frame render must contain pixel for pixel.
"""
from __future__ import annotations

import io

import numpy as np

from golden import case, compare, reference_image, stage_inputs, within_tolerance
from xbragg.cli.main import run


def test_supervisor_full_frame_contains_the_spec_roi(tmp_path, monkeypatch):
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    full = case("supervisor_full")
    out = io.StringIO()
    assert run(full["args"].split() + ["-floatfile", "full.bin", "-noprogress", "--memory-budget", "64"],
               out=out) == 0
    image = np.fromfile(tmp_path / "full.bin", dtype="<f4").reshape(full["spixels"], full["fpixels"])
    spec = reference_image(case("supervisor_roi_spec"))
    x0, x1, y0, y1 = 600, 760, 980, 1100
    crop = np.zeros_like(spec)
    crop[y0:y1 + 1, x0:x1 + 1] = image[y0:y1 + 1, x0:x1 + 1]
    assert within_tolerance(compare(crop, spec))
    assert image.max() > 0 and np.isfinite(image).all()
