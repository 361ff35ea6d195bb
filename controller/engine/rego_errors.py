"""Readable messages from rego-cpp's error terms.

rego-cpp reports errors as an S-expression such as
`(error 8:bad.rego|59|2 (errormsg 27:Invalid assignment operator) ...)`, where `N:` prefixes a
string of N characters and `|59|2` is the byte offset and length in the module. This turns that
into `bad.rego:6:5: Invalid assignment operator`, using the module texts for line and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ERROR = re.compile(r"\(error\b")
_COUNTED = re.compile(r"\s*(\d+):")
_LOCATION = re.compile(r"\|(\d+)\|(\d+)")
_ERRORMSG = re.compile(r"\(errormsg (\d+):")


def _counted_string(text: str, start: int) -> tuple[str, int] | None:
    match = _COUNTED.match(text, start)
    if not match:
        return None
    length = int(match.group(1))
    begin = match.end()
    return text[begin : begin + length], begin + length


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    # rego-cpp offsets count bytes of the UTF-8 source.
    prefix = text.encode("utf-8")[:offset].decode("utf-8", errors="ignore")
    line = prefix.count("\n") + 1
    column = len(prefix) - (prefix.rfind("\n") + 1) + 1
    return line, column


def describe_rego_errors(raw: str, modules: Mapping[str, str]) -> str:
    """`module:line:col: message; ...` for every error in `raw`; `raw` itself if none parse."""
    described: list[str] = []
    starts = [match.end() for match in _ERROR.finditer(raw)]
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(raw)
        chunk = raw[start:end]
        where = ""
        located = _counted_string(chunk, 0)
        if located is not None:
            name, after = located
            location = _LOCATION.match(chunk, after)
            if location and name in modules:
                line, column = line_and_column(modules[name], int(location.group(1)))
                where = f"{name}:{line}:{column}: "
            elif name:
                where = f"{name}: "
        message_match = _ERRORMSG.search(chunk)
        if message_match is None:
            continue
        length = int(message_match.group(1))
        message = chunk[message_match.end() : message_match.end() + length]
        described.append(f"{where}{message}")
    return "; ".join(described) if described else raw.strip()
