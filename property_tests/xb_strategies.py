"""Hypothesis strategies that draw small but varied xbragg experiments.

An :class:`ExperimentSpec` is a list of nanoBragg flags plus the parts that would
otherwise need files (a structure-factor table, a source list); ``spec.build()``
turns it into an :class:`~xbragg.setup.experiment.Experiment`, and tests that need
a variant append flags (later flags win, as on the command line) or scale F.

Detectors stay tiny (at most 12 x 12 pixels) and the total kernel work of one
render is capped (:data:`MAX_EVALUATIONS`), so one example renders in milliseconds.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import xbragg
from xbragg.io.hkl import HKLTable
from xbragg.setup.sampling import build_sources

#: pixels x evaluations per pixel of one render (interpolated evaluations count 8 times)
MAX_EVALUATIONS = 60_000

CONVENTIONS = ("MOSFLM", "XDS", "ADXV", "DENZO", "DIALS", "CUSTOM")
SHAPES = ("square", "round", "gauss", "tophat")

# beam, fdet, sdet, odet, polar, spindle, twotheta axis of the MOSFLM convention
MOSFLM_FRAME = {"beam_vector": (1.0, 0.0, 0.0), "fdet_vector": (0.0, 0.0, 1.0), "sdet_vector": (0.0, -1.0, 0.0),
                "odet_vector": (1.0, 0.0, 0.0), "polar_vector": (0.0, 0.0, 1.0),
                "spindle_axis": (0.0, 0.0, 1.0), "twotheta_axis": (0.0, 0.0, -1.0)}


def fmt(x: float) -> str:
    """A float as a flag value that reads back exactly."""
    return repr(float(x))


def vec_flags(name: str, v) -> list[str]:
    return [f"-{name}", *(fmt(c) for c in v)]


@dataclass
class ExperimentSpec:
    """Flags plus file-free extras; :meth:`build` gives the Experiment."""

    flags: list[str]
    table: HKLTable | None = None           # structure factors (instead of -hkl FILE)
    interpolate: bool | None = None         # with a table: tricubic on/off
    source_rows: np.ndarray | None = None   # (n, 5) offset from -10 m x beam (3), I, lambda (-sourcefile)
    notes: dict = field(default_factory=dict)

    def options(self, extra: list[str] = ()):
        return xbragg.options_from_flags(list(self.flags) + list(extra))

    def build(self, extra: list[str] = ()):
        """The experiment of these flags (+ ``extra``), with the table and source rows attached."""
        opts = self.options(extra)
        exp = xbragg.build_experiment(opts)
        changes = {}
        if self.table is not None:
            changes["crystal"] = dataclasses.replace(exp.crystal, structure_factors=self.table)
            interp = self.interpolate if self.interpolate is not None else exp.interpolate
            changes["interpolate"] = bool(interp)
        if self.source_rows is not None:
            beam = exp.beam
            rows = np.array(self.source_rows)
            rows[:, :3] += -10.0 * beam.direction
            changes["beam"] = dataclasses.replace(beam, sources=build_sources(
                opts, beam.wavelength_m, beam.direction, beam.polarization_axis, rows))
        return dataclasses.replace(exp, **changes) if changes else exp

    def scaled_F(self, k: float) -> "ExperimentSpec":
        """The same experiment with every structure factor (table and default) times ``k``."""
        table = None
        if self.table is not None:
            t = self.table
            table = dataclasses.replace(t, F=t.F * k)
        default = float(self.notes.get("default_F", 0.0)) * k
        return dataclasses.replace(self, flags=[*self.flags, "-default_F", fmt(default)], table=table)


def work(exp) -> int:
    """Kernel evaluations of one full render (interpolated ones weighted by 8)."""
    panel = exp.panel
    return panel.fast_pixels * panel.slow_pixels * exp.evaluations_per_pixel * (8 if exp.interpolate else 1)


# ---------------------------------------------------------------------------------------------
# pieces

@st.composite
def cells(draw):
    """a b c alpha beta gamma from cubic to triclinic (lengths in A, angles in degrees)."""
    family = draw(st.sampled_from(["cubic", "tetragonal", "orthorhombic", "hexagonal", "monoclinic",
                                   "triclinic"]))
    length = st.floats(20.0, 120.0)
    a = draw(length)
    b, c = draw(length), draw(length)
    al = be = ga = 90.0
    if family == "cubic":
        b = c = a
    elif family == "tetragonal":
        b = a
    elif family == "hexagonal":
        b, ga = a, 120.0
    elif family == "monoclinic":
        be = draw(st.floats(92.0, 120.0))
    elif family == "triclinic":
        # every draw is a valid (positive-volume) cell: each angle (at most 115) is below the
        # sum of the other two (at least 130), and the total (at most 345) below 360
        al, be, ga = draw(st.floats(65.0, 115.0)), draw(st.floats(65.0, 115.0)), draw(st.floats(65.0, 115.0))
    return family, (a, b, c, al, be, ga)


def _direction(z: float, azimuth: float) -> np.ndarray:
    """Unit vector of height ``z`` (-1..1) and ``azimuth`` (rad) about the z axis."""
    r = math.sqrt(1.0 - z * z)
    return np.array([r * math.cos(azimuth), r * math.sin(azimuth), z])


def unit_vectors(max_abs_z: float = 1.0):
    """Directions, |z| at most ``max_abs_z``: every draw is a unit vector (no filter)."""
    return st.builds(_direction, st.floats(-max_abs_z, max_abs_z), st.floats(0.0, 2 * math.pi))


def unit_quaternions():
    """Every rotation, as the unit quaternion of an angle (0..pi) about an axis (no filter)."""
    return st.builds(lambda angle, axis: (math.cos(angle / 2), *(math.sin(angle / 2) * axis)),
                     st.floats(0.0, math.pi), unit_vectors())


def rotation_matrix(q) -> np.ndarray:
    """Proper rotation matrix of the (not necessarily unit) quaternion ``q``."""
    w, x, y, z = np.asarray(q, dtype=np.float64) / math.sqrt(sum(c * c for c in q))
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


rotations = unit_quaternions().map(rotation_matrix)


@st.composite
def hkl_tables(draw):
    """A small dense table of |F| around the origin."""
    lo = [draw(st.integers(-6, 0)) for _ in range(3)]
    shape = [draw(st.integers(4, 9)) for _ in range(3)]
    seed = draw(st.integers(0, 2**32 - 1))
    F = np.random.default_rng(seed).uniform(0.0, 1000.0, size=shape)
    return HKLTable(lo[0], lo[0] + shape[0] - 1, lo[1], lo[1] + shape[1] - 1, lo[2], lo[2] + shape[2] - 1,
                    F, F.size)


# ---------------------------------------------------------------------------------------------
# whole experiments

@st.composite
def experiment_specs(draw, *, rotation_covariant: bool = False, allow_quirks: bool = True,
                     max_pixels: int = 12, shapes: tuple[str, ...] = SHAPES, phi_carryover: bool = True):
    """A small, varied experiment.

    ``rotation_covariant``: only what turns with the lab frame (CUSTOM vectors, -mat
    orientation, two-theta about its own axis; no misset, mosaic, curved detector or
    lab-axis detector rotations); the caller supplies the frame (``notes['frame']``).
    ``allow_quirks``: the reference's per-sub-pixel accumulation switches
    (-oversample_thick/_polar/_omega), water background and -dmin may be drawn.
    ``phi_carryover``: --phi-carryover may be drawn.
    """
    flags: list[str] = []
    notes: dict = {}
    lam = draw(st.floats(0.6, 2.5))
    flags += ["-lambda", fmt(lam)]
    family, cell = draw(cells())
    notes["cell_family"] = family
    if not rotation_covariant:
        flags += ["-cell", *(fmt(x) for x in cell)]
        if draw(st.booleans()):
            flags += ["-misset", *(fmt(draw(st.floats(-180.0, 180.0))) for _ in range(3))]
    notes["cell"] = cell
    for axis in ("-Na", "-Nb", "-Nc"):
        flags += [axis, str(draw(st.integers(1, 6)))]
    shape = draw(st.sampled_from(shapes))
    flags.append(f"-{shape}_xtal" if shape != "tophat" else "-tophat_spots")
    if shape != "square" and draw(st.booleans()):
        flags += ["-fudge", fmt(draw(st.floats(0.3, 3.0)))]

    # detector
    fpix, spix = draw(st.integers(2, max_pixels)), draw(st.integers(2, max_pixels))
    pixel = draw(st.floats(0.05, 0.3))
    distance = draw(st.floats(40.0, 300.0))
    flags += ["-detpixels_f", str(fpix), "-detpixels_s", str(spix), "-pixel", fmt(pixel),
              "-distance", fmt(distance)]
    if rotation_covariant:
        convention = "CUSTOM"
    else:
        convention = draw(st.sampled_from(CONVENTIONS))
    notes["convention"] = convention
    if convention == "CUSTOM":
        if not rotation_covariant:
            q = rotation_matrix(draw(unit_quaternions()))
            # a small tilt of the whole MOSFLM frame, so that the beam still hits the detector
            tilt = np.eye(3) + 0.15 * (q - np.eye(3))
            u, _, vt = np.linalg.svd(tilt)
            frame = {k: tuple(u @ vt @ np.array(v)) for k, v in MOSFLM_FRAME.items()}
            for name, v in frame.items():
                flags += vec_flags(name, v)
    elif convention != "MOSFLM" or draw(st.booleans()):
        flags.append(f"-{convention.lower()}")
    if draw(st.booleans()):
        half_f, half_s = fpix * pixel / 2, spix * pixel / 2
        flags += ["-Xbeam", fmt(draw(st.floats(-half_f, 3 * half_f))),
                  "-Ybeam", fmt(draw(st.floats(-half_s, 3 * half_s)))]
    if not rotation_covariant and draw(st.booleans()):
        for r in ("-detector_rotx", "-detector_roty", "-detector_rotz"):
            flags += [r, fmt(draw(st.floats(-8.0, 8.0)))]
    if draw(st.booleans()):
        flags += ["-twotheta", fmt(draw(st.floats(-25.0, 25.0)))]
    if draw(st.integers(0, 3)) == 0:
        flags += ["-pivot", draw(st.sampled_from(["beam", "sample"]))]
    if not rotation_covariant and draw(st.integers(0, 5)) == 0:
        flags.append("-curved_det")
    if draw(st.integers(0, 5)) == 0:
        flags.append("-point_pixel")
    if draw(st.integers(0, 3)) == 0:
        flags += ["-detector_thick", fmt(draw(st.floats(20.0, 400.0))),
                  "-detector_thicksteps", str(draw(st.integers(1, 3))),
                  "-detector_abs", fmt(draw(st.floats(50.0, 1000.0)))]
    flags += ["-oversample", str(draw(st.integers(1, 3)))]
    if allow_quirks:
        for q in ("-oversample_thick", "-oversample_polar", "-oversample_omega"):
            if draw(st.integers(0, 5)) == 0:
                flags.append(q)
        if draw(st.integers(0, 6)) == 0:
            flags += ["-water", fmt(draw(st.floats(1.0, 100.0)))]
        if draw(st.integers(0, 5)) == 0:
            flags += ["-dmin", fmt(draw(st.floats(1.0, 10.0)))]

    # beam: polarization, sources
    if draw(st.integers(0, 4)) == 0:
        flags.append("-nopolar")
    else:
        flags += ["-polar", fmt(draw(st.floats(0.0, 1.0)))]
    source_rows = None
    sources = draw(st.sampled_from(["one", "divergence", "dispersion", "both", "file"]))
    if sources in ("divergence", "both"):
        flags += ["-hdivrange", fmt(draw(st.floats(0.05, 2.0))), "-vdivrange", fmt(draw(st.floats(0.05, 2.0))),
                  "-divsteps", str(draw(st.integers(2, 3)))]
        if draw(st.booleans()):
            flags.append("-square_div")
    if sources in ("dispersion", "both"):
        flags += ["-dispersion", fmt(draw(st.floats(0.05, 3.0))), "-dispsteps", str(draw(st.integers(2, 3)))]
    if sources == "file" and not rotation_covariant:
        n = draw(st.integers(1, 3))
        rows = []
        for _ in range(n):
            d = [draw(st.floats(-0.02, 0.02)) for _ in range(3)]
            rows.append([*d, draw(st.floats(0.1, 2.0)), lam * 1e-10 * draw(st.floats(0.98, 1.02))])
        source_rows = np.array(rows)
    notes["sources"] = sources

    # spindle and mosaic
    phi = draw(st.sampled_from(["none", "osc", "steps"]))
    if phi != "none":
        flags += ["-phi", fmt(draw(st.floats(-180.0, 180.0))), "-osc", fmt(draw(st.floats(0.0, 5.0))),
                  "-phisteps", str(draw(st.integers(1, 3)))]
    if not rotation_covariant and draw(st.integers(0, 2)) == 0:
        flags += ["-mosaic", fmt(draw(st.floats(0.05, 2.0))), "-mosaic_domains", str(draw(st.integers(1, 4))),
                  "-mosaic_seed", str(draw(st.integers(1, 10**6)))]
    if phi_carryover and draw(st.integers(0, 5)) == 0:
        flags.append("--phi-carryover")

    # structure factors
    default_F = draw(st.floats(0.5, 300.0))
    notes["default_F"] = default_F
    flags += ["-default_F", fmt(default_F)]
    table = draw(hkl_tables()) if draw(st.booleans()) else None
    interpolate = draw(st.booleans()) if table is not None else None
    spec = ExperimentSpec(flags=flags, table=table, interpolate=interpolate, source_rows=source_rows,
                          notes=notes)
    # rotation-covariant specs get their crystal from the caller's -mat: estimate with the cell
    probe = ["-cell", *(fmt(x) for x in cell)] if rotation_covariant else []
    assume(work(spec.build(probe)) <= MAX_EVALUATIONS)
    return spec


@st.composite
def covariant_frames(draw):
    """Lab-frame vectors of a CUSTOM detector, beam and spindle: a random frame near MOSFLM's,
    with independent polarization, spindle and two-theta axes."""
    q = rotation_matrix(draw(unit_quaternions()))
    tilt = np.eye(3) + 0.2 * (q - np.eye(3))
    u, _, vt = np.linalg.svd(tilt)
    det = u @ vt
    frame = {k: det @ np.array(MOSFLM_FRAME[k]) for k in ("beam_vector", "fdet_vector", "sdet_vector")}
    frame["odet_vector"] = np.cross(frame["fdet_vector"], frame["sdet_vector"])
    frame["spindle_axis"], frame["twotheta_axis"] = draw(unit_vectors()), draw(unit_vectors())
    # the divergence grid turns about beam x polar: a polarization (nearly) along the beam
    # leaves that axis to rounding noise, which no rotation preserves; so |beam x polar| is
    # at least 0.3 (|z| <= 0.95 along the beam, which is det's x axis)
    x, y, z = draw(unit_vectors(max_abs_z=0.95))
    frame["polar_vector"] = det @ np.array([z, x, y])
    return frame
