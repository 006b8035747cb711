"""Writing an experiment list: dxtbx's ``to_dict`` of every model, key for key."""
from __future__ import annotations

import json
import math
import os

import numpy as np

from xbragg.io.atomic import atomic_write_bytes
from xbragg.io.expt.entry import ANGSTROM, MM, PERPENDICULAR_EPS, ExptCrystal, ExptEntry
from xbragg.models import Beam, Detector, Panel

#: dxtbx's ``DetectorFactory.make_detector`` default trusted range, written for every panel
TRUSTED_RANGE = (0.0, 1.0e6)


def _vec(v) -> list[float]:
    return [float(x) for x in np.asarray(v, dtype=np.float64).reshape(-1)]


def _beam_dict(beam: Beam) -> dict:
    """beam.cc ``to_dict<Beam>``, key for key."""
    distance_m = math.sqrt(float(beam.sources.raw_position[0] @ beam.sources.raw_position[0]))
    return {
        "__id__": "monochromatic",
        "direction": _vec(-beam.direction),
        "wavelength": beam.wavelength_m / ANGSTROM,
        "divergence": 0.0,
        "sigma_divergence": 0.0,
        "polarization_normal": _vec(beam.polarization_normal),
        "polarization_fraction": beam.polarization_fraction,
        "flux": float(beam.flux),
        "transmission": 1.0,
        "probe": "x-ray",
        "sample_to_source_distance": distance_m / MM,
    }


def _panel_dict(panel: Panel) -> dict:
    """panel.cc ``to_dict<Panel>``, key for key; the frame is the lab frame (the root group is the identity)."""
    sensor = panel.sensor
    parallax = sensor.thick_m > 0.0 and sensor.mu_per_m > 0.0
    return {
        "name": panel.name,
        "type": "SENSOR_PAD",
        "fast_axis": _vec(panel.fast_axis),
        "slow_axis": _vec(panel.slow_axis),
        "origin": _vec(np.asarray(panel.origin_m) / MM),
        "raw_image_offset": [0, 0],
        "image_size": [int(panel.fast_pixels), int(panel.slow_pixels)],
        "pixel_size": [panel.pixel_size_m / MM, panel.pixel_size_m / MM],
        "trusted_range": list(TRUSTED_RANGE),
        "thickness": sensor.thick_m / MM,
        "material": sensor.material,
        "mu": max(sensor.mu_per_m, 0.0) * MM,
        "identifier": "",
        "mask": [],
        "gain": 1.0,
        "pedestal": 0.0,
        "px_mm_strategy": {"type": "ParallaxCorrectedPxMmStrategy" if parallax else "SimplePxMmStrategy"},
    }


def _detector_dict(detector: Detector) -> dict:
    """detector.cc ``to_dict<Detector>``: the panels, and a hierarchy of one root group at the lab frame."""
    root = {**_panel_dict_of_group(), "children": [{"panel": i} for i in range(len(detector))]}
    return {"panels": [_panel_dict(p) for p in detector], "hierarchy": root}


def _panel_dict_of_group() -> dict:
    """The root group as dxtbx writes a default-constructed one (panel_data.h, panel.h defaults)."""
    return {"name": "", "type": "", "fast_axis": [1.0, 0.0, 0.0], "slow_axis": [0.0, 1.0, 0.0],
            "origin": [0.0, 0.0, 0.0], "raw_image_offset": [0, 0], "image_size": [0, 0],
            "pixel_size": [0.0, 0.0], "trusted_range": [0.0, 0.0], "thickness": 0.0, "material": "",
            "mu": 0.0, "identifier": "", "mask": [], "gain": 1.0, "pedestal": 0.0,
            "px_mm_strategy": {"type": "SimplePxMmStrategy"}}


def _goniometer_dict(entry: ExptEntry) -> dict:
    """goniometer.cc ``to_dict<Goniometer>``: the datum axis (S^T times the lab axis), F and S row-major."""
    datum = entry.setting_rotation.T @ np.asarray(entry.goniometer.rotation_axis, dtype=np.float64)
    return {"rotation_axis": _vec(datum), "fixed_rotation": _vec(entry.fixed_rotation),
            "setting_rotation": _vec(entry.setting_rotation)}


def _scan_dict(entry: ExptEntry) -> dict:
    """scan.cc ``to_dict<Scan>``: per-image properties (degrees), ``oscillation_width`` for one image."""
    first, last = entry.image_range or (1, 1)
    n = last - first + 1
    start_deg, width_deg = entry.scan.oscillation_deg
    props = {"epochs": [0.0] * n, "exposure_time": [float(entry.beam.exposure_s)] * n,
             "oscillation": [start_deg + width_deg * i for i in range(n)]}
    if n == 1:
        props["oscillation_width"] = [width_deg]
    return {"image_range": [int(first), int(last)], "batch_offset": 0, "properties": props,
            "valid_image_ranges": {}}


def _crystal_dict(crystal: ExptCrystal) -> dict:
    """``Crystal.to_dict`` (dxtbx/model/__init__.py), with the mosaic keys of the Kabsch2010/Sauter2014 models."""
    a, b, c = (_vec(row) for row in crystal.real_space_A)
    d = {"__id__": "crystal", "real_space_a": a, "real_space_b": b, "real_space_c": c,
         "space_group_hall_symbol": crystal.space_group_hall_symbol}
    if crystal.mosaicity_deg is not None:
        d["mosaicity"] = float(crystal.mosaicity_deg)
    if crystal.half_mosaicity_deg is not None or crystal.domain_size_A is not None:
        d["ML_half_mosaicity_deg"] = crystal.half_mosaicity_deg
        d["ML_domain_size_ang"] = crystal.domain_size_A
    return d


