"""Line up a reference TRACE_C per-pixel trace with xbragg's TRACE_PY lines, key by key.

Lines are parsed by the product's own trace reader (``xbragg.tools.trace_diff``); the
comparison here is the acceptance rule: every shared value within ``rtol`` relative,
numbers printed as integers exactly, and components that are rounding noise beside the
vector's largest component (6e-15 next to 100) compared absolutely.
"""
from __future__ import annotations

import numpy as np

from xbragg.tools.trace_diff import Value, parse_line, parse_value


def per_pixel_values(lines, prefix: str) -> dict[tuple[str, int], Value]:
    """{(key, occurrence): value} from ``pix0_vector_meters`` on (PHI lines as phi[tic].name)."""
    started = False
    seen: dict[str, int] = {}
    out = {}
    for line in lines:
        started = started or line.startswith(f"{prefix}: pix0_vector_meters")
        if not started or not line.startswith(prefix):
            continue
        for key, text in parse_line(line):
            n = seen.get(key, 0)
            seen[key] = n + 1
            out[(key, n)] = parse_value(text)
    return out


def compare_traces(ref: dict, ours: dict, rtol: float = 1e-9) -> list[str]:
    """Problems found: keys missing from ours, or values beyond ``rtol``."""
    problems = []
    for (key, n), rv in ref.items():
        ov = ours.get((key, n))
        if ov is None:
            problems.append(f"{key}#{n} missing")
            continue
        a, b = np.array(rv.numbers), np.array(ov.numbers)
        if a.shape != b.shape:
            problems.append(f"{key}#{n}: {rv.text} vs {ov.text}")
            continue
        exact = np.array(rv.integer) & np.array(ov.integer)
        if np.any(exact & (a != b)):
            problems.append(f"{key}#{n}: {rv.text} != {ov.text}")
            continue
        scale = np.maximum(np.abs(a), np.abs(b))
        rel = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1), 0.0)
        noise = np.abs(a - b) <= 1e-12 * max(np.abs(a).max(initial=0.0), 1e-300)
        if np.any((rel > rtol) & ~noise & ~exact):
            problems.append(f"{key}#{n}: {rv.text} vs {ov.text} (rel {rel.max():.2e})")
    return problems


def split_lines(text: str) -> list[str]:
    """Lines of a trace text."""
    return [line.rstrip() for line in text.splitlines()]
