"""What the command line prints: the reference's summary lines and statistics, same form."""
from __future__ import annotations

from typing import TextIO

from ..constants import RTD
from ..io.cformat import format_g
from ..setup.experiment import Experiment
from ..stats import ImageStats

g = format_g


def print_setup(exp: Experiment, out: TextIO) -> None:
    """Geometry, crystal and sampling summary (a subset of the reference's printout)."""
    det, cr, src = exp.detector, exp.crystal, exp.sources
    w = out.write
    w("xbragg: nanoBragg-compatible diffraction simulator\n")
    for msg in exp.messages:
        w(msg + "\n")
    w(f"{det.convention.lower()} convention selected.\n")
    w("pivoting detector around " + ("sample\n" if det.pivot == "sample" else "direct beam spot\n"))
    if exp.interpolate_auto:
        w("auto-selected " + ("tricubic interpolation of structure factors\n" if exp.interpolate
                              else "no interpolation\n"))
    w("Unit Cell: " + " ".join(g(v) for v in cr.cell_A_deg) + "\n")
    w("Recp Cell: " + " ".join(g(v) for v in cr.reciprocal_cell) + "\n")
    w(f"volume = {g(cr.volume_A3)} A^3\n")
    sx, sy, sz = cr.size_m
    w(f"crystal is {g(sx * 1e6)} x {g(sy * 1e6)} x {g(sz * 1e6)} microns\n")
    w(f"  created a total of {src.count} sources:\n")
    w(f"  created a total of {exp.mosaic_umats.shape[0]} mosaic domains\n")
    if exp.hkl is not None:
        w(f"  {exp.hkl.count} initialized hkls (all others ={g(exp.default_F)})\n")
    else:
        w(f"  0 initialized hkls (all others ={g(exp.default_F)})\n")
    w(f"  wave={g(exp.wavelength_m)} meters +/- {g(src.dispersion * 100)}% in {src.dispsteps} steps\n")
    w(f"  incident fluence: {g(exp.fluence)} photons/m^2\n")
    w(f"  distance={g(det.distance_m)} detsize={g(det.detsize_f_m)}x{g(det.detsize_s_m)}  "
      f"pixel={g(det.pixel_size_m)} meters ({det.fpixels}x{det.spixels} pixels)\n")
    w(f"  Xbeam={g(det.Xbeam_m)} Ybeam={g(det.Ybeam_m)}\n")
    w(f"  Fbeam={g(det.Fbeam_m)} Sbeam={g(det.Sbeam_m)}\n")
    w(f"  Fclose={g(det.Fclose_m)} Sclose={g(det.Sclose_m)}\n")
    w("  DIRECTION_OF_DETECTOR_X-AXIS= " + " ".join(g(v) for v in det.fdet) + "\n")
    w("  DIRECTION_OF_DETECTOR_Y-AXIS= " + " ".join(g(v) for v in det.sdet) + "\n")
    w("  DIRECTION_OF_DETECTOR_Z-AXIS= " + " ".join(g(v) for v in det.odet) + "\n")
    w("  INCIDENT_BEAM_DIRECTION= " + " ".join(g(v) for v in det.beam) + "\n")
    w("  spindle ROTATION_AXIS= " + " ".join(g(v) for v in det.spindle_axis) + "\n")
    x0, x1, y0, y1 = exp.roi
    w(f"  roi: {x0} < x < {x1} && {y0} < y < {y1}\n")
    w(f"  {src.count} sources\n")
    w(f"  {exp.mosaic_umats.shape[0]} mosaic domains over mosaic spread of "
      f"{g(exp.mosaic_spread_rad * RTD)} degrees\n")
    w(f"  {exp.phi.phisteps} phi steps from {g(exp.phi.phi0_rad * RTD)} to "
      f"{g((exp.phi.phi0_rad + exp.phi.osc_rad) * RTD)} degrees\n")
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
