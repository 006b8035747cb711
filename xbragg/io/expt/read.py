"""Reading an experiment list: the JSON checked key by key into :class:`ExptEntry` values."""
from __future__ import annotations

import math
import os
from dataclasses import replace

import numpy as np

from xbragg.constants import DEFAULT_FLUENCE, RTD
from xbragg.errors import InputError
from xbragg.io._json_path import JsonValue, load_json
from xbragg.io.expt.entry import ANGSTROM, DEFAULT_HALL_SYMBOL, MM, PERPENDICULAR_EPS, ExptCrystal, ExptEntry
from xbragg.kernel.vectors import axis_angle_umat, unit3
from xbragg.models import Beam, Detector, Goniometer, Panel, Scan, Sensor, Sources

#: xbragg places the (single) source this far from the sample when the file gives no distance
DEFAULT_SOURCE_DISTANCE_M = 10.0
# dxtbx's own tolerance of a constant oscillation width (scan.h)
_OSCILLATION_EPS_DEG = 1e-7
_ROTATION_EPS = 1e-6


def _is_rotation(m: np.ndarray) -> bool:
    return bool(np.max(np.abs(m.T @ m - np.eye(3))) < _ROTATION_EPS and np.linalg.det(m) > 0.0)


def _unit(v: np.ndarray) -> np.ndarray:
    return unit3(v, xp=np)[0]


