"""Static refusal of Rego modules that reach outside the policy input.

A go-live decision must depend only on the input golive hands Rego, so network, runtime and
non-deterministic builtins are refused at load time, before any engine sees the module. This is
in addition to the engines' own behaviour, which differs: OPA has `http.send`; regopy lacks it
and evaluates a call to it to an error term that can still let the rule produce an entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (pattern on code with comments and strings blanked, why it is refused)
FORBIDDEN: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![.\w])http\s*\.\s*send\b"), "http.send makes network calls"),
    (re.compile(r"(?<![.\w])net\s*\.\s*[A-Za-z_]\w*"), "net.* builtins are refused (DNS lookups)"),
    (re.compile(r"(?<![.\w])opa\s*\.\s*runtime\b"), "opa.runtime exposes the server's environment"),
    (
        re.compile(r"(?<![.\w])rego\s*\.\s*metadata\b"),
        "rego.metadata is not supported by regopy; golive reads METADATA itself",
    ),
    (
        re.compile(r"(?<![.\w])time\s*\.\s*now_ns\b"),
        "time.now_ns makes decisions irreproducible; use input.context.now",
    ),
    (
        # Engines disagree: regopy's time.parse_rfc3339_ns is undefined for timestamps ending
        # in "Z" (every Kubernetes timestamp) where OPA answers; an undefined condition can
        # silently admit. Time arithmetic is done in Python and handed over as facts.
        re.compile(r"(?<![.\w])time\s*\.\s*(?!now_ns\b)[A-Za-z_]\w*"),
        "time.* builtins are refused (regopy and OPA disagree on RFC 3339 'Z' timestamps); "
        "use the facts golive computes: input.context.now, input.exceptions[].expiresAt",
    ),
    (re.compile(r"(?<![.\w])rand\s*\.\s*\w+"), "rand.* makes decisions irreproducible"),
    (re.compile(r"(?<![.\w])uuid\s*\.\s*\w+"), "uuid.* makes decisions irreproducible"),
    (
        re.compile(r"(?<![.\w])with\s+input\s+as\b"),
        "`with input as` crashes regopy; override one key (`with input.agent as ...`)",
    ),
)


@dataclass(frozen=True)
class ForbiddenUse:
    line: int
    column: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line}:{self.column}: {self.text}: {self.why}"


def blank_comments_and_strings(text: str) -> str:
    """The module with comments and string contents replaced by spaces (newlines kept).

    So that a message like "http.send is not allowed" or a comment never trips the scan,
    while line and column numbers stay those of the original text.
    """
    out: list[str] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char == "#":
            end = text.find("\n", index)
            end = length if end == -1 else end
            out.append(" " * (end - index))
            index = end
        elif char == '"':
            out.append('"')
            index += 1
            while index < length and text[index] not in '"\n':
                step = 2 if text[index] == "\\" and index + 1 < length else 1
                out.append(" " * step)
                index += step
            if index < length and text[index] == '"':
                out.append('"')
                index += 1
        elif char == "`":
            end = text.find("`", index + 1)
            end = length - 1 if end == -1 else end
            body = text[index + 1 : end]
            out.append("`" + "".join("\n" if c == "\n" else " " for c in body) + "`")
            index = end + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)[:length]


def forbidden_uses(text: str) -> list[ForbiddenUse]:
    code = blank_comments_and_strings(text)
    found = []
    for pattern, why in FORBIDDEN:
        for match in pattern.finditer(code):
            line = code.count("\n", 0, match.start()) + 1
            column = match.start() - (code.rfind("\n", 0, match.start()) + 1) + 1
            found.append(ForbiddenUse(line, column, " ".join(match.group(0).split()), why))
    return sorted(found, key=lambda use: (use.line, use.column))
