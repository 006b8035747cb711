"""Everything a user can ask for, in SI units, before any defaults are resolved.

The command line fills a :class:`SimulationOptions` from nanoBragg-style flags
(``xbragg.cli.flags``); Python users may build one directly.  ``None`` means
"not given": :func:`xbragg.setup.experiment.build_experiment` then applies the
reference's defaults and auto-selection rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Optional

Vec3 = tuple[float, float, float]

CONVENTIONS = ("MOSFLM", "XDS", "ADXV", "DENZO", "DIALS", "CUSTOM")
SHAPES = ("square", "round", "gauss", "tophat")


@dataclass
class SimulationOptions:
    """User choices for one simulated image (SI units unless the name says otherwise)."""

    # --- crystal -------------------------------------------------------------
    cell_A: Optional[tuple[float, ...]] = None          # a, b, c in Angstrom (partial allowed)
    cell_angles_deg: Optional[tuple[float, ...]] = None  # alpha, beta, gamma in degrees
    mat_path: Optional[str] = None                       # MOSFLM A matrix
    misset_deg: Optional[Vec3] = None                    # rotations about x, y, z
    misset_random: bool = False
    misset_seed: Optional[int] = None
    Na: Optional[float] = None
    Nb: Optional[float] = None
    Nc: Optional[float] = None
    sample_x_m: float = 0.0
    sample_y_m: float = 0.0
    sample_z_m: float = 0.0
    xtal_shape: str = "square"
    fudge: float = 1.0
    mosaic_spread_deg: Optional[float] = None
    mosaic_domains: Optional[int] = None
    mosaic_seed: Optional[int] = None

    # --- structure factors -----------------------------------------------------
    hkl_path: Optional[str] = None
    default_F: float = 0.0
    interpolate: Optional[bool] = None                   # None: auto (any N <= 2)

    # --- beam -----------------------------------------------------------------
    wavelength_m: Optional[float] = None
    fluence: Optional[float] = None                      # photons / m^2
    flux: float = 0.0                                    # photons / s
    exposure_s: float = 1.0
    beamsize_m: float = 1e-4
    # delta-lambda / lambda (fraction); 0 by default, as in the reference, so that
    # -dispsteps alone keeps one wavelength instead of auto-selecting a 100% band
    dispersion: float = 0.0
    dispsteps: Optional[int] = None
    hdivrange_rad: Optional[float] = None
    vdivrange_rad: Optional[float] = None
    hdivstep_rad: Optional[float] = None
    vdivstep_rad: Optional[float] = None
    hdivsteps: Optional[int] = None
    vdivsteps: Optional[int] = None
    round_div: bool = True
    sourcefile_path: Optional[str] = None
    kahn_polarization: float = 0.0
    nopolar: bool = False
    water_m: float = 0.0

    # --- detector ---------------------------------------------------------------
    convention: str = "MOSFLM"
    pivot: Optional[str] = None                          # "beam" | "sample"; None: from flags
    distance_m: Optional[float] = None
    close_distance_m: Optional[float] = None
    Xbeam_m: Optional[float] = None
    Ybeam_m: Optional[float] = None
    Xclose_m: Optional[float] = None
    Yclose_m: Optional[float] = None
    ORGX: Optional[float] = None                         # pixels
    ORGY: Optional[float] = None
    fdet_vector: Optional[Vec3] = None
    sdet_vector: Optional[Vec3] = None
    odet_vector: Optional[Vec3] = None
    beam_vector: Optional[Vec3] = None
    polar_vector: Optional[Vec3] = None
    spindle_axis: Optional[Vec3] = None
    twotheta_axis: Optional[Vec3] = None
    pix0_vector_m: Optional[Vec3] = None
    detector_rotx_deg: float = 0.0
    detector_roty_deg: float = 0.0
    detector_rotz_deg: float = 0.0
    twotheta_deg: float = 0.0
    pixel_size_m: Optional[float] = None
    fpixels: Optional[int] = None
    spixels: Optional[int] = None
    detsize_f_m: Optional[float] = None
    detsize_s_m: Optional[float] = None
    curved_det: bool = False
    point_pixel: bool = False
    detector_abs_m: Optional[float] = None               # attenuation depth; 0 or inf: no attenuation
    detector_thick_m: Optional[float] = None
    detector_thicksteps: Optional[int] = None
    oversample: Optional[int] = None
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    roi: Optional[tuple[int, int, int, int]] = None      # xmin xmax ymin ymax, inclusive
    mask_path: Optional[str] = None
    img_path: Optional[str] = None
    #: a DIALS experiment list (.expt) placing the beam, detector, goniometer, scan and crystal
    expt_path: Optional[str] = None
    expt_index: int = 0
    dmin_m: float = 0.0

    # --- spindle ------------------------------------------------------------------
    phi_deg: Optional[float] = None
    osc_deg: Optional[float] = None
    phistep_deg: Optional[float] = None
    phisteps: Optional[int] = None

    # --- reference-parity switches ---------------------------------------------------
    phi_carryover: bool = False
    #: reproduce every known behaviour of nanoBragg.c (docs/reference-behaviour.md), phi
    #: carry-over included: -pivot ignored with a named convention, a zero capture fraction
    #: with -oversample_thick and no sensor
    c_parity: bool = False

    # --- pivot implied by the geometry flags, in the order given -----------------------
    pivot_from_flags: Optional[str] = field(default=None, repr=False)

    def updated(self, **changes) -> "SimulationOptions":
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of every option (used by the flag table's consistency test)."""
        return [f.name for f in fields(cls)]
