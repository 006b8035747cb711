"""NeXus NXmx files (HDF5): a series of images with the geometry DIALS reads from them.

Layout (``/entry/definition = "NXmx"``; lengths in mm, angles in degrees, the McStas frame
of :mod:`xbragg.io.mcstas`)::

    /entry/data/data                         (frames, rows, columns), one image per chunk
    /entry/instrument/beam                   incident_wavelength [+ spectrum variant]
    /entry/instrument/detector               sensor, saturation_value, pixel_mask, data (link)
        transformations/origin               the detector's root: a null translation
        module (or module_0, module_1, ...)  one NXdetector_module per panel:
            data_origin, data_size           where the panel's pixels are in the data array
            module_offset                    translation from the sample to the outer corner
                                             of the panel's first pixel (depends on origin)
            fast_pixel_direction             pixel size along the fast axis (depends on module_offset)
            slow_pixel_direction             pixel size along the slow axis (depends on module_offset)
    /entry/sample/transformations/omega      rotation axis, the start angle of every image

How the chains are read follows dxtbx's NXmx reader (``cctbx/dxtbx``,
``src/dxtbx/nexus/__init__.py``, ``get_dxtbx_detector``): the translation of a module's
chain is the panel origin, dxtbx's corner of the first pixel, so the centre of pixel
(slow s, fast f) is that point plus (f + 1/2) pixels along the fast vector and (s + 1/2)
along the slow one; the vectors carry no rotation, so the single-panel ("flat") and the
multi-panel (hierarchical) readings of dxtbx give the same panels; every chain starts at
the one ``origin`` transformation, which dxtbx's hierarchy needs as its shared root.
Panels are stacked along the slow direction in one data array; a panel narrower than the
widest is padded with zeros marked as gaps (bit 0) in ``pixel_mask``, which is the one 2-D
mask dxtbx's ``get_static_mask`` slices per module.
"""
from __future__ import annotations

import datetime
import io
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from xbragg.errors import InputError
from xbragg.io.atomic import atomic_write_bytes, refuse_inputs
from xbragg.io.mcstas import mcstas_rotation

if TYPE_CHECKING:     # xbragg.models imports xbragg.io (HKL tables): no import cycle at run time
    from xbragg.models import Beam, Detector, Goniometer, Panel, Scan

__all__ = ["write_nexus", "nexus_bytes", "check_nexus", "GAP_BIT", "USER_MASK_BIT"]

#: NXdetector pixel_mask bits: 0 "gap (pixel with no sensor)", 8 "user defined mask"
GAP_BIT = 1 << 0
USER_MASK_BIT = 1 << 8

_DETECTOR = "/entry/instrument/detector"
_ROOT = _DETECTOR + "/transformations/origin"
_INT32_MAX = np.iinfo(np.int32).max
_COMPRESSIONS = ("gzip", "bslz4", None)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise InputError("writing NeXus needs h5py: pip install 'xbragg[nexus]'") from None
    return h5py


def _text(value: str) -> np.bytes_:
    # string fields as fixed-length strings, as detectors' NXmx files and dxtbx's own writer
    # have them; attributes are variable-length str, which every reader gets back as str
    return np.bytes_(value.encode("utf-8"))


def _panel_stacks(images, detector: Detector) -> list[np.ndarray]:
    """One (frames, slow, fast) host array per panel, checked against the panels' shapes."""
    from xbragg.backends.select import to_numpy
    if len(detector) == 1 and not isinstance(images, (list, tuple)):
        images = [images]
    stacks = [to_numpy(a) for a in images]
    if len(stacks) != len(detector):
        raise InputError(f"images: {len(stacks)} panel image stacks for a detector of {len(detector)} panels")
    out = []
    for i, (stack, panel) in enumerate(zip(stacks, detector)):
        if stack.ndim == 2:
            stack = stack[None]
        if stack.ndim != 3 or stack.shape[1:] != panel.shape:
            raise InputError(f"images of panel {i}: shape {stack.shape}, expected (frames, {panel.slow_pixels}, "
                             f"{panel.fast_pixels})")
        out.append(stack)
    if len({s.shape[0] for s in out}) != 1:
        raise InputError(f"images: the panels have different numbers of frames {[s.shape[0] for s in out]}")
    return out


