"""The full 2463x2527 supervisor frame, in bounded memory.

Default (physically correct phi): the frame must contain the reference's
``supervisor_roi_spec`` region pixel for pixel.  With ``--phi-carryover`` it must
match the reference's own full frame, ``supervisor_full``.
"""
from __future__ import annotations

import io

import numpy as np

from golden import (assert_trace_matches, case, case_dir, compare, per_pixel_trace, reference_image, stage_inputs,
                    within_tolerance)
from xbragg.cli.main import run

TRACE = ["-trace_pixel", "1039", "685"]


def _check_trace(printed: str, reference_case: str) -> None:
    # phi[0].phi_deg is 1e-20 in the *_spec run, 0 in the carry-over run: both phi = 0
    ref = per_pixel_trace((case_dir(reference_case) / "trace.txt").read_text(), "TRACE_C")
    ours = per_pixel_trace(printed, "TRACE_PY")
    for trace in (ref, ours):
        trace.remove(next(e for e in trace if e.ident == ("phi[0].phi_deg", 1)))
    assert_trace_matches(ref, ours)


def _render_full(tmp_path, monkeypatch, *extra):
    stage_inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    full = case("supervisor_full")
    out = io.StringIO()
    argv = full["args"].split() + ["-floatfile", "full.bin", "-noprogress", "--memory-budget", "64", *TRACE,
                                   *extra]
    assert run(argv, out=out) == 0
    image = np.fromfile(tmp_path / "full.bin", dtype="<f4").reshape(full["spixels"], full["fpixels"])
    return image, out.getvalue()


def test_supervisor_full_frame_contains_the_spec_roi(tmp_path, monkeypatch):
    image, printed = _render_full(tmp_path, monkeypatch)
    # the physically correct chain of pixel (1039, 685), as the reference gives it with phi 1e-20
    _check_trace(printed, "supervisor_roi_spec")
    spec = reference_image(case("supervisor_roi_spec"))
    x0, x1, y0, y1 = 600, 760, 980, 1100
    crop = np.zeros_like(spec)
    crop[y0:y1 + 1, x0:x1 + 1] = image[y0:y1 + 1, x0:x1 + 1]
    assert within_tolerance(compare(crop, spec))
    assert image.max() > 0 and np.isfinite(image).all()


def test_supervisor_full_frame_with_phi_carryover_matches_reference(tmp_path, monkeypatch):
    case_dir("supervisor_full")     # skips before the render when ../shared/golden is absent
    image, printed = _render_full(tmp_path, monkeypatch, "--phi-carryover")
    _check_trace(printed, "supervisor_full")
    metrics = compare(image, reference_image(case("supervisor_full")))
    assert within_tolerance(metrics), metrics
