"""Device neutrality of the kernel: no host round trips, dtype and device taken from the inputs.

``xbragg.kernel.intensity.tile_intensity`` runs here directly on kernel inputs made by
``xbragg.render.kernel_inputs`` (render itself does host work between tiles: the
interpolation fall-back report), for configurations that reach every branch of the
kernel:

- PyTorch ``meta`` tensors have no data: any ``.item()``, ``bool()``, ``float()``,
  boolean-mask index or ``nonzero`` raises, so a kernel that finishes there made no
  host round trip, and its outputs must be ``meta`` tensors of the working dtype;
- array_api_strict on its non-default ``Device("device1")`` raises on any array that
  mixes devices (a constant created without ``device=``) and on NumPy conversions;
  the values must equal NumPy's;
- on CUDA, ``torch.cuda.set_sync_debug_mode("error")`` raises on every synchronizing
  call (skipped without a GPU).
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import xbragg
from xbragg.backends import to_numpy
from xbragg.io.hkl import HKLTable
from xbragg.kernel.intensity import tile_intensity
from xbragg.render import kernel_inputs

BASE = ("-cell 60 70 80 80 95 105 -lambda 1.2 -distance 80 -pixel 0.1 -detpixels 6 -Na 3 -Nb 2 -Nc 4 "
        "-default_F 20 -oversample 2 -polar 0.6")
CASES = {
    "plain": "",
    "interpolation": "-interpolate",
    "carryover": "--phi-carryover -phi 0 -osc 2 -phisteps 3",
    "quirks": "-oversample_thick -oversample_polar -oversample_omega -detector_thick 100 -thicksteps 2",
    "dmin_water": "-dmin 3 -water 20 -nopolar",
    "curved_point": "-curved_det -point_pixel -twotheta 10",
    "round": "-round_xtal -fudge 1.3 -mosaic 0.5 -mosaic_domains 3",
    "gauss": "-gauss_xtal -divergence 0.5 -divsteps 2 -dispersion 1 -dispsteps 2",
    "tophat": "-tophat_spots -detector_thick 50 -detector_abs 200",
    "everything": "-interpolate --phi-carryover -phi 0 -osc 1 -phisteps 2 -oversample_polar -dmin 2 "
                  "-mosaic 0.3 -mosaic_domains 2 -N 1",
}
PIXELS = 7   # slow, fast below: a tile crossing a row


def _table() -> HKLTable:
    F = np.random.default_rng(3).uniform(1, 100, size=(9, 9, 9))
    return HKLTable(-4, 4, -4, 4, -4, 4, F, F.size)


def experiment(case: str):
    import dataclasses
    opts = xbragg.options_from_flags(f"{BASE} {CASES[case]}")
    exp = xbragg.build_experiment(opts)
    if "-interpolate" in CASES[case]:
        exp = dataclasses.replace(exp, crystal=dataclasses.replace(exp.crystal, structure_factors=_table()),
                                  interpolate=True)
    return exp


def _pixels(xp, device):
    spix = xp.asarray(np.array([0, 0, 1, 1, 2, 5, 5]), dtype=xp.int64, device=device)
    fpix = xp.asarray(np.array([4, 5, 0, 3, 2, 1, 5]), dtype=xp.int64, device=device)
    valid = xp.asarray(np.array([True, True, False, True, True, True, True]), device=device)
    return spix, fpix, valid


def run_kernel(exp, xp, device, dtype, *, valid: bool, record: bool):
    """tile_intensity on ``device`` with state flags there too; returns every output array."""
    inp = kernel_inputs(exp, xp, device, dtype)
    spix, fpix, mask = _pixels(xp, device)
    interp = xp.asarray(True, device=device) if exp.interpolate else None
    carry = xp.asarray(False, device=device) if exp.phi_carryover else None
    rec = {} if record else None
    outputs = tile_intensity(inp, spix, fpix, valid=mask if valid else None, interp_active=interp,
                             carry_started=carry, record=rec)
    arrays = {"value": outputs[0]}
    if outputs[1] is not None:
        arrays["interp_active"] = outputs[1]["active"]
        arrays["first_hkl"] = outputs[1]["first_hkl"]
    if exp.phi_carryover:
        arrays["carry_started"] = outputs[2]
    for key, val in (rec or {}).items():
        if val is not None and hasattr(val, "shape"):
            arrays[f"record.{key}"] = val
    return arrays


#: outputs in the working dtype, and boolean state flags
FLOAT_OUTPUTS = ("value", "first_hkl", "record.I", "record.omega", "record.hkl", "record.F_cell", "record.polar")
BOOL_OUTPUTS = ("interp_active", "carry_started", "record.keep", "record.use_tri")


def check_dtypes(arrays: dict, dtype, bool_dtype) -> None:
    for name, arr in arrays.items():
        if name in FLOAT_OUTPUTS:
            assert arr.dtype == dtype, name
        elif name in BOOL_OUTPUTS:
            assert arr.dtype == bool_dtype, name


@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_kernel_on_torch_meta_makes_no_host_round_trip(case, dtype_name):
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xp
    exp = experiment(case)
    dtype = getattr(torch, dtype_name)
    meta = torch.device("meta")
    for valid, record in ((False, False), (True, False), (True, True)):
        arrays = run_kernel(exp, xp, meta, dtype, valid=valid, record=record)
        assert arrays["value"].shape == (PIXELS,)
        for name, arr in arrays.items():
            assert arr.device.type == "meta", name
        check_dtypes(arrays, dtype, torch.bool)


@pytest.mark.parametrize("strictest", [False, True], ids=["strict", "strictest"])
@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_kernel_on_array_api_strict_device1_stays_there(case, dtype_name, strictest):
    xs = pytest.importorskip("array_api_strict")
    import array_api_compat.numpy as xnp
    exp = experiment(case)
    dev = xs.Device("device1")
    flags = dict(boolean_indexing=False, data_dependent_shapes=False, enabled_extensions=()) if strictest else {}
    with xs.ArrayAPIStrictFlags(**flags):
        arrays = run_kernel(exp, xs, dev, getattr(xs, dtype_name), valid=True, record=True)
    for name, arr in arrays.items():
        assert arr.device == dev, name
    check_dtypes(arrays, getattr(xs, dtype_name), xs.bool)
    ref = run_kernel(exp, xnp, None, getattr(np, dtype_name), valid=True, record=False)["value"]
    tol = 1e-12 if dtype_name == "float64" else 1e-5
    np.testing.assert_allclose(to_numpy(arrays["value"]), np.asarray(ref), rtol=tol,
                               atol=tol * float(np.max(np.abs(ref))))


def _cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch
    return torch.cuda.is_available()


@pytest.mark.skipif(not _cuda(), reason="no CUDA device")
@pytest.mark.parametrize("dtype_name", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_kernel_on_cuda_never_synchronizes(case, dtype_name):
    import torch
    import array_api_compat.torch as xp
    exp = experiment(case)
    dev = torch.device("cuda")
    dtype = getattr(torch, dtype_name)
    inp = kernel_inputs(exp, xp, dev, dtype)               # host-to-device copies happen here
    spix, fpix, valid = _pixels(xp, dev)
    interp = torch.ones((), dtype=torch.bool, device=dev) if exp.interpolate else None
    carry = torch.zeros((), dtype=torch.bool, device=dev) if exp.phi_carryover else None
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        outputs = tile_intensity(inp, spix, fpix, valid=valid, interp_active=interp, carry_started=carry)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert outputs[0].device.type == "cuda" and outputs[0].dtype == dtype
    ref = run_kernel(exp, xp, torch.device("cpu"), dtype, valid=True, record=False)["value"]
    tol = 1e-12 if dtype_name == "float64" else 1e-5
    np.testing.assert_allclose(to_numpy(outputs[0]), to_numpy(ref), rtol=tol,
                               atol=tol * float(to_numpy(ref).max()))
