"""Checked access to parsed JSON: every value knows its JSON path, so errors can name it.

A :class:`JsonValue` wraps one value of a parsed document with its path
(``$.detector[0].panels[1].origin``) and the file it came from; its accessors check the
type and raise :class:`InputError` naming the file, the path and what was expected.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from xbragg.errors import InputError

__all__ = ["JsonValue", "load_json"]

_MISSING = object()


def _describe(value: Any) -> str:
    """A short description of a JSON value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else "a string"
    return repr(value)


def load_json(path: str | os.PathLike[str]) -> JsonValue:
    """Parse the JSON file ``path``; :class:`InputError` (with the line) when it cannot be read or parsed."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=name) from None
    try:
        value = json.loads(data)
    except UnicodeDecodeError:
        raise InputError("not a text (UTF-8) JSON file", path=name) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", path=name, line=exc.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path=name) from None
    return JsonValue(value, "$", name)


class JsonValue:
    """One value of a parsed JSON document, with its path (``$`` is the document) and file."""

    __slots__ = ("value", "path", "file")

    def __init__(self, value: Any, path: str, file: str) -> None:
        self.value = value
        self.path = path
        self.file = file

    def error(self, expected: str) -> InputError:
        """An :class:`InputError` saying that this value should be ``expected``."""
        return InputError(f"{self.path}: expected {expected}, found {_describe(self.value)}", path=self.file)

    # containers ---------------------------------------------------------------------------

    def has(self, key: str) -> bool:
        """Whether this object has ``key`` (with any value, null included)."""
        return isinstance(self.value, dict) and key in self.value

    def get(self, key: str, default: Any = _MISSING) -> JsonValue:
        """The member ``key`` of this object; a missing key is an error unless ``default`` is given."""
        if not isinstance(self.value, dict):
            raise self.error("an object")
        if key in self.value:
            return JsonValue(self.value[key], f"{self.path}.{key}", self.file)
        if default is _MISSING:
            raise InputError(f"{self.path}: missing key {key!r}", path=self.file)
        return JsonValue(default, f"{self.path}.{key}", self.file)

    def items(self, *, length: int | None = None) -> list[JsonValue]:
        """The elements of this list (of ``length`` elements when given)."""
        if not isinstance(self.value, list):
            raise self.error("a list" if length is None else f"a list of {length}")
        if length is not None and len(self.value) != length:
            raise self.error(f"a list of {length}")
        return [JsonValue(v, f"{self.path}[{i}]", self.file) for i, v in enumerate(self.value)]

    def mapping(self) -> dict[str, JsonValue]:
        """The members of this object."""
        if not isinstance(self.value, dict):
            raise self.error("an object")
        return {k: JsonValue(v, f"{self.path}.{k}", self.file) for k, v in self.value.items()}

    # scalars ------------------------------------------------------------------------------

    def number(self) -> float:
        """A finite number (JSON integers included; booleans are not numbers)."""
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.error("a finite number")
        return float(v)

    def integer(self) -> int:
        """An integer (a float with an integral value, as some writers produce, is accepted)."""
        v = self.value
        if isinstance(v, bool):
            raise self.error("an integer")
        if isinstance(v, int):
            return v
        if isinstance(v, float) and math.isfinite(v) and v == int(v):
            return int(v)
        raise self.error("an integer")

    def string(self) -> str:
        """A string."""
        if not isinstance(self.value, str):
            raise self.error("a string")
        return self.value

    def optional_string(self) -> str | None:
        """A string or null."""
        return None if self.value is None else self.string()

    def numbers(self, length: int) -> np.ndarray:
        """A list of ``length`` finite numbers, as float64."""
        return np.array([item.number() for item in self.items(length=length)], dtype=np.float64)

    def vector(self, *, nonzero: bool = False) -> np.ndarray:
        """Three finite numbers; ``nonzero``: a vector of non-zero length."""
        v = self.numbers(3)
        if nonzero and not float(v @ v) > 0.0:
            raise self.error("a vector of non-zero length")
        return v

    def matrix(self) -> np.ndarray:
        """Nine finite numbers, a 3x3 matrix in row-major order (scitbx ``mat3``)."""
        return self.numbers(9).reshape(3, 3)