def _data_dtype(stacks: Sequence[np.ndarray], counts: bool) -> np.dtype:
    """int32 for counts (whole numbers that fit), float32 otherwise."""
    if not counts:
        return np.dtype(np.float32)
    for i, s in enumerate(stacks):
        if not np.issubdtype(s.dtype, np.integer):
            if not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
                raise InputError(f"images of panel {i}: counts=True needs whole numbers, got fractional values")
        if s.size and (s.min() < -_INT32_MAX - 1 or s.max() > _INT32_MAX):
            raise InputError(f"images of panel {i}: counts outside the int32 range")
    return np.dtype(np.int32)


def _panel_masks(mask, detector: Detector) -> list[np.ndarray | None]:
    if mask is None:
        return [None] * len(detector)
    if len(detector) == 1 and not isinstance(mask, (list, tuple)):
        mask = [mask]
    if len(mask) != len(detector):
        raise InputError(f"mask: {len(mask)} panel masks for a detector of {len(detector)} panels")
    out = []
    for i, (m, panel) in enumerate(zip(mask, detector)):
        m = None if m is None else np.asarray(m)
        if m is not None and m.shape != panel.shape:
            raise InputError(f"mask of panel {i}: shape {m.shape}, expected {panel.shape}")
        if m is not None:
            m = np.where(m, USER_MASK_BIT, 0) if m.dtype == np.bool_ else m
            m = m.astype(np.uint32)
        out.append(m)
    return out


