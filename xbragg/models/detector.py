"""The detector: a tuple of flat (or curved) pixel panels in the lab frame."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..kernel.vectors import dot3


@dataclass(frozen=True)
class Sensor:
    """A panel's sensor: thickness, attenuation, and the layers it is sampled in (dxtbx ``thickness``, ``mu``).

    Layer i starts ``i*step_m`` behind the front face; ``steps`` is 1 and ``thick_m`` 0
    for a sensor of no thickness (every photon captured, no parallax).
    ``mu_per_m``: linear attenuation coefficient (1/m; dxtbx's ``mu`` is in 1/mm).
    """

    thick_m: float
    step_m: float
    steps: int
    mu_per_m: float
    material: str = ""


@dataclass(frozen=True)
class Panel:
    """One pixel array (dxtbx ``Panel``), SI units, lab frame.

    ``origin_m`` (3,) is the vector from the sample to the outer corner of the first
    pixel (nanoBragg's ``pix0``, dxtbx's ``origin``); ``fast_axis``, ``slow_axis`` are unit
    vectors along increasing fast and slow pixel index and ``normal`` the unit normal
    pointing away from the sample (nanoBragg's ``odet``; usually fast x slow).  Pixel
    (slow s, fast f) has its centre at ``origin + (f+0.5)*pixel*fast + (s+0.5)*pixel*slow``.

    ``curve_radius_m``: ``None`` for a flat panel; for a curved one (``-curved_det``) the
    radius of the sphere about the sample on which every pixel lies, each pixel then
    rotated from the direct-beam spot by its fast and slow offsets over that radius.
    ``point_pixel``: solid angles as of a point at each pixel centre (obliquity only).
    """

    origin_m: np.ndarray
    fast_axis: np.ndarray
    slow_axis: np.ndarray
    normal: np.ndarray
    pixel_size_m: float
    fast_pixels: int
    slow_pixels: int
    sensor: Sensor
    curve_radius_m: float | None = None
    point_pixel: bool = False
    name: str = ""

    @property
    def curved(self) -> bool:
        """Whether the panel is curved (pixels on a sphere about the sample)."""
        return self.curve_radius_m is not None

    @property
    def image_size(self) -> tuple[int, int]:
        """dxtbx's ``image_size``: (fast, slow) pixel counts."""
        return (self.fast_pixels, self.slow_pixels)

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the panel's image array: (slow, fast)."""
        return (self.slow_pixels, self.fast_pixels)

    @property
    def size_m(self) -> tuple[float, float]:
        """Edge lengths (fast, slow) in metres."""
        return (self.fast_pixels * self.pixel_size_m, self.slow_pixels * self.pixel_size_m)

    @property
    def close_distance_m(self) -> float:
        """Distance from the sample to the panel's plane along its normal (origin . normal)."""
        return float(dot3(self.origin_m, self.normal))

    def pixel_centres_m(self, slow, fast) -> np.ndarray:
        """Lab-frame centres (m) of pixels (slow, fast) of a flat panel, shape (..., 3).

        ``slow``, ``fast``: pixel indices (arrays broadcast together; fractional indices
        give points inside a pixel, 0.0 being its first edge minus half a pixel).
        """
        s = (np.asarray(slow, dtype=np.float64) + 0.5) * self.pixel_size_m
        f = (np.asarray(fast, dtype=np.float64) + 0.5) * self.pixel_size_m
        return (self.origin_m + f[..., None] * self.fast_axis + s[..., None] * self.slow_axis)

    def distance_along_m(self, direction) -> float | None:
        """Distance from the sample to the panel's plane along the unit ``direction`` (m);
        ``None`` when the ray runs parallel to the plane or away from it."""
        along = float(dot3(np.asarray(direction, dtype=np.float64), self.normal))
        return self.close_distance_m / along if along > 0.0 else None

    def beam_intersection_fs_m(self, beam_direction) -> tuple[float, float] | None:
        """Where a ray from the sample along ``beam_direction`` meets the panel's plane, as
        (fast, slow) offsets from the origin (m); ``None`` when it runs parallel or away."""
        distance = self.distance_along_m(beam_direction)
        if distance is None:
            return None
        hit = distance * np.asarray(beam_direction, dtype=np.float64) - self.origin_m
        return float(hit @ self.fast_axis), float(hit @ self.slow_axis)


@dataclass(frozen=True)
class Detector:
    """A detector (dxtbx ``Detector``): one or more :class:`Panel`\\ s, rendered one image each."""

    panels: tuple[Panel, ...]

    def __post_init__(self):
        if not self.panels:
            raise ValueError("a detector has at least one panel")

    def __len__(self) -> int:
        return len(self.panels)

    def __getitem__(self, index: int) -> Panel:
        return self.panels[index]

    def __iter__(self) -> Iterator[Panel]:
        return iter(self.panels)
