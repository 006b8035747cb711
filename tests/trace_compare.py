"""Line up a reference TRACE_C per-pixel trace with xbragg's TRACE_PY lines, key by key."""
from __future__ import annotations

import re

import numpy as np

INTEGER_KEYS = {"hkl_rounded", "steps", "oversample_thick", "oversample_polar", "oversample_omega"}


def per_pixel_values(lines, prefix: str) -> dict:
    """{(key, occurrence): values} from ``pix0_vector_meters`` on (PHI lines as phi[tic].name)."""
    started = False
    seen: dict[str, int] = {}
    out = {}
    for line in lines:
        if line.startswith(f"{prefix}: pix0_vector_meters"):
            started = True
        if not started:
            continue
        if line.startswith(f"{prefix}_PHI "):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            tic = fields.pop("phi_tic")
            items = [(f"phi[{tic}].{k}", [v]) for k, v in fields.items()]
        elif line.startswith(f"{prefix}: "):
            key, *vals = line[len(prefix) + 2:].split()
            items = [(key, vals)]
        else:
            continue
        for key, vals in items:
            n = seen.get(key, 0)
            seen[key] = n + 1
            out[(key, n)] = vals
    return out


def compare_traces(ref: dict, ours: dict, rtol: float = 1e-9) -> list[str]:
    """Problems found: keys missing from ours, or values beyond ``rtol`` (integers exactly)."""
    problems = []
    for (key, n), rv in ref.items():
        if (key, n) not in ours:
            problems.append(f"{key}#{n} missing")
            continue
        ov = ours[(key, n)]
        if key in INTEGER_KEYS:
            if [int(float(x)) for x in rv] != [int(float(x)) for x in ov]:
                problems.append(f"{key}#{n}: {rv} != {ov}")
            continue
        a = np.array([float(x) for x in rv])
        b = np.array([float(x) for x in ov])
        if a.shape != b.shape:
            problems.append(f"{key}#{n}: {rv} vs {ov}")
            continue
        scale = np.maximum(np.abs(a), np.abs(b))
        rel = np.where(scale > 0, np.abs(a - b) / np.where(scale > 0, scale, 1), 0.0)
        # components that are rounding noise around zero (e.g. 6e-15 beside 100) compare absolutely
        noise = np.abs(a - b) <= 1e-12 * max(np.abs(a).max(), 1e-300)
        if np.any((rel > rtol) & ~noise):
            problems.append(f"{key}#{n}: {rv} vs {ov} (rel {rel.max():.2e})")
    return problems


def split_lines(text: str) -> list[str]:
    """Lines of a trace text."""
    return [re.sub(r"\s+$", "", line) for line in text.splitlines()]