def _scan_angles_deg(scans: Scan | Sequence[Scan], frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, width) of each image in degrees."""
    from xbragg.models import Scan
    scans = [scans] if isinstance(scans, Scan) else list(scans)
    if len(scans) != frames:
        raise InputError(f"scans: {len(scans)} scans for {frames} images (one per image)")
    start = np.array([np.degrees(s.phi0_rad) for s in scans], dtype=np.float64)
    width = np.array([np.degrees(s.osc_rad) for s in scans], dtype=np.float64)
    return start, width


def _check_panels(detector: Detector) -> None:
    for i, panel in enumerate(detector):
        if panel.curved:
            raise InputError(f"panel {i} is curved: NXmx modules are flat pixel arrays; "
                             "write the images as raw floats or SMV instead")
    sensors = {(p.sensor.material or "Si", p.sensor.thick_m) for p in detector}
    if len(sensors) > 1:
        raise InputError(f"the panels have different sensors {sorted(sensors)}: NXdetector holds one "
                         "sensor_material and sensor_thickness")


def check_nexus(detector: Detector) -> None:
    """:class:`InputError` unless NXmx can be written for ``detector`` here: h5py importable,
    flat panels, one sensor.  Cheap: callers run it before rendering."""
    _h5py()
    _check_panels(detector)


def _axis(group, name: str, value, *, kind: str, vector, units: str, depends_on: str):
    """A transformation (NXtransformations axis) ``name`` in ``group``."""
    ds = group.create_dataset(name, data=value)
    ds.attrs["transformation_type"] = kind
    ds.attrs["vector"] = np.asarray(vector, dtype=np.float64)
    ds.attrs["units"] = units
    ds.attrs["depends_on"] = depends_on
    return ds


def _group(parent, name: str, nx_class: str):
    g = parent.create_group(name)
    g.attrs["NX_class"] = nx_class
    return g


def _write_module(detector_group, name: str, panel: Panel, row0: int, Q: np.ndarray) -> None:
    module = _group(detector_group, name, "NXdetector_module")
    module.create_dataset("data_origin", data=np.array([row0, 0], dtype=np.int32))
    module.create_dataset("data_size", data=np.array(panel.shape, dtype=np.int32))
    origin_mm = Q @ panel.origin_m * 1e3
    length = float(np.sqrt(origin_mm @ origin_mm))
    direction = origin_mm / length if length > 0.0 else np.array([0.0, 0.0, 1.0])
    offset = _axis(module, "module_offset", length, kind="translation", vector=direction, units="mm",
                   depends_on=_ROOT)
    pixel_mm = panel.pixel_size_m * 1e3
    for axis_name, axis in (("fast_pixel_direction", panel.fast_axis), ("slow_pixel_direction", panel.slow_axis)):
        _axis(module, axis_name, pixel_mm, kind="translation", vector=Q @ axis, units="mm",
              depends_on=offset.name)


def _write_beam(instrument, beam: Beam) -> None:
    group = _group(instrument, "beam", "NXbeam")
    wavelength = group.create_dataset("incident_wavelength", data=beam.wavelength_m * 1e10)
    wavelength.attrs["units"] = "angstrom"
    sources = beam.sources
    lambdas, where = np.unique(np.asarray(sources.wavelength_m, dtype=np.float64), return_inverse=True)
    if lambdas.size > 1:
        # several wavelengths: the spectrum as a variant of the central wavelength, with the
        # sources' weights summed per wavelength (dxtbx reads "<variant>_weights")
        weights = np.zeros(lambdas.size)
        np.add.at(weights, where.reshape(-1), np.asarray(sources.weight, dtype=np.float64))
        wavelength.attrs["variant"] = "incident_wavelength_spectrum"
        spectrum = group.create_dataset("incident_wavelength_spectrum", data=lambdas * 1e10)
        spectrum.attrs["units"] = "angstrom"
        group.create_dataset("incident_wavelength_spectrum_weights", data=weights)
    if beam.flux > 0.0:
        flux = group.create_dataset("total_flux", data=beam.flux)
        flux.attrs["units"] = "Hz"


def nexus_bytes(images, *, beam: Beam, detector: Detector, goniometer: Goniometer,
                scans: Scan | Sequence[Scan], counts: bool = False, saturation: int | None = None,
                mask=None, up=None, axis_name: str = "omega", compression: str | None = "gzip",
                start_time: str | None = None) -> bytes:
    """The NXmx file :func:`write_nexus` writes, as bytes (built in memory)."""
    h5py = _h5py()
    if compression not in _COMPRESSIONS:
        raise InputError(f"compression={compression!r}: expected one of {_COMPRESSIONS}")
    _check_panels(detector)
    stacks = _panel_stacks(images, detector)
    dtype = _data_dtype(stacks, counts)
    frames = stacks[0].shape[0]
    start_deg, width_deg = _scan_angles_deg(scans, frames)
    masks = _panel_masks(mask, detector)
    Q = mcstas_rotation(beam.direction, beam.polarization_axis, detector[0].slow_axis, up)

    rows0 = np.cumsum([0] + [p.slow_pixels for p in detector])
    columns = max(p.fast_pixels for p in detector)
    data = np.zeros((frames, int(rows0[-1]), columns), dtype=dtype)
    pixel_mask = np.full((int(rows0[-1]), columns), GAP_BIT, dtype=np.uint32)
    for panel, stack, m, r0 in zip(detector, stacks, masks, rows0):
        rows = slice(int(r0), int(r0) + panel.slow_pixels)
        data[:, rows, :panel.fast_pixels] = stack
        pixel_mask[rows, :panel.fast_pixels] = 0 if m is None else m

    if compression == "gzip":
        filters = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
    elif compression == "bslz4":
        try:
            import hdf5plugin
        except ImportError:
            raise InputError("compression='bslz4' needs hdf5plugin: pip install 'xbragg[nexus]'") from None
        filters = dict(hdf5plugin.Bitshuffle(cname="lz4"))
    else:
        filters = {}

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        f.attrs["creator"] = "xbragg"
        entry = _group(f, "entry", "NXentry")
        entry.attrs["default"] = "data"
        entry["definition"] = _text("NXmx")
        when = start_time or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry["start_time"] = _text(when)

        nxdata = _group(entry, "data", "NXdata")
        nxdata.attrs["signal"] = "data"
        dataset = nxdata.create_dataset("data", data=data, chunks=(1, *data.shape[1:]), **filters)

        instrument = _group(entry, "instrument", "NXinstrument")
        instrument["name"] = _text("xbragg simulation")
        source = _group(instrument, "source", "NXsource")
        source["name"] = _text("xbragg simulation")
        _write_beam(instrument, beam)

        det = _group(instrument, "detector", "NXdetector")
        det["data"] = dataset                                  # a hard link: one copy of the pixels
        det["description"] = _text("xbragg simulated pixel detector")
        det["type"] = _text("pixel")
        det["depends_on"] = _text(_ROOT)
        sensor = detector[0].sensor
        det["sensor_material"] = _text(sensor.material or "Si")
        det["sensor_thickness"] = sensor.thick_m * 1e3
        det["sensor_thickness"].attrs["units"] = "mm"
        if counts or saturation is not None:
            det["saturation_value"] = np.int32(_INT32_MAX if saturation is None else saturation)
        det.create_dataset("pixel_mask", data=pixel_mask, compression="gzip", shuffle=True)
        det["pixel_mask_applied"] = False
        if beam.exposure_s > 0.0:
            for name in ("count_time", "frame_time"):
                det[name] = beam.exposure_s
                det[name].attrs["units"] = "s"
        transformations = _group(det, "transformations", "NXtransformations")
        _axis(transformations, "origin", 0.0, kind="translation", vector=(0.0, 0.0, 1.0), units="mm",
              depends_on=".")
        for i, (panel, r0) in enumerate(zip(detector, rows0)):
            _write_module(det, "module" if len(detector) == 1 else f"module_{i}", panel, int(r0), Q)

        sample = _group(entry, "sample", "NXsample")
        sample["name"] = _text("xbragg crystal")
        sample["beam"] = instrument["beam"]
        gonio = _group(sample, "transformations", "NXtransformations")
        axis = _axis(gonio, axis_name, start_deg, kind="rotation", vector=Q @ goniometer.rotation_axis,
                     units="deg", depends_on=".")
        sample["depends_on"] = _text(axis.name)
        gonio[axis_name + "_increment_set"] = width_deg
        gonio[axis_name + "_increment_set"].attrs["units"] = "deg"
        gonio[axis_name + "_end"] = start_deg + width_deg
        gonio[axis_name + "_end"].attrs["units"] = "deg"
    return buffer.getvalue()


def write_nexus(path: str | os.PathLike[str], images, *, beam: Beam, detector: Detector,
                goniometer: Goniometer, scans: Scan | Sequence[Scan], counts: bool = False,
                saturation: int | None = None, mask=None, up=None, axis_name: str = "omega",
                compression: str | None = "gzip", start_time: str | None = None,
                inputs: Iterable[str | os.PathLike[str]] = (), flag: str | None = None) -> None:
    """Write a series of images and their geometry as a NeXus NXmx file, atomically.

    - ``images``: per panel, a (frames, slow, fast) array (any backend; (slow, fast) for one
      frame); a single array for a one-panel detector, else a sequence in panel order;
    - ``beam``, ``detector``, ``goniometer``: the models (lab frame, SI units); ``scans``: one
      :class:`~xbragg.models.Scan` per image (its ``phi0_rad`` is the image's start angle,
      ``osc_rad`` its width);
    - ``counts``: write int32 counts (the images must hold whole numbers), else float32;
    - ``saturation``: ``saturation_value`` (counts); int32's maximum for counts when not given;
    - ``mask``: per panel, a (slow, fast) bool array (True: do not use; written as bit 8) or
      an NXmx uint32 bit field, written as given; gaps from stacking panels get bit 0;
    - ``up``: lab vector to map onto McStas y (default: see :mod:`xbragg.io.mcstas`);
    - ``axis_name``: the goniometer axis's name (``omega`` or ``phi``);
    - ``compression``: ``"gzip"`` (default, any HDF5 reader), ``"bslz4"`` (bitshuffle/LZ4 via
      hdf5plugin, as Dectris detectors write) or ``None``;
    - ``start_time``: ISO 8601 ``/entry/start_time`` (default: now, UTC);
    - ``inputs``: files the output must not be (an :class:`~xbragg.errors.OutputError` when it is).

    The file is built in memory (its compressed size), then written with
    :func:`~xbragg.io.atomic.atomic_write_bytes`: temporary name and rename, never half a file.
    :class:`~xbragg.errors.InputError` for images, masks or scans that do not fit the
    models, a curved panel, or panels with different sensors.
    """
    refuse_inputs(path, inputs, flag=flag)
    content = nexus_bytes(images, beam=beam, detector=detector, goniometer=goniometer, scans=scans,
                          counts=counts, saturation=saturation, mask=mask, up=up, axis_name=axis_name,
                          compression=compression, start_time=start_time)
    atomic_write_bytes(path, content, flag=flag)
