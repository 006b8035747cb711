"""Step counts, ranges and step sizes: the reference's auto-selection rules.

Each sampled quantity (phi, horizontal and vertical divergence, dispersion,
detector thickness) is described by a range, a step and a count, any of which
may be missing; the reference fills the rest in a fixed way, reproduced here.
"""
from __future__ import annotations

import math

import numpy as npx
import numpy as np

from ..constants import RTD
from ..errors import InputError
from ..kernel.vectors import cross3, rotate_axis
from ..models import Scan, Sensor, Sources
from .geometry import unitize
from .options import SimulationOptions


def _neg(x):
    return -1.0 if x is None else float(x)


def _negi(x):
    return -1 if x is None else int(x)


def phi_schedule(opts: SimulationOptions) -> Scan:
    """The scan of -phi/-osc/-phistep/-phisteps (reference: "default sampling logic")."""
    phi0_rad = (opts.phi_deg or 0.0) / RTD
    osc = _neg(None if opts.osc_deg is None else opts.osc_deg / RTD)
    phistep = _neg(None if opts.phistep_deg is None else opts.phistep_deg / RTD)
    steps = _negi(opts.phisteps)
    if steps < 0:
        if osc < 0.0:
            if phistep <= 0.0:
                steps, osc, phistep = 1, 0.0, 0.0
            else:
                osc, steps = phistep, 2
        else:
            if phistep <= 0.0:
                steps, phistep = 2, osc / 2.0
            else:
                steps = math.ceil(osc / phistep)
    else:
        if steps == 0:
            steps = 1
        if osc < 0.0:
            if phistep <= 0.0:
                osc = 1.0 / RTD             # one degree
                phistep = osc / steps
            else:
                osc, steps = phistep, 2
        else:
            if phistep < 0.0:
                phistep = osc / steps
    if steps <= 0:
        raise InputError(f"phi schedule gives {steps} steps", flag="-phisteps")
    return Scan(phi0_rad=phi0_rad, osc_rad=osc, phistep_rad=phistep, phisteps=steps)


def range_step_count(rng: float | None, step: float | None, count: int | None,
                     *, steps_only_range: float = 1.0) -> tuple[float, float, int]:
    """The divergence/dispersion rule: returns (range, step, count) after the sanity check."""
    rng, step, count = _neg(rng), _neg(step), _negi(count)
    if count <= 0:
        if rng < 0.0:
            if step <= 0.0:
                count, rng, step = 1, 0.0, 0.0
            else:
                rng, count = step, 2
        else:
            if step <= 0.0:
                step, count = rng, 2
            else:
                count = math.ceil(rng / step)
    else:
        if rng < 0.0:
            if step <= 0.0:
                rng = steps_only_range
                step = rng / count
            else:
                rng, count = step, 2
        else:
            if step <= 0.0:
                if count <= 1:
                    count = 2
                step = rng / (count - 1)
    if rng <= 0.0 or step <= 0.0 or count <= 0:
        count, rng, step = 1, 0.0, 0.0
    return rng, step, count


def thickness_sampling(opts: SimulationOptions) -> Sensor:
    """The sensor of -detector_thick/-detector_thicksteps/-detector_abs (reference rules)."""
    thick = opts.detector_thick_m if opts.detector_thick_m is not None else 0.0
    mu = -1.0
    if opts.detector_abs_m is not None:
        # an attenuation depth of 0 or inf is no attenuation (reference): with a sensor
        # thickness every layer then captures exp(0) - exp(0) = 0
        no_attenuation = opts.detector_abs_m == 0.0 or math.isinf(opts.detector_abs_m)
        mu = 0.0 if no_attenuation else 1.0 / opts.detector_abs_m
    step = -1.0
    steps = _negi(opts.detector_thicksteps)
    if steps <= 0:
        if thick < 0.0:
            steps, thick, step = 1, 0.0, 0.0
        else:
            steps = 2
            step = thick / steps
    else:
        if thick < 0.0:
            thick = 0.5e-6
            step = thick / steps
        else:
            if steps <= 1:
                steps = 2
            step = thick / (steps - 1)
    if thick > 0.0 and mu < 0.0:
        mu = 1.0 / thick
    if thick <= 0.0 or step <= 0.0 or steps <= 0:
        steps, thick, step = 1, 0.0, 0.0
    return Sensor(thick_m=thick, step_m=step, steps=steps, mu_per_m=mu)


