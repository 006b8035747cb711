"""The backend layer, the one place that knows library names (NumPy, PyTorch, CuPy, strict).

Selection (:mod:`.select`), the facts the renderer plans by (:mod:`.facts`),
the kernel's namespace with its per-backend helpers (:mod:`.kernel_namespace`)
and kernel compilation (:mod:`.compile`).  Optional backends are imported only
when asked for; a missing one raises a clear error naming the extra to install.
"""
from .compile import COMPILE_MIN_EVALUATIONS, compiled_kernel
from .facts import FACTS, BackendFacts
from .kernel_namespace import kernel_namespace, kernel_namespace_of
from .select import (BACKENDS, BackendError, backend_of, namespace, resolve_device, resolve_dtype,
                     to_numpy)

__all__ = ["BACKENDS", "COMPILE_MIN_EVALUATIONS", "FACTS", "BackendError", "BackendFacts", "backend_of",
           "compiled_kernel", "kernel_namespace", "kernel_namespace_of", "namespace", "resolve_device",
           "resolve_dtype", "to_numpy"]
