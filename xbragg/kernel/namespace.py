"""``array_namespace`` for the kernel, with a shortcut for NumPy arrays.

array_api_compat's lookup costs about 7 us a call, and the kernel asks some twenty
times per tile: 5% of a NumPy tile.  The shortcut keeps no state, so that
torch.compile, which traces these calls, sees nothing change between calls.
"""
from __future__ import annotations

from typing import Any

import array_api_compat.numpy as _numpy_namespace
import numpy as np
from array_api_compat import array_namespace as _lookup


def array_namespace(*arrays) -> Any:
    """The array-API namespace of ``arrays`` (as :func:`array_api_compat.array_namespace`)."""
    if all(type(a) is np.ndarray for a in arrays):
        return _numpy_namespace
    return _lookup(*arrays)
