"""``array_namespace`` for the kernel, remembered per combination of array types.

array_api_compat's lookup costs about 7 us a call, and the kernel asks some twenty
times per tile (5% of a NumPy tile); the namespace depends only on the arrays' types.
"""
from __future__ import annotations

from typing import Any

from array_api_compat import array_namespace as _lookup

_BY_TYPES: dict[tuple[type, ...], Any] = {}


def array_namespace(*arrays) -> Any:
    """The array-API namespace of ``arrays`` (as :func:`array_api_compat.array_namespace`)."""
    key = tuple(type(a) for a in arrays)
    xp = _BY_TYPES.get(key)
    if xp is None:
        xp = _BY_TYPES[key] = _lookup(*arrays)
    return xp
