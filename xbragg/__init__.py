"""xbragg: far-field diffraction images of small crystals on pixel detectors.

The physics of the reference program nanoBragg, written once against the
Python array API so that it runs on NumPy (default), PyTorch and CuPy.

>>> import xbragg
>>> opts = xbragg.SimulationOptions(cell_A=(100, 100, 100), default_F=100, Na=5, Nb=5, Nc=5,
...                                 wavelength_m=6.2e-10, fpixels=64, spixels=64)
>>> image = xbragg.simulate(opts)              # NumPy float64, shape (64, 64), photons/pixel
"""
from __future__ import annotations

from .backends import BackendError
from .errors import InputError, OutputError, XbraggError
from .render import RenderResult, render
from .setup.experiment import Experiment, build_experiment
from .setup.options import SimulationOptions
from .tools.png import save_png
from . import series          # callable: xbragg.series(flags, frames=N) plans a sweep (xbragg.series.series)

__all__ = ["SimulationOptions", "Experiment", "build_experiment", "render", "RenderResult",
           "simulate", "options_from_flags", "XbraggError", "InputError", "OutputError", "BackendError",
           "save_png", "series"]
__version__ = "0.1.0"


def options_from_flags(flags: str | list[str]) -> SimulationOptions:
    """Options from nanoBragg-style flags, e.g. ``"-cell 100 100 100 90 90 90 -N 5"``."""
    from .cli.parse import parse_args
    argv = flags.split() if isinstance(flags, str) else list(flags)
    return parse_args(argv).options


def simulate(options: SimulationOptions | str | list[str], *, backend: str = "numpy",
             device: str | None = None, dtype: str = "float64", **render_kwargs):
    """Render one image: (spixels, fpixels) array of ``backend`` on ``device``, photons per pixel."""
    if not isinstance(options, SimulationOptions):
        options = options_from_flags(options)
    exp = build_experiment(options)
    return render(exp, backend=backend, device=device, dtype=dtype, **render_kwargs).image
