"""Per-pixel trace of the scaling chain, in the reference's key/value layout.

The numbers come from the renderer itself: :func:`xbragg.render.render` with
``trace_pixel=(slow, fast)`` renders that pixel as a one-pixel tile and records
the kernel's arrays; this module only picks values out of them and formats
them.  Keys and value layout follow the reference's ``TRACE_C`` lines (from
``pix0_vector_meters`` to ``floatimage_accumulated``, one ``TRACE_C_PHI`` line
per phi step), prefixed ``TRACE_PY``, so that ``xbragg trace-diff`` can line
the two up.  Extra ``TRACE_PY_SRC``, ``TRACE_PY_TERM`` and ``TRACE_PY_INTERP``
lines show every source and mosaic contribution and the tricubic neighbourhood.
"""
from __future__ import annotations

import math

import numpy as np

from .backends import to_numpy
from .constants import R_E_SQR_M2, RTD
from .io.cformat import format_g
from .setup.experiment import Experiment

PREFIX = "TRACE_PY"


def _num(x) -> str:
    return format_g(float(x), 15)


def _vec(v) -> str:
    return " ".join(_num(x) for x in np.asarray(v).ravel())


def trace_lines(exp: Experiment, record: dict, slow: int, fast: int, *, panel: int = 0) -> list[str]:
    """``TRACE_PY`` lines for the pixel recorded by ``render(..., trace_pixel=(slow, fast), panel=panel)``."""
    r = {k: (to_numpy(v) if v is not None and not isinstance(v, (tuple, list, dict)) else v)
         for k, v in record.items()}
    parts = record.get("F_latt_parts")
    parts = None if parts is None else [to_numpy(p) for p in parts]
    where = f"panel={panel}, " if len(exp.detector) > 1 else ""
    panel, cr = exp.detector[panel], exp.crystal
    lines: list[str] = [f"TRACE_PY_CONFIG: tracing pixel ({where}spixel={slow}, fpixel={fast})"]

    def out(key: str, value: str) -> None:
        lines.append(f"{PREFIX}: {key} {value}")

    pos, airpath, omega = r["pos"][0], r["airpath"][0], r["omega"][0]
    diffracted, scattering, hkl = r["diffracted"][0], r["scattering"][0], r["hkl"][0]
    F_latt, F_cell, keep = r["F_latt"][0], r["F_cell"][0], r["keep"][0]
    nearest, terms = r["nearest"][0], r["term"][0]
    T, S, N = scattering.shape[:3]
    domains = exp.crystal.mosaic_umats.shape[0]
    incident = -exp.beam.sources.direction
    lambdas = exp.beam.sources.wavelength_m
    first_pass = r.get("first_pass")
    if first_pass is None:           # no phi carry-over: every evaluation takes its own cell
        cell0 = first_pass_cell0 = exp.rotated_cells[0, 0]
    else:
        cell0, first_pass_cell0 = exp.carried_cells[0, 0], exp.first_pass_cells[0, 0]
    angles = exp.scan.angles_rad
    for t in range(T):
        for s in range(S):
            out("pix0_vector_meters", _vec(panel.origin_m))
            out("fdet_vec", _vec(panel.fast_axis))
            out("sdet_vec", _vec(panel.slow_axis))
            out("pixel_pos_meters", _vec(pos[t, s]))
            out("R_distance_meters", _num(airpath[t, s]))
            out("omega_pixel_sr", _num(omega[t, s] if exp.oversample_omega else omega[0, 0]))
            out("close_distance_meters", _num(panel.close_distance_m))
            out("obliquity_factor", _num(panel.close_distance_m / airpath[t, s]))
            out("diffracted_vec", _vec(diffracted[t, s]))
            out("incident_vec", _vec(incident[0]))
            out("lambda_meters", _num(lambdas[0]))
            out("lambda_angstroms", _num(lambdas[0] * 1e10))
            out("scattering_vec_A_inv", _vec(scattering[t, s, 0]))
            cell = first_pass_cell0 if first_pass is not None and first_pass[t, s, 0] else cell0
            for name, v in zip("abc", cell):
                out(f"rot_{name}_angstroms", _vec(v * 1e10))
            for name, v in zip("abc", cr.reciprocal_axes_per_A):
                out(f"rot_{name}_star_A_inv", _vec(v))
            h = hkl[t, s, 0, 0]
            out("hkl_frac", _vec(h))
            out("hkl_rounded", " ".join(str(int(x)) for x in nearest[t, s, 0, 0]))
            if parts is not None:
                for name, p in zip("abc", parts):
                    out(f"F_latt_{name}", _num(p[0, t, s, 0, 0]))
            out("F_latt", _num(F_latt[t, s, 0, 0]))
            for tic in range(exp.scan.phisteps):
                rr = tic * domains
                fb = parts[1][0, t, s, 0, rr] if parts is not None else float("nan")
                lines.append(f"{PREFIX}_PHI phi_tic={tic} phi_deg={_num(angles[tic] * RTD)} "
                             f"k_frac={_num(hkl[t, s, 0, rr, 1])} F_latt_b={_num(fb)} "
                             f"F_latt={_num(F_latt[t, s, 0, rr])}")
                if tic == 0:
                    out("F_cell", _num(F_cell[t, s, 0, 0]))
                    if "F_tri" in r:
                        lines.extend(_interp_lines(exp, r, t, s))
            for n in range(N):
                lines.append(f"{PREFIX}_SRC layer={t} subpixel={s} source={n} "
                             f"incident={_vec(incident[n])} lambda_m={_num(lambdas[n])} "
                             f"polar={_num(r['polar'][0][t, s, n])} kept={int(keep[t, s, n])}")
                for rot in range(hkl.shape[3]):
                    lines.append(f"{PREFIX}_TERM layer={t} subpixel={s} source={n} phi_tic={rot // domains} "
                                 f"mosaic={rot % domains} hkl={_vec(hkl[t, s, n, rot])} "
                                 f"F_latt={_num(F_latt[t, s, n, rot])} F_cell={_num(F_cell[t, s, n, rot])} "
                                 f"I_term={_num(terms[t, s, n, rot])} reached={int(r['reached'][0][t, s, n, rot])}")
    capture = r["capture"][0]
    polar = r["polar"][0]
    value = float(r["value"][0])
    out("I_before_scaling", _num(r["I"][0]))
    out("r_e_meters", _num(math.sqrt(R_E_SQR_M2)))
    out("r_e_sqr", _num(R_E_SQR_M2))
    out("fluence_photons_per_m2", _num(exp.beam.fluence))
    out("steps", str(exp.steps))
    out("oversample_thick", str(int(exp.oversample_thick)))
    out("oversample_polar", str(int(exp.oversample_polar)))
    out("oversample_omega", str(int(exp.oversample_omega)))
    # the kernel's capture is 1 without a sensor thickness, and its polar_used 1 with -nopolar
    cf = capture[T - 1, S - 1] if exp.oversample_thick else capture[T - 1, 0]
    out("capture_fraction", _num(cf))
    pol = polar[T - 1, S - 1, N - 1] if exp.oversample_polar else float(r["polar_used"][0])
    out("polar", _num(pol))
    out("omega_pixel", _num(omega[T - 1, S - 1] if exp.oversample_omega else omega[0, 0]))
    out("cos_2theta", _num(float(np.dot(incident[N - 1], diffracted[T - 1, S - 1]))))
    out("I_pixel_final", _num(value))
    out("floatimage_accumulated", _num(np.float32(value)))
    return lines


