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
from .render import RenderResult, render, render_detector
from .setup.experiment import Experiment, build_experiment
from .setup.options import SimulationOptions

__all__ = ["SimulationOptions", "Experiment", "build_experiment", "from_expt", "render", "render_detector", "RenderResult",
           "simulate", "options_from_flags", "XbraggError", "InputError", "OutputError", "BackendError",
           "save_png", "write_nexus", "write_cbf", "series"]
__version__ = "0.1.0"

#: imported on first use, so that a run pays only for what it uses (python -X importtime):
#: name -> (module, attribute; None for the module itself)
_LAZY = {"write_nexus": (".export", "write_nexus"), "write_cbf": (".export", "write_cbf"),
         "save_png": (".tools.png", "save_png"),
         # callable: xbragg.series(flags, frames=N) plans a sweep (xbragg.series.series)
         "series": (".series", None)}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'xbragg' has no attribute {name!r}")
    import importlib
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    return module if attribute is None else getattr(module, attribute)


def options_from_flags(flags: str | list[str]) -> SimulationOptions:
    """Options from nanoBragg-style flags, e.g. ``"-cell 100 100 100 90 90 90 -N 5"``."""
    from .cli.parse import parse_args
    argv = flags.split() if isinstance(flags, str) else list(flags)
    return parse_args(argv).options


def from_expt(path: str, index: int = 0, options: SimulationOptions | str | list[str] | None = None,
              **build_kwargs) -> Experiment:
    """The experiment ``index`` of the DIALS experiment list ``path`` (.expt), as an :class:`Experiment`.

    The file places the beam, every detector panel, the goniometer, the scan and the crystal;
    ``options`` (nanoBragg flags or :class:`SimulationOptions`) add what it does not hold:
    cell counts (``-N``), structure factors (``-hkl``, ``-default_F``), mosaicity, fluence,
    sampling, and may override the wavelength, polarization and scan (see
    :mod:`xbragg.setup.placement`).  ``build_kwargs`` go to :func:`build_experiment`.
    """
    if options is None:
        options = SimulationOptions()
    elif not isinstance(options, SimulationOptions):
        options = options_from_flags(options)
    return build_experiment(options.updated(expt_path=str(path), expt_index=index), **build_kwargs)


def simulate(options: SimulationOptions | str | list[str], *, backend: str = "numpy",
             device: str | None = None, dtype: str = "float64", **render_kwargs):
    """Render the detector: photons per pixel, arrays of ``backend`` on ``device``.

    One panel: its (spixels, fpixels) image.  Several panels: one (panels, slow, fast)
    array when every panel has the same size, else a tuple of their images.
    """
    if not isinstance(options, SimulationOptions):
        options = options_from_flags(options)
    exp = build_experiment(options)
    results = render_detector(exp, backend=backend, device=device, dtype=dtype, **render_kwargs)
    images = tuple(r.image for r in results)
    if len(images) == 1:
        return images[0]
    if len({tuple(image.shape) for image in images}) == 1:
        from array_api_compat import array_namespace
        return array_namespace(images[0]).stack(images)
    return images
