"""Differentiable forward model (xbragg.differentiable): consistency with render and gradients."""
from __future__ import annotations

import os

import numpy as np
import pytest

import xbragg

from golden import case, stage_inputs

torch = pytest.importorskip("torch")

from xbragg.differentiable import Parameters, Simulator, simulate  # noqa: E402

SMALL = " -detpixels 16"
# (golden case or None, extra flags): conventions, pivots, rotations, cells, sampling
CONSISTENCY = [
    ("cubic_default", SMALL),                                    # MOSFLM, BEAM pivot
    ("conv_xds", SMALL),                                         # XDS, SAMPLE pivot
    ("conv_dials", SMALL),                                       # DIALS, two-theta
    ("conv_adxv", SMALL),
    ("conv_denzo", SMALL),
    ("tilted_detector", SMALL),
    ("pivot_sample_close", SMALL),
    ("pivot_orgx", SMALL),
    ("custom_vectors", SMALL + " -twotheta -12 -detector_rotx 2 -detector_roty -3 -detector_rotz 1 -pivot sample"),
    ("custom_vectors", SMALL + " -twotheta -8 -detector_rotz 4 -Xbeam 1.2 -Ybeam 0.7"),
    ("triclinic_misset", SMALL),
    ("mosaic_domains", SMALL),
    ("phi_offset", SMALL),
    ("phi_from_zero", SMALL + " --phi-carryover"),
    ("divergence_round", SMALL),
    ("divergence_square_dispersion", SMALL),
    ("sourcefile", SMALL),
    ("shape_round", SMALL),
    ("shape_gauss", SMALL),
    ("shape_tophat", SMALL),
    ("curved_det", SMALL),
    ("absorption_layers", SMALL),
    ("oversample3_per_subpixel", " -detpixels 8"),
    ("water_only", SMALL),
    ("hkl_tricubic", SMALL),
    ("supervisor_roi", None),                                    # -mat crystal, phi carry-over
]


@pytest.fixture
def staged(tmp_path):
    stage_inputs(tmp_path)
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def _experiment(flags: str):
    return xbragg.build_experiment(xbragg.options_from_flags(flags))


@pytest.mark.parametrize("name, extra", CONSISTENCY, ids=[f"{n}{i}" for i, (n, _) in enumerate(CONSISTENCY)])
def test_simulate_matches_render_at_the_experiments_values(staged, name, extra):
    args = case(name)["args"]
    if extra is None:   # a full-size frame: a small region of interest instead
        args = args.replace("-roi 600 760 980 1100", "-roi 680 687 1030 1037") + " --phi-carryover"
    else:
        args += extra
    exp = _experiment(args)
    ref = xbragg.render(exp, backend="torch").image
    image = simulate(exp, Parameters.from_experiment(exp))
    assert image.shape == ref.shape and image.dtype == torch.float64
    assert float(ref.abs().max()) > 0
    rel = float((image - ref).abs().max() / ref.abs().max())
    assert rel <= 1e-12, rel


def test_numpy_parameters_render_on_numpy():
    import array_api_compat.numpy as npx
    exp = _experiment(case("triclinic_misset")["args"] + SMALL)
    image = simulate(exp, Parameters.from_experiment(exp, xp=npx))
    assert isinstance(image, np.ndarray)
    np.testing.assert_allclose(image, xbragg.render(exp).image, rtol=1e-12, atol=0)


@pytest.mark.parametrize("device_name", [None, "device1"])
def test_strict_parameters_render_on_their_own_device(device_name):
    # the render takes namespace, device and dtype from the parameters themselves
    xs = pytest.importorskip("array_api_strict")
    exp = _experiment(case("triclinic_misset")["args"] + SMALL)
    dev = None if device_name is None else xs.Device(device_name)
    params = Parameters.from_experiment(exp, xp=xs, device=dev, dtype=xs.float32)
    image = simulate(exp, params)
    assert image.dtype == xs.float32 and image.device == params.a_A.device
    ref = xbragg.render(exp, dtype="float32").image
    np.testing.assert_allclose(np.asarray(xs.asarray(image, device=xs.Device("CPU_DEVICE"))), ref,
                               rtol=1e-4, atol=1e-4 * float(ref.max()))


