"""Recover a perturbed cell length and misset angle from a target image by gradient descent.

Run it with ``python docs/refinement_example.py`` (PyTorch needed).  The target image is
simulated at the true parameters; the refinement starts from cell length a off by 0.5%
and the misset about z off by 0.3 degree, and fits both by L-BFGS on the square roots
of the intensities (which weights weak and strong pixels more evenly than the raw
counts).  See docs/refinement.md.
"""
from __future__ import annotations

import time

import torch

import xbragg
from xbragg.differentiable import Parameters, Simulator

FLAGS = ("-cell 70 80 90 75 85 95 -default_F 100 -misset 10 20 30 -lambda 1.0 -N 5 "
         "-distance 50 -pixel 0.1 -detpixels {size}")
REFINED = ("a_A", "misset_z_deg")


def main(size: int = 64, iterations: int = 30, a_error: float = 0.005, misset_error_deg: float = 0.3,
         extra_flags: str = "", verbose: bool = True) -> dict:
    """Refine a_A and misset_z_deg from a perturbed start; returns truth, start, result and timings.

    ``size``: detector pixels along each side; ``extra_flags``: more nanoBragg flags (the
    tests pass ``-oversample 1`` for speed; by default the crystal size selects 3).
    """
    exp = xbragg.build_experiment(xbragg.options_from_flags(FLAGS.format(size=size) + " " + extra_flags))
    truth = Parameters.from_experiment(exp)                 # float64 torch tensors
    sim = Simulator(exp, truth)
    with torch.no_grad():
        target = sim(truth)

    # the unknowns, scaled to be of order 1: a in percent of its start, misset in degrees
    a_start = float(truth.a_A) * (1.0 + a_error)
    z_start = float(truth.misset_z_deg) + misset_error_deg
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)

    def params_of(x):
        return truth.replace(a_A=a_start * (1.0 + x[0] / 100.0), misset_z_deg=z_start + x[1])

    floor = 1e-6 * float(target.max())                      # keeps sqrt differentiable at 0
    target_sqrt = torch.sqrt(target + floor)

    def loss_of(x):
        image = sim(params_of(x))
        return torch.sum((torch.sqrt(image + floor) - target_sqrt) ** 2) / target.numel()

    # one L-BFGS iteration per step (its history carries over between steps), to print progress
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=10, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-14, tolerance_change=1e-16)
    evaluations = 0

    def closure():
        nonlocal evaluations
        opt.zero_grad()
        loss = loss_of(x)
        loss.backward()
        evaluations += 1
        return loss

    t0 = time.perf_counter()
    history = []
    previous = None
    for it in range(iterations):
        opt.step(closure)
        with torch.no_grad():
            loss = float(loss_of(x))
            p = params_of(x)
        history.append((loss, float(p.a_A), float(p.misset_z_deg)))
        if verbose:
            print(f"iter {it:3d}  loss {loss:.3e}  a = {float(p.a_A):.6f} A  "
                  f"misset_z = {float(p.misset_z_deg):.6f} deg")
        if previous is not None and abs(previous - loss) <= 1e-12 * previous:
            break                                           # at the rounding floor
        previous = loss
    elapsed = time.perf_counter() - t0
    final = params_of(x.detach())
    result = dict(
        truth={k: float(getattr(truth, k)) for k in REFINED},
        start={"a_A": a_start, "misset_z_deg": z_start},
        refined={k: float(getattr(final, k)) for k in REFINED},
        history=history, evaluations=evaluations, seconds=elapsed)
    if verbose:
        t, r = result["truth"], result["refined"]
        print(f"truth    a = {t['a_A']:.6f} A  misset_z = {t['misset_z_deg']:.6f} deg")
        print(f"refined  a = {r['a_A']:.6f} A  misset_z = {r['misset_z_deg']:.6f} deg  "
              f"({evaluations} image evaluations with gradients, {elapsed:.1f} s)")
    return result


if __name__ == "__main__":
    main()
