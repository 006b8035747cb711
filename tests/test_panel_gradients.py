"""The differentiable model of an experiment placed by a DIALS experiment list (PanelParameters):
consistency with render at the file's values, panel shifts against moved panels, gradients."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import xbragg
from xbragg.io.expt import write_experiment_list
from xbragg.models import Detector

torch = pytest.importorskip("torch")

from xbragg.differentiable import PanelParameters, Parameters, Simulator, simulate  # noqa: E402

#: a triclinic crystal with misset and a rotation of two steps, on two small panels
FLAGS = ("-cell 60 70 80 85 95 100 -misset 10 20 30 -default_F 100 -N 4 -lambda 1.2 -distance 60 "
         "-detpixels_f 10 -detpixels_s 8 -pixel 0.4 -dials -phi 3 -osc 0.5 -phisteps 2 -oversample 1")
#: what the experiment list does not hold
NOT_PLACING = "-default_F 100 -N 4 -phisteps 2 -oversample 1"


@pytest.fixture
def two_panels(tmp_path) -> xbragg.Experiment:
    """An experiment list of two panels (the second beside the first, turned 17 degrees), read back."""
    exp = xbragg.build_experiment(xbragg.options_from_flags(FLAGS))
    first = exp.panel
    c, s = np.cos(0.3), np.sin(0.3)
    second = dataclasses.replace(first, origin_m=first.origin_m + 4.5e-3 * first.fast_axis,
                                 fast_axis=c * first.fast_axis + s * first.normal,
                                 normal=-s * first.fast_axis + c * first.normal, name="right")
    path = tmp_path / "two.expt"
    write_experiment_list(path, [dataclasses.replace(exp, detector=Detector((first, second))).to_expt()])
    placed = xbragg.from_expt(str(path), options=NOT_PLACING)
    assert placed.detector_setup is None and len(placed.detector) == 2 and placed.scan.phisteps == 2
    return placed


def test_the_panels_match_render_at_the_files_values(two_panels):
    p = PanelParameters.from_experiment(two_panels)
    assert p.panel_shift_mm.shape == (2, 3) and not bool(p.panel_shift_mm.any())
    for panel, image in enumerate(Simulator(two_panels, p).panels(p)):
        ref = xbragg.render(two_panels, backend="torch", panel=panel).image
        assert image.shape == ref.shape == (8, 10) and float(ref.max()) > 0
        rel = float((image - ref).abs().max() / ref.abs().max())
        assert rel <= 1e-12, (panel, rel)


def test_panel_parameters_render_a_flags_experiment_bit_for_bit():
    exp = xbragg.build_experiment(xbragg.options_from_flags(
        "-cell 100 100 100 90 90 90 -default_F 100 -N 5 -detpixels 16 -twotheta 4"))
    image = simulate(exp, PanelParameters.from_experiment(exp))
    assert torch.equal(image, xbragg.render(exp, backend="torch").image)


def test_a_shifted_panel_renders_as_the_panel_moved(two_panels):
    shift_mm = np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 1.5]])
    p = PanelParameters.from_experiment(two_panels).replace(panel_shift_mm=torch.tensor(shift_mm))
    moved = []
    for panel, (dx, dy, dz) in zip(two_panels.detector, shift_mm * 1e-3):
        moved.append(dataclasses.replace(panel, origin_m=panel.origin_m + dx * panel.fast_axis
                                         + dy * panel.slow_axis + dz * panel.normal))
    rebuilt = dataclasses.replace(two_panels, detector=Detector(tuple(moved)))
    sim = Simulator(two_panels, p)
    for panel in range(2):
        ref = xbragg.render(rebuilt, backend="torch", panel=panel).image
        rel = float((sim(p, panel) - ref).abs().max() / ref.abs().max())
        assert rel <= 1e-12, (panel, rel)
    assert not torch.equal(sim(p, 1), xbragg.render(two_panels, backend="torch", panel=1).image)


def test_gradcheck_of_the_panel_shifts(two_panels):
    p0 = PanelParameters.from_experiment(two_panels)
    sim = Simulator(two_panels, p0)
    norm = max(float(image.max()) for image in sim.panels(p0))          # outputs of order 1

    def f(shift):
        return torch.cat([im.reshape(-1) for im in sim.panels(p0.replace(panel_shift_mm=shift))]) / norm
    shift = torch.zeros((2, 3), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (shift,), eps=1e-6, atol=1e-7, rtol=1e-5)
    jacobian = torch.autograd.functional.jacobian(f, shift)             # (pixels of both panels, 2, 3)
    # every shift moves its own panel's image, and only that
    assert float(jacobian.abs().amin(dim=0).max()) == 0.0
    assert float(jacobian[:80, 0].abs().max(dim=0).values.min()) > 1e-2
    assert float(jacobian[80:, 1].abs().max(dim=0).values.min()) > 1e-2
    assert float(jacobian[:80, 1].abs().max()) == 0.0 and float(jacobian[80:, 0].abs().max()) == 0.0


@pytest.mark.parametrize("name", ["a_A", "gamma_deg", "misset_z_deg", "phi0_deg", "wavelength_A", "fluence"])
def test_gradcheck_of_the_crystal_and_beam(two_panels, name):
    p0 = PanelParameters.from_experiment(two_panels)
    sim = Simulator(two_panels, p0)
    norm = float(sim(p0, 1).max())
    unit = float(p0.fluence) if name == "fluence" else 1.0              # ~1e29 photons/m^2

    def f(x):
        return sim(p0.replace(**{name: x * unit}), 1) / norm
    x = torch.tensor(float(getattr(p0, name)) / unit, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-7, rtol=1e-5)
    assert float(torch.autograd.functional.jacobian(f, x).abs().max()) > 1e-3


def test_the_nanobragg_parameters_name_the_panel_parameters(two_panels):
    with pytest.raises(ValueError, match="PanelParameters"):
        Parameters.from_experiment(two_panels)
