"""The error a malformed resource field raises, and how values are described in its message."""

from __future__ import annotations

import json
from collections.abc import Mapping

_MISSING = object()


def describe_value(value: object) -> str:
    """A short, JSON-flavoured description of a value for error messages."""
    if value is _MISSING:
        return "nothing (the field is missing)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{json.dumps(value)} (boolean)"
    if isinstance(value, int | float):
        return f"{json.dumps(value)} (number)"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"{json.dumps(shown)} (string)"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__


class SpecError(ValueError):
    """A field of a resource does not have the shape golive needs."""

    def __init__(self, path: str, expected: str, found: object = _MISSING) -> None:
        self.path = path
        self.expected = expected
        self.found = describe_value(found)
        super().__init__(f"{path}: expected {expected}, found {self.found}")
