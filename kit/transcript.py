"""Console transcripts of kubectl commands, as the docs show them: the demo's output block
(README.md's demo block; tests/docs compares them and `make docs` copies it there) and the
webhook demo's."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def transcript(kubectl: Kubectl, commands: list[list[str]], prompt: str = "$") -> str:
    """`$ kubectl ...` and its output for each command, as a terminal shows them."""
    parts = []
    for args in commands:
        result = kubectl(*args)
        parts.append(f"{prompt} kubectl {shlex.join(args)}\n{result.stdout}{result.stderr}")
    return "".join(parts)