def _axis_angle_matrix(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """Right-handed rotation by ``angle_rad`` about ``axis`` (scitbx ``axis_and_angle_as_matrix``):
    the package's Rodrigues matrix."""
    return axis_angle_umat(np, _unit(axis), angle_rad)


def read_experiment(path: str | os.PathLike[str], index: int = 0, *,
                    fluence: float = DEFAULT_FLUENCE) -> ExptEntry:
    """Experiment ``index`` of the experiment list ``path`` (see :func:`read_experiment_list`)."""
    entries = read_experiment_list(path, fluence=fluence)
    if not 0 <= index < len(entries):
        raise InputError(f"no experiment {index}: the list has {len(entries)} (0 to {len(entries) - 1})",
                         path=os.fspath(path))
    return entries[index]


def read_experiment_list(path: str | os.PathLike[str], *, fluence: float = DEFAULT_FLUENCE) -> list[ExptEntry]:
    """Every experiment of the DIALS experiment list ``path`` (JSON), in file order.

    ``fluence``: photons per m^2 given to every beam.  Raises :class:`InputError`
    naming the file and the JSON key for a file that is not an experiment list, a
    missing key, a value of the wrong type or shape, a zero-length axis, an index
    that refers to no model, or a model xbragg cannot simulate.
    """
    doc = load_json(path)
    if not isinstance(doc.value, dict):
        raise doc.error("an experiment list (an object with \"__id__\": \"ExperimentList\")")
    kind = doc.get("__id__", None)
    if kind.value != "ExperimentList":
        raise kind.error("\"ExperimentList\"")
    experiments = doc.get("experiment").items()
    if not experiments:
        raise InputError("$.experiment: the list has no experiments", path=doc.file)
    reader = _Reader(doc, fluence)
    return [reader.experiment(e) for e in experiments]


class _Reader:
    """Parses the models an experiment list's experiments refer to, each model once."""

    _PARSERS = ("beam", "detector", "goniometer", "scan", "crystal")

    def __init__(self, doc: JsonValue, fluence: float) -> None:
        self.doc = doc
        self.fluence = fluence
        self.cache: dict[tuple[str, int], tuple[object, list[str]]] = {}

    def model(self, experiment: JsonValue, name: str):
        """The model ``name`` an experiment refers to, with its warnings; (None, []) when it has none."""
        ref = experiment.get(name, None)
        if ref.value is None:
            return None, []
        if isinstance(ref.value, str):
            raise InputError(f"{ref.path}: a model in another file ({ref.value!r}) is not supported; "
                             "expected an index into $." + name, path=ref.file)
        index = ref.integer()
        models = self.doc.get(name, []).items()
        if not 0 <= index < len(models):
            raise InputError(f"{ref.path}: index {index} refers to no {name} (the file has {len(models)})",
                             path=ref.file)
        key = (name, index)
        if key not in self.cache:
            notes: list[str] = []
            self.cache[key] = (getattr(self, "_" + name)(models[index], notes), notes)
        return self.cache[key]

    def experiment(self, e: JsonValue) -> ExptEntry:
        kind = e.get("__id__", "Experiment")
        if kind.value != "Experiment":
            raise kind.error("\"Experiment\"")
        parsed = {name: self.model(e, name) for name in self._PARSERS}
        warnings = [w for _, notes in parsed.values() for w in notes]
        for name in ("beam", "detector"):
            if parsed[name][0] is None:
                raise InputError(f"{e.path}: missing key {name!r} (xbragg needs a {name})", path=e.file)
        beam = parsed["beam"][0]
        scan_info = parsed["scan"][0]
        scan, image_range, exposure_s = (None, None, 0.0) if scan_info is None else scan_info
        beam = replace(beam, exposure_s=exposure_s)
        gonio = parsed["goniometer"][0]
        datum, fixed, setting = (None, np.eye(3), np.eye(3)) if gonio is None else gonio
        goniometer = None if datum is None else Goniometer(rotation_axis=setting @ datum)
        template = self._template(e)
        return ExptEntry(beam=beam, detector=parsed["detector"][0], goniometer=goniometer, scan=scan,
                         crystal=parsed["crystal"][0], image_range=image_range, fixed_rotation=fixed,
                         setting_rotation=setting, identifier=e.get("identifier", "").string(),
                         template=template, warnings=tuple(warnings))

    def _template(self, e: JsonValue) -> str | None:
        ref = e.get("imageset", None)
        if ref.value is None or isinstance(ref.value, str):
            return ref.value
        index = ref.integer()
        imagesets = self.doc.get("imageset", []).items()
        if not 0 <= index < len(imagesets):
            raise InputError(f"{ref.path}: index {index} refers to no imageset (the file has {len(imagesets)})",
                             path=ref.file)
        imageset = imagesets[index]
        if imageset.has("template"):
            return imageset.get("template").optional_string()
        images = imageset.get("images", []).items()
        return images[0].string() if images else None

    # beam -------------------------------------------------------------------------------

    def _beam(self, node: JsonValue, notes: list[str]) -> Beam:
        kind = node.get("__id__", "monochromatic")
        if kind.value == "polychromatic":
            raise InputError(f"{kind.path}: a polychromatic beam (wavelength_range) has no single wavelength; "
                             "xbragg simulates a monochromatic beam (give sources with -sourcefile)",
                             path=node.file)
        if kind.value != "monochromatic":
            raise kind.error("\"monochromatic\"")
        probe = node.get("probe", "x-ray")
        if probe.string() != "x-ray":
            raise probe.error("\"x-ray\" (xbragg simulates X-ray diffraction)")
        to_source = _unit(node.get("direction").vector(nonzero=True))
        direction = -to_source
        wl = node.get("wavelength")
        wavelength_A = wl.number()
        if not wavelength_A > 0.0:
            raise wl.error("a positive wavelength (Angstrom)")
        normal_node = node.get("polarization_normal", [0.0, 1.0, 0.0])
        normal = normal_node.vector()
        fraction_node = node.get("polarization_fraction", 0.999)
        fraction = fraction_node.number()
        if not 0.0 <= fraction <= 1.0:
            raise fraction_node.error("a polarization fraction from 0 to 1")
        axis = np.cross(normal, direction)
        if not float(axis @ axis) > 0.0:
            raise normal_node.error("a non-zero polarization normal not along the beam")
        if abs(math.sqrt(float(normal @ normal)) - 1.0) > 1e-6 or abs(float(_unit(normal) @ direction)) > 1e-6:
            notes.append(f"{normal_node.path}: not a unit vector perpendicular to the beam; xbragg uses the "
                         "unit normal perpendicular to the beam")
        for key in ("divergence", "sigma_divergence"):
            if node.get(key, 0.0).number() != 0.0:
                notes.append(f"{node.path}.{key}: beam divergence is not simulated from the .expt "
                             "(one source along the beam; use -divergence)")
        if node.get("transmission", 1.0).number() != 1.0:
            notes.append(f"{node.path}.transmission: not applied (the fluence given is used as it is)")
        if node.has("s0_at_scan_points"):
            notes.append(f"{node.path}.s0_at_scan_points: scan-varying beam ignored; the static beam is used")
        distance_mm = node.get("sample_to_source_distance", 0.0).number()
        distance_m = distance_mm * MM if distance_mm > 0.0 else DEFAULT_SOURCE_DISTANCE_M
        wavelength_m = wavelength_A * ANGSTROM
        sources = Sources(direction=to_source[None, :].copy(), wavelength_m=np.array([wavelength_m]),
                          weight=np.array([1.0]), raw_position=(to_source * distance_m)[None, :],
                          divsteps=1, hdivrange_rad=0.0, hdivstep_rad=0.0, hdivsteps=1,
                          vdivrange_rad=0.0, vdivstep_rad=0.0, vdivsteps=1,
                          dispersion=0.0, dispstep=0.0, dispsteps=1)
        return Beam(direction=direction, wavelength_m=wavelength_m, polarization_axis=_unit(axis),
                    kahn_factor=2.0 * fraction - 1.0, polarization_correction=True, sources=sources,
                    fluence=self.fluence, flux=node.get("flux", 0.0).number())

    # detector ---------------------------------------------------------------------------

    def _detector(self, node: JsonValue, notes: list[str]) -> Detector:
        if isinstance(node.value, list):       # DetectorFactory.from_dict accepts a bare panel list
            panels, hierarchy = node.items(), None
        else:
            panels = node.get("panels").items()
            hierarchy = node.get("hierarchy") if node.has("hierarchy") else None
        if not panels:
            raise InputError(f"{node.path}.panels: a detector has at least one panel", path=node.file)
        parents = [_IDENTITY_FRAME] * len(panels)
        if hierarchy is not None:
            parents = _hierarchy_parents(hierarchy, len(panels), node.path + ".panels")
        return Detector(tuple(_panel(p, parent, notes) for p, parent in zip(panels, parents)))

    # goniometer ---------------------------------------------------------------------------

    def _goniometer(self, node: JsonValue, notes: list[str]):
        """(datum rotation axis, F, S)."""
        if node.has("setting_rotation_at_scan_points"):
            notes.append(f"{node.path}.setting_rotation_at_scan_points: scan-varying goniometer ignored; "
                         "the static setting rotation is used")
        if all(node.has(k) for k in ("axes", "angles", "scan_axis")):
            return _multi_axis(node)
        datum = _unit(node.get("rotation_axis").vector(nonzero=True))
        rotations = []
        for key in ("fixed_rotation", "setting_rotation"):
            m_node = node.get(key, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
            m = m_node.matrix()
            if not _is_rotation(m):
                raise m_node.error("a rotation matrix (9 numbers, row-major, orthonormal, determinant +1)")
            rotations.append(m)
        return datum, rotations[0], rotations[1]

    # scan -------------------------------------------------------------------------------

    def _scan(self, node: JsonValue, notes: list[str]):
        """(Scan of the first image, image range, exposure time of the first image in s)."""
        range_node = node.get("image_range")
        first, last = (v.integer() for v in range_node.items(length=2))
        if last < first:
            raise range_node.error("an image range [first, last] with last >= first")
        n = last - first + 1
        if node.has("properties"):
            props = _consistent_properties(node.get("properties").mapping(), n)
        else:
            props = _legacy_scan_properties(node, n)
        if "time_of_flight" in props:
            raise InputError(f"{props['time_of_flight'].path}: a time-of-flight scan cannot be simulated",
                             path=node.file)
        for key, value in props.items():
            if key not in ("oscillation", "oscillation_width", "exposure_time", "epochs"):
                notes.append(f"{value.path}: scan property not used")
        start_deg = width_deg = 0.0
        if "oscillation" in props:
            osc_node = props["oscillation"]
            osc = osc_node.numbers(n)
            start_deg = float(osc[0])
            if n == 1:
                if "oscillation_width" not in props:
                    raise InputError(f"{node.path}.properties: missing key 'oscillation_width' "
                                     "(needed for a scan of one image)", path=node.file)
                width_deg = float(props["oscillation_width"].numbers(1)[0])
            else:
                width_deg = float(osc[-1] - osc[0]) / (n - 1)      # less rounding than osc[1] - osc[0]
                if np.any(np.abs(np.diff(osc) - width_deg) > _OSCILLATION_EPS_DEG):
                    raise osc_node.error("start angles of constant width")
        exposure_s = 0.0
        if "exposure_time" in props:
            times = props["exposure_time"].numbers(n)
            exposure_s = float(times[0])
            if np.any(times != exposure_s):
                notes.append(f"{props['exposure_time'].path}: exposure times differ; the first image's is used")
        phi0, osc_rad = start_deg / RTD, width_deg / RTD
        return Scan(phi0_rad=phi0, osc_rad=osc_rad, phistep_rad=osc_rad, phisteps=1), (first, last), exposure_s

    # crystal ------------------------------------------------------------------------------

    def _crystal(self, node: JsonValue, notes: list[str]) -> ExptCrystal:
        kind = node.get("__id__", "crystal")
        if kind.value != "crystal":
            raise kind.error("\"crystal\"")
        rows = np.stack([node.get(k).vector(nonzero=True) for k in ("real_space_a", "real_space_b", "real_space_c")])
        if abs(np.linalg.det(rows)) < 1e-9 * np.prod(np.linalg.norm(rows, axis=1)):
            raise InputError(f"{node.path}: real_space_a, _b, _c are coplanar (no cell)", path=node.file)
        hall = node.get("space_group_hall_symbol", DEFAULT_HALL_SYMBOL).string()
        if node.has("A_at_scan_points"):
            notes.append(f"{node.path}.A_at_scan_points: scan-varying crystal ignored; the static A is used")
        mosaic: dict[str, float | None] = {}
        if node.has("mosaicity"):
            mosaic["mosaicity_deg"] = node.get("mosaicity").number()
        if node.has("ML_half_mosaicity_deg") or node.has("ML_domain_size_ang"):
            half, size = node.get("ML_half_mosaicity_deg"), node.get("ML_domain_size_ang")
            if half.value is not None or size.value is not None:
                mosaic["half_mosaicity_deg"] = half.number()
                mosaic["domain_size_A"] = size.number()
        return ExptCrystal(rows, hall, **mosaic)


# (fast, slow, origin) of the lab frame: the parent of panels outside any group
_IDENTITY_FRAME = (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.zeros(3))


#: a panel's axes further from perpendicular than this are an error; closer, but beyond
#: dxtbx's PERPENDICULAR_EPS, a warning (axes typed with six digits, as nanoBragg users do)
_SHEARED_PANEL_EPS = 1e-4


def _local_frame(node: JsonValue, notes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A node's (fast, slow, origin) as stored: unit axes (dxtbx normalises them), origin in mm.

    A group's axes must be perpendicular (to dxtbx's 1e-7: they make a rotation); a panel's
    (``notes`` given) may be off by up to 1e-4, with a warning that dxtbx refuses them.
    """
    fast_node, slow_node = node.get("fast_axis"), node.get("slow_axis")
    fast = fast_node.vector(nonzero=True)
    slow = slow_node.vector(nonzero=True)
    cosine = float(_unit(fast) @ _unit(slow))
    tolerance = PERPENDICULAR_EPS if notes is None else _SHEARED_PANEL_EPS
    if abs(cosine) > tolerance:
        raise InputError(f"{node.path}: fast_axis and slow_axis are not perpendicular "
                         f"(cosine {cosine:.3g}, at most {tolerance:g})", path=node.file)
    if float(fast @ slow) >= PERPENDICULAR_EPS:
        notes.append(f"{node.path}: fast_axis . slow_axis = {float(fast @ slow):.3g}, beyond dxtbx's "
                     f"{PERPENDICULAR_EPS:g} (dxtbx refuses this panel); xbragg uses the axes as given")
    return _unit(fast), _unit(slow), node.get("origin").vector()


def _compose(parent, local):
    """Global frame of a node whose local frame is ``local`` inside ``parent`` (virtual_panel.h
    ``update_global_frame``: d = [pf ps pf x ps] d_local, plus the parent's origin)."""
    pf, ps, po = parent
    rot = np.column_stack([pf, ps, np.cross(pf, ps)])
    lf, ls, lo = local
    return rot @ lf, rot @ ls, rot @ lo + po


def _hierarchy_parents(root: JsonValue, n_panels: int, panels_path: str) -> list:
    """The global frame of each panel's parent group, from dxtbx's ``hierarchy`` (detector.cc
    ``detector_from_dict``/``node_from_dict``)."""
    if root.has("panel"):
        raise InputError(f"{root.path}: the hierarchy's root is a group, not a panel", path=root.file)
    parents: list = [None] * n_panels

    def visit(group: JsonValue, parent_frame) -> None:
        has_frame = all(group.has(k) for k in ("fast_axis", "slow_axis", "origin"))
        frame = _compose(parent_frame, _local_frame(group)) if has_frame else parent_frame
        for child in group.get("children").items():
            if child.has("panel"):
                index_node = child.get("panel")
                index = index_node.integer()
                if not 0 <= index < n_panels:
                    raise index_node.error(f"a panel index from 0 to {n_panels - 1}")
                if parents[index] is not None:
                    raise index_node.error(f"a panel not already in the hierarchy (panel {index} is twice)")
                parents[index] = frame
            else:
                visit(child, frame)

    visit(root, _IDENTITY_FRAME)
    missing = [i for i, p in enumerate(parents) if p is None]
    if missing:
        raise InputError(f"{root.path}: {panels_path}[{missing[0]}] is in no group of the hierarchy",
                         path=root.file)
    return parents


_PX_MM_STRATEGIES = ("SimplePxMmStrategy", "ParallaxCorrectedPxMmStrategy", "OffsetPxMmStrategy",
                     "OffsetParallaxCorrectedPxMmStrategy")


def _panel(node: JsonValue, parent, notes: list[str]) -> Panel:
    fast, slow, origin_mm = _compose(parent, _local_frame(node, notes))
    px_node = node.get("pixel_size")
    px = px_node.numbers(2)
    if not (px[0] > 0.0 and px[1] > 0.0):
        raise px_node.error("positive pixel sizes [fast, slow] (mm)")
    if abs(px[0] - px[1]) > 1e-12 * max(px[0], px[1]):
        raise InputError(f"{px_node.path}: pixels of {px[0]:g} x {px[1]:g} mm are not square; "
                         "xbragg simulates square pixels", path=node.file)
    size_node = node.get("image_size")
    size = [v.integer() for v in size_node.items(length=2)]
    if not (size[0] > 0 and size[1] > 0):
        raise size_node.error("positive image sizes [fast, slow] (pixels)")
    thickness_mm = node.get("thickness", 0.0).number()
    mu_per_mm = node.get("mu", 0.0).number()
    if node.has("px_mm_strategy"):
        strategy = node.get("px_mm_strategy")
        kind = strategy.get("type")
        if kind.string() not in _PX_MM_STRATEGIES:
            raise kind.error("one of " + ", ".join(_PX_MM_STRATEGIES))
        if "Parallax" in kind.value and strategy.has("mu") and strategy.has("t0"):
            # as dxtbx's Panel from_dict: the strategy's mu and t0 replace the panel's
            mu_per_mm, thickness_mm = strategy.get("mu").number(), strategy.get("t0").number()
        if kind.value.startswith("Offset"):
            notes.append(f"{kind.path}: per-pixel dx/dy offset maps are not simulated")
    if thickness_mm < 0.0 or mu_per_mm < 0.0:
        raise InputError(f"{node.path}: thickness and mu must not be negative", path=node.file)
    if thickness_mm > 0.0 and mu_per_mm == 0.0:
        notes.append(f"{node.path}: thickness {thickness_mm:g} mm without mu; simulated as a thin sensor "
                     "(every photon captured, no parallax), as dxtbx's SimplePxMmStrategy assumes")
        thickness_mm = 0.0
    if node.get("gain", 1.0).number() != 1.0 or node.get("pedestal", 0.0).number() != 0.0:
        notes.append(f"{node.path}: gain and pedestal are not applied to the simulated image")
    normal = _unit(np.cross(fast, slow))
    if float(normal @ origin_mm) < 0.0:
        normal = -normal            # xbragg's normal points away from the sample
    thick_m = thickness_mm * MM
    return Panel(origin_m=origin_mm * MM, fast_axis=fast, slow_axis=slow, normal=normal,
                 pixel_size_m=float(px[0]) * MM, fast_pixels=size[0], slow_pixels=size[1],
                 sensor=Sensor(thick_m=thick_m, step_m=thick_m, steps=1, mu_per_m=mu_per_mm / MM,
                               material=node.get("material", "").string()),
                 name=node.get("name", "").string())


def _multi_axis(node: JsonValue):
    """(datum axis, F, S) of a ``MultiAxisGoniometer`` (multi_axis_goniometer.h: axes ordered from the
    crystal to the base; F the axes below the scan axis, S those above)."""
    axes = [a.vector(nonzero=True) for a in node.get("axes").items()]
    angles_node = node.get("angles")
    angles = angles_node.numbers(len(axes))
    scan_node = node.get("scan_axis")
    k = scan_node.integer()
    if not 0 <= k < len(axes):
        raise scan_node.error(f"an axis index from 0 to {len(axes) - 1}")
    fixed, setting = np.eye(3), np.eye(3)
    for i in range(k):
        fixed = _axis_angle_matrix(axes[i], float(angles[i]) / RTD) @ fixed
    for i in range(k + 1, len(axes)):
        setting = _axis_angle_matrix(axes[i], float(angles[i]) / RTD) @ setting
    return _unit(axes[k]), fixed, setting


def _legacy_scan_properties(node: JsonValue, n: int) -> dict[str, JsonValue]:
    """Properties of a scan written before dxtbx's properties table: top-level ``oscillation``
    [start, width] and per-image ``exposure_time`` and ``epochs`` (scan.cc ``from_dict``)."""
    props: dict[str, JsonValue] = {}
    if node.has("oscillation"):
        osc_node = node.get("oscillation")
        start, width = osc_node.numbers(2)
        props["oscillation"] = JsonValue([start + width * i for i in range(n)], osc_node.path, node.file)
        props["oscillation_width"] = JsonValue([width], osc_node.path, node.file)
    for key in ("exposure_time", "epochs"):
        if node.has(key):
            values = node.get(key).items()
            if not 1 <= len(values) <= n:
                raise node.get(key).error(f"a list of 1 to {n} values")
            # dxtbx repeats the last value for the images not listed
            padded = [v.number() for v in values] + [values[-1].number()] * (n - len(values))
            props[key] = JsonValue(padded, f"{node.path}.{key}", node.file)
    return props


def _consistent_properties(props: dict[str, JsonValue], n: int) -> dict[str, JsonValue]:
    """Scan properties of ``n`` values each, as dxtbx's ``ScanFactory.from_dict`` makes them
    (scan.py ``make_properties_table_consistent``) when their lengths are not all ``n``:
    for one image ``oscillation`` may be [start, width]; for more, the first start and
    ``oscillation_width`` (or the first difference) give every start; the first exposure
    time is repeated."""
    lengths = {len(v.value) if isinstance(v.value, list) else -1 for v in props.values()}
    if lengths <= {n}:
        return props
    props = dict(props)
    if "oscillation" in props:
        osc_node = props["oscillation"]
        osc = [item.number() for item in osc_node.items()]
        if not osc or (n == 1 and "oscillation_width" not in props and len(osc) < 2):
            raise osc_node.error(f"the start angle of each of the {n} images")
        if n == 1 and "oscillation_width" not in props:
            props["oscillation_width"] = JsonValue([osc[1]], osc_node.path, osc_node.file)
            props["oscillation"] = JsonValue([osc[0]], osc_node.path, osc_node.file)
        elif n > 1:
            if "oscillation_width" in props:
                width = props.pop("oscillation_width").items()[0].number()
            elif len(osc) > 1:
                width = osc[1] - osc[0]
            else:
                raise osc_node.error(f"the start angle of each of the {n} images")
            props["oscillation"] = JsonValue([osc[0] + width * i for i in range(n)], osc_node.path, osc_node.file)
    if "exposure_time" in props:
        times = props["exposure_time"].items()
        if not times:
            raise props["exposure_time"].error("at least one exposure time")
        props["exposure_time"] = JsonValue([times[0].number()] * n, times[0].path, times[0].file)
    return props