SOURCE_DISTANCE_M = 10.0


def build_sources(opts: SimulationOptions, wavelength_m: float, beam: np.ndarray,
                  polar_vector: np.ndarray, file_rows: np.ndarray | None) -> Sources:
    """Sources from -sourcefile, or the divergence x dispersion grid (reference order)."""
    hrange, hstep, hsteps = range_step_count(opts.hdivrange_rad, opts.hdivstep_rad, opts.hdivsteps)
    vrange, vstep, vsteps = range_step_count(opts.vdivrange_rad, opts.vdivstep_rad, opts.vdivsteps)
    disp, dstep, dsteps = range_step_count(opts.dispersion, None, opts.dispsteps)
    positions, lambdas, weights = [], [], []
    divsteps = -1
    if file_rows is not None and len(file_rows):
        for row in file_rows:
            x, y, z, w, lam = (float(v) for v in row)
            positions.append([
                -SOURCE_DISTANCE_M * beam[0] if math.isnan(x) else x,
                -SOURCE_DISTANCE_M * beam[1] if math.isnan(y) else y,
                -SOURCE_DISTANCE_M * beam[2] if math.isnan(z) else z,
            ])
            weights.append(1.0 if math.isnan(w) else w)
            lambdas.append(wavelength_m if math.isnan(lam) else lam)
    else:
        vert, _ = unitize(cross3(beam, polar_vector))
        offsets = []
        for hi in range(hsteps):
            for vi in range(vsteps):
                hdiv = hstep * hi - hrange / 2.0
                vdiv = vstep * vi - vrange / 2.0
                if opts.round_div:
                    # elliptical cut of the divergence grid (reference "force an elliptical divergence")
                    test = _div_term(hdiv, hstep, hsteps, hrange) + _div_term(vdiv, vstep, vsteps, vrange)
                    if test * 4.0 > 1.1:
                        continue
                offsets.append((hdiv, vdiv))
        divsteps = len(offsets)
        nsrc = divsteps * dsteps
        weight = 1.0 / nsrc if nsrc else 0.0
        for hdiv, vdiv in offsets:
            v = np.array([-SOURCE_DISTANCE_M * beam[i] for i in range(3)])
            v = rotate_axis(npx, rotate_axis(npx, v, polar_vector, vdiv), vert, hdiv)
            for di in range(dsteps):
                positions.append(list(v))
                lambdas.append(wavelength_m * (1.0 + dstep * di - disp / 2.0))
                weights.append(weight)
    if not positions:
        raise InputError("no sources: the divergence settings leave no source point", flag="-divergence")
    if file_rows is None and min(lambdas) <= 0.0:
        raise InputError(f"{disp * 100:g}% makes a source wavelength of {min(lambdas) * 1e10:g} A; "
                         "the dispersion must stay below 200%", flag="-dispersion")
    raw = np.array(positions, dtype=np.float64)
    directions = np.array([unitize(p)[0] for p in raw])
    return Sources(direction=directions, wavelength_m=np.array(lambdas), weight=np.array(weights),
                   raw_position=raw, divsteps=divsteps, hdivrange_rad=hrange, hdivstep_rad=hstep,
                   hdivsteps=hsteps, vdivrange_rad=vrange, vdivstep_rad=vstep, vdivsteps=vsteps,
                   dispersion=disp, dispstep=dstep, dispsteps=dsteps)


def _div_term(div: float, step: float, steps: int, rng: float) -> float:
    """One axis of the reference's round-divergence test; 0/0 is NaN, as in C."""
    num = div * div - step * step / 4.0 * (1 - steps % 2)
    if rng == 0.0:
        if num == 0.0:
            return float("nan")
        return math.copysign(float("inf"), num)
    return num / rng / rng