def test_changed_parameters_match_a_rebuilt_experiment():
    """Moving a parameter gives the image of the experiment built with that flag."""
    base = "-cell 70 80 90 75 85 95 -default_F 100 -lambda 1.5 -N 4 -detpixels 16 -misset 10 20 30"
    exp = _experiment(base)
    p = Parameters.from_experiment(exp).replace(
        a_A=torch.tensor(70.3, dtype=torch.float64), gamma_deg=torch.tensor(94.5, dtype=torch.float64),
        misset_y_deg=torch.tensor(20.2, dtype=torch.float64), distance_mm=torch.tensor(98.0, dtype=torch.float64),
        twotheta_deg=torch.tensor(2.0, dtype=torch.float64), wavelength_A=torch.tensor(1.45, dtype=torch.float64))
    moved = _experiment("-cell 70.3 80 90 75 85 94.5 -default_F 100 -lambda 1.45 -N 4 -detpixels 16 "
                        "-misset 10 20.2 30 -distance 98 -twotheta 2")
    ref = xbragg.render(moved, backend="torch").image
    rel = float((simulate(exp, p) - ref).abs().max() / ref.abs().max())
    assert rel <= 1e-10, rel


# a triclinic crystal with misset on a tilted detector; a 6x6 region on a Bragg spot
GRAD_FLAGS = ("-cell 70 80 90 75 85 95 -default_F 100 -misset 10 20 30 -lambda 1.5 -N 4 -distance 100 "
              "-pixel 0.1 -detpixels 64 -twotheta 3 -detector_rotx 1 -detector_roty -2 -detector_rotz 0.5 "
              "-roi 47 52 16 21")
# XDS: SAMPLE pivot, for the detector parameters
GRAD_FLAGS_SAMPLE = ("-cell 70 80 90 75 85 95 -default_F 100 -misset 10 20 30 -lambda 1.5 -N 4 -distance 100 "
                     "-pixel 0.1 -detpixels 64 -xds -twotheta 3 -detector_rotx 1 -detector_roty -2 "
                     "-detector_rotz 0.5 -roi 31 36 2 7")


def _gradcheck(flags: str, name: str):
    exp = _experiment(flags)
    x0, x1, y0, y1 = exp.roi
    p0 = Parameters.from_experiment(exp)
    sim = Simulator(exp, p0)
    norm = float(sim(p0)[y0:y1 + 1, x0:x1 + 1].max())      # outputs of order 1
    assert norm > 0
    # fluence is ~1e29 photons/m^2: check it in units of its own value
    unit = float(p0.fluence) if name == "fluence" else 1.0

    def f(x):
        return sim(p0.replace(**{name: x * unit}))[y0:y1 + 1, x0:x1 + 1] / norm
    x = torch.tensor(float(getattr(p0, name)) / unit, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-7, rtol=1e-5)
    grad = torch.autograd.functional.jacobian(f, x)
    assert float(grad.abs().max()) > 1e-3, f"gradient of {name} is ~0 here"


@pytest.mark.parametrize("name", Parameters.names())
def test_gradcheck(name):
    _gradcheck(GRAD_FLAGS, name)


@pytest.mark.parametrize("name", ["distance_mm", "beam_x_mm", "beam_y_mm", "rotx_deg", "roty_deg", "rotz_deg",
                                  "twotheta_deg"])
def test_gradcheck_sample_pivot(name):
    _gradcheck(GRAD_FLAGS_SAMPLE, name)


def test_backward_through_every_parameter_at_once():
    exp = _experiment(GRAD_FLAGS)
    p = Parameters.from_experiment(exp, requires_grad=True)
    simulate(exp, p).sum().backward()
    for name in Parameters.names():
        g = getattr(p, name).grad
        assert g is not None and bool(torch.isfinite(g)) and float(g) != 0.0, name
