"""The doc tests' own `make demo`, and the `make docs` rewrites made at the end of the run."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.executable_docs import REPO, UPDATE, DemoRun, Rewrites

# An outer make (`make test`) passes these down; a reader's shell has none, and with them a
# nested make prints "Entering directory" lines that no doc shows.
MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "GOLIVE_UPDATE_DOCS")


def reader_env(demo_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES}
    env["GOLIVE_DEMO_DIR"] = demo_dir  # never a developer's .golive/demo
    return env


def scratch_checkout(workdir: Path) -> Path:
    """The repository's top-level entries as links: files written by a doc's command (say
    `> golive.sarif`) land here instead of in the work tree."""
    workdir.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in (".git", ".golive"):
            (workdir / entry.name).symlink_to(entry)
    return workdir


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """`make demo` as a reader runs it, then `eval "$(make -s demo-env)"` for their shell."""
    directory = tmp_path_factory.mktemp("docs") / "demo"
    env = reader_env(str(directory))
    try:
        up = subprocess.run(
            ["make", "demo"], cwd=REPO, env=env, capture_output=True, text=True, timeout=3600
        )
        assert up.returncode == 0, f"`make demo` failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        # The environment the docs tell a reader to set up, taken from the documented command.
        shell = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", 'eval "$(make -s demo-env)"; env -0'],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.returncode == 0, f"`make -s demo-env` failed:\n{shell.stderr}"
        reader = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
        yield DemoRun(directory, up.stdout, reader, scratch_checkout(directory.parent / "repo"))
    finally:
        down = subprocess.run(
            ["make", "down"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
        if down.returncode != 0:
            print(f"`make down` failed: {shlex.quote(down.stderr)}")


@pytest.fixture(scope="session")
def rewrites() -> Iterator[Rewrites]:
    """`make docs`: the collected rewrites go to the files once every example has run."""
    pending = Rewrites()
    yield pending
    if UPDATE:
        for path in pending.apply():
            print(f"rewrote {path.relative_to(REPO)}")