def _imageset_dict(entry: ExptEntry) -> dict:
    """``ExperimentList.to_dict``'s imageset entry: an ImageSequence of the template for a rotation scan,
    an ImageSet of that one image otherwise."""
    external = {"mask": None, "gain": None, "pedestal": None, "dx": None, "dy": None, "params": {}}
    if entry.scan is not None and entry.scan.osc_rad != 0.0:
        return {"__id__": "ImageSequence", "template": entry.template, **external}
    return {"__id__": "ImageSet", "images": [entry.template], **external}


def experiment_list_dict(entries: list[ExptEntry] | tuple[ExptEntry, ...]) -> dict:
    """The experiment list of ``entries`` as dxtbx's ``ExperimentList.to_dict`` builds it.

    Equal models (beams, detectors, ...) are written once and referred to by index.
    """
    lists: dict[str, list] = {k: [] for k in ("beam", "detector", "goniometer", "scan", "crystal",
                                              "profile", "scaling_model", "imageset")}

    def index_of(name: str, model: dict) -> int:
        if model not in lists[name]:
            lists[name].append(model)
        return lists[name].index(model)

    experiments = []
    for entry in entries:
        e = {"__id__": "Experiment", "identifier": entry.identifier,
             "beam": index_of("beam", _beam_dict(entry.beam)),
             "detector": index_of("detector", _detector_dict(entry.detector))}
        if entry.goniometer is not None:
            e["goniometer"] = index_of("goniometer", _goniometer_dict(entry))
        if entry.scan is not None:
            e["scan"] = index_of("scan", _scan_dict(entry))
        if entry.crystal is not None:
            e["crystal"] = index_of("crystal", _crystal_dict(entry.crystal))
        if entry.template is not None:
            e["imageset"] = index_of("imageset", _imageset_dict(entry))
        experiments.append(e)
    # key order of ExperimentList.to_dict: imagesets first, then the models
    return {"__id__": "ExperimentList", "experiment": experiments, "history": [],
            "imageset": lists.pop("imageset"), **lists}


def export_warnings(entries: list[ExptEntry] | tuple[ExptEntry, ...]) -> list[str]:
    """What of ``entries`` an experiment list cannot hold (and :func:`experiment_list_dict` leaves out)."""
    notes = []
    for i, entry in enumerate(entries):
        where = f"experiment {i}: "
        beam = entry.beam
        if beam.sources.count != 1:
            notes.append(where + f"{beam.sources.count} sources (divergence, dispersion or a source file): "
                         "only the central beam is written")
        if not beam.polarization_correction:
            notes.append(where + "no polarization correction (-nopolar) has no .expt field; "
                         "the polarization fraction is written")
        if entry.scan is None and beam.exposure_s != 0.0:
            notes.append(where + "the exposure time is written in a scan; this experiment has none")
        if entry.scan is not None and entry.scan.phisteps != 1:
            notes.append(where + f"the oscillation is written; its sampling ({entry.scan.phisteps} steps) is not")
        for j, panel in enumerate(entry.detector):
            if panel.curved:
                notes.append(where + f"panel {j} is curved; an experiment list holds flat panels")
            if panel.sensor.steps != 1:
                notes.append(where + f"panel {j}: the sensor's {panel.sensor.steps} layers are sampling, not written")
            if panel.sensor.thick_m > 0.0 and not panel.sensor.mu_per_m > 0.0:
                notes.append(where + f"panel {j}: a thickness without attenuation is written with mu 0")
            if float(np.asarray(panel.fast_axis) @ np.asarray(panel.slow_axis)) >= PERPENDICULAR_EPS:
                notes.append(where + f"panel {j}: fast . slow = {float(panel.fast_axis @ panel.slow_axis):.3g}, "
                             f"beyond dxtbx's {PERPENDICULAR_EPS:g}: written as they are (xbragg reads them "
                             "back exactly), but dxtbx refuses the panel; give perpendicular axes for DIALS")
            normal = np.cross(panel.fast_axis, panel.slow_axis)
            if abs(abs(float(normal @ panel.normal)) - 1.0) > 1e-9:
                notes.append(where + f"panel {j}: the normal is not fast x slow; dxtbx derives it from the axes")
    return notes


def experiment_list_bytes(entries: list[ExptEntry] | tuple[ExptEntry, ...]) -> tuple[bytes, list[str]]:
    """The experiment list of ``entries`` as the bytes of its JSON file, and :func:`export_warnings`."""
    text = json.dumps(experiment_list_dict(entries), indent=2) + "\n"
    return text.encode("utf-8"), export_warnings(entries)


def write_experiment_list(path: str | os.PathLike[str], entries: list[ExptEntry] | tuple[ExptEntry, ...], *,
                          flag: str | None = None) -> list[str]:
    """Write ``entries`` to ``path`` as a DIALS experiment list (atomically); return :func:`export_warnings`."""
    data, warnings = experiment_list_bytes(entries)
    atomic_write_bytes(path, data, flag=flag)
    return warnings