def _interp_lines(exp: Experiment, r: dict, t: int, s: int) -> list[str]:
    """The 4x4x4 neighbourhood of source 0, phi 0, domain 0: nodes, amplitudes, weights, result."""
    nodes = r["tri_nodes"][0][t, s, 0, 0]         # (3, 4) h, k, l node indices
    weights = r["tri_weights"][0][t, s, 0, 0]     # (3, 4)
    table = exp.crystal.structure_factors
    amps = []
    for hi in nodes[0]:
        for ki in nodes[1]:
            for li in nodes[2]:
                amps.append(table.amplitude(int(hi), int(ki), int(li)))
    used = bool(r["use_tri"][0][t, s, 0, 0])
    return [
        f"{PREFIX}_INTERP h_nodes={_vec(nodes[0])} k_nodes={_vec(nodes[1])} l_nodes={_vec(nodes[2])}",
        f"{PREFIX}_INTERP weights_h={_vec(weights[0])} weights_k={_vec(weights[1])} weights_l={_vec(weights[2])}",
        f"{PREFIX}_INTERP amplitudes(h,k,l C order)={_vec(amps)}",
        f"{PREFIX}_INTERP F_interpolated={_num(r['F_tri'][0][t, s, 0, 0])} used={int(used)}",
    ]
