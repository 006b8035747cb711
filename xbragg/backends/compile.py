"""Compiling the kernel where the backend can (PyTorch's ``torch.compile``)."""
from __future__ import annotations

from .facts import FACTS

#: below this many kernel evaluations a one-off render loses more to compiling (about
#: 10 s in a fresh process on 2 cores) than it gains (about 3.5x per evaluation); the
#: supervisor frame (6.2e7) renders in ~4 s eager, so auto leaves it eager; repeated
#: renders (refinement, many frames) should pass compile=True
COMPILE_MIN_EVALUATIONS = 200_000_000


def compiled_kernel(backend: str, kernel, *, enabled: bool | None, evaluations: int):
    """``kernel`` compiled for ``backend`` when that pays, else ``kernel`` itself.

    PyTorch only: ``torch.compile`` fuses the kernel's elementwise chain into one
    loop (about 3.5x faster per tile on the CPU, after a one-off compilation of about
    ten seconds per process).  ``enabled=None`` compiles when the render
    has at least :data:`COMPILE_MIN_EVALUATIONS` evaluations.  Tiles must keep one
    shape (the renderer pads the last one) so that it compiles once.
    """
    if not FACTS[backend].compiles or enabled is False:
        return kernel
    if enabled is None and evaluations < COMPILE_MIN_EVALUATIONS:
        return kernel
    import warnings

    import torch
    compiled = torch.compile(kernel, dynamic=False)

    def run(*args, **kwargs):
        # tracing array_api_compat's cached helpers makes dynamo warn once per helper;
        # harmless here (they only inspect types), and noise on a user's terminal
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*lru_cache.*", category=UserWarning)
            return compiled(*args, **kwargs)
    return run
