"""What the command line prints: the reference's summary lines and statistics, same form."""
from __future__ import annotations

from typing import TextIO

from ..constants import RTD
from ..io.cformat import format_g
from ..setup.detector import quoted_geometry
from ..setup.experiment import Experiment
from ..stats import ImageStats

g = format_g


def print_setup(exp: Experiment, out: TextIO) -> None:
    """Geometry, crystal and sampling summary (a subset of the reference's printout)."""
    cr, src, panel, beam = exp.crystal, exp.beam.sources, exp.panel, exp.beam
    quoted = quoted_geometry(panel, beam.direction, exp.detector_setup)
    setup = exp.detector_setup
    w = out.write
    w("xbragg: nanoBragg-compatible diffraction simulator\n")
    for msg in exp.messages:
        w(msg + "\n")
    if setup is not None:
        w(f"{setup.convention.lower()} convention selected.\n")
        w("pivoting detector around " + ("sample\n" if setup.pivot == "sample" else "direct beam spot\n"))
    if exp.interpolate_auto:
        w("auto-selected " + ("tricubic interpolation of structure factors\n" if exp.interpolate
                              else "no interpolation\n"))
    w("Unit Cell: " + " ".join(g(v) for v in cr.cell_A_deg) + "\n")
    w("Recp Cell: " + " ".join(g(v) for v in cr.reciprocal_cell) + "\n")
    w(f"volume = {g(cr.volume_A3)} A^3\n")
    sx, sy, sz = cr.size_m
    w(f"crystal is {g(sx * 1e6)} x {g(sy * 1e6)} x {g(sz * 1e6)} microns\n")
    w(f"  created a total of {src.count} sources:\n")
    w(f"  created a total of {exp.crystal.mosaic_umats.shape[0]} mosaic domains\n")
    if exp.crystal.structure_factors is not None:
        w(f"  {exp.crystal.structure_factors.count} initialized hkls (all others ={g(exp.crystal.default_F)})\n")
    else:
        w(f"  0 initialized hkls (all others ={g(exp.crystal.default_F)})\n")
    w(f"  wave={g(exp.beam.wavelength_m)} meters +/- {g(src.dispersion * 100)}% in {src.dispsteps} steps\n")
    w(f"  incident fluence: {g(exp.beam.fluence)} photons/m^2\n")
    detsize_f, detsize_s = quoted.detsize_fs_m
    w(f"  distance={g(quoted.distance_m)} detsize={g(detsize_f)}x{g(detsize_s)}  "
      f"pixel={g(panel.pixel_size_m)} meters ({panel.fast_pixels}x{panel.slow_pixels} pixels)\n")
    w("  Xbeam={} Ybeam={}\n".format(*(g(v) for v in quoted.beam_xy_m)))
    w("  Fbeam={} Sbeam={}\n".format(*(g(v) for v in quoted.beam_fs_m)))
    w("  Fclose={} Sclose={}\n".format(*(g(v) for v in quoted.close_fs_m)))
    w("  DIRECTION_OF_DETECTOR_X-AXIS= " + " ".join(g(v) for v in panel.fast_axis) + "\n")
    w("  DIRECTION_OF_DETECTOR_Y-AXIS= " + " ".join(g(v) for v in panel.slow_axis) + "\n")
    w("  DIRECTION_OF_DETECTOR_Z-AXIS= " + " ".join(g(v) for v in panel.normal) + "\n")
    w("  INCIDENT_BEAM_DIRECTION= " + " ".join(g(v) for v in beam.direction) + "\n")
    w("  spindle ROTATION_AXIS= " + " ".join(g(v) for v in exp.goniometer.rotation_axis) + "\n")
    x0, x1, y0, y1 = exp.roi
    w(f"  roi: {x0} < x < {x1} && {y0} < y < {y1}\n")
    w(f"  {src.count} sources\n")
    w(f"  {exp.crystal.mosaic_umats.shape[0]} mosaic domains over mosaic spread of "
      f"{g(exp.crystal.mosaic_spread_rad * RTD)} degrees\n")
    w(f"  {exp.scan.phisteps} phi steps from {g(exp.scan.phi0_rad * RTD)} to "
      f"{g((exp.scan.phi0_rad + exp.scan.osc_rad) * RTD)} degrees\n")
    flags = "".join(s for s, on in ((" +thick", exp.oversample_thick), (" +polar", exp.oversample_polar),
                                    (" +omega", exp.oversample_omega)) if on)
    w(f"  {exp.oversample}x{exp.oversample} pixel oversample steps{flags}\n")


def print_notes(notes, out: TextIO) -> None:
    """One ``note: ...`` line per note: where the reference would differ, or what an accepted flag does there."""
    for note in notes:
        out.write(f"note: {note}\n")


def print_stats(stats: ImageStats, out: TextIO) -> None:
    """``max_I = ...  at X Y`` and ``mean= ... rms= ... rmsd= ...`` exactly as the reference."""
    out.write(f"max_I = {g(stats.max_I)}  at {g(stats.max_I_x_m)} {g(stats.max_I_y_m)}\n")
    out.write(f"mean= {g(stats.mean)} rms= {g(stats.rms)} rmsd= {g(stats.rmsd)}\n")


def print_detector_stats(stats: ImageStats, panel_stats: list[ImageStats], out: TextIO) -> None:
    """The statistics over every panel: ``max_I = ...  in panel P at X Y`` (the brightest panel's
    maximum, the first in panel order), then mean, rms and rmsd over all rendered pixels."""
    brightest = max(range(len(panel_stats)), key=lambda i: (panel_stats[i].max_I, -i))
    best = panel_stats[brightest]
    out.write(f"max_I = {g(best.max_I)}  in panel {brightest} at {g(best.max_I_x_m)} {g(best.max_I_y_m)}\n")
    out.write(f"mean= {g(stats.mean)} rms= {g(stats.rms)} rmsd= {g(stats.rmsd)}\n")
