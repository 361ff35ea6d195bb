"""Help text is readable at any width: every option name whole, in a pipe or a narrow pager."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import typer

from controller.cli import app


def commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) of every leaf command (Typer's own click: duck-typed)."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            found += commands(command, path)
        else:
            found.append((path, command))
    return found


EVERY_COMMAND = commands(typer.main.get_command(app))


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path, _ in EVERY_COMMAND}
    assert {"check", "run", "policy test", "sign approval"} <= names


@pytest.mark.parametrize("width", [40, 80])
@pytest.mark.parametrize(
    ("path", "command"), EVERY_COMMAND, ids=[" ".join(path) for path, _ in EVERY_COMMAND]
)
def test_help_names_every_option_whole(path: tuple[str, ...], command: Any, width: int) -> None:
    """What `golive <command> --help | less` shows: no name cut ("--alert-rules-nam…")."""
    proc = subprocess.run(
        [sys.executable, "-m", "controller.cli", *path, "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": str(width)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    shown = proc.stdout.split()
    for param in command.params:
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("-"):
                assert any(word.rstrip(",") == name for word in shown), (name, proc.stdout)
