"""The documented pre-commit path, with the real pre-commit, in a git repository that holds only
AgentDeployment manifests (docs/ci.md): `pre-commit try-repo <golive checkout> golive-check`.

Found in review: it exited 2 ("policy directory policies does not exist"). pre-commit installs
golive from this checkout into its own venv (building the embedded engine with Go), and the
hook decides with the SAFE library that ships inside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kit.controlplane import REPO

pytestmark = pytest.mark.e2e

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)


def try_repo(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PRE_COMMIT_HOME"] = str(home)  # its own cache: a clean install of the hook
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(REPO), "golive-check", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_pre_commit_hook_gives_the_right_verdicts_in_a_manifests_only_repo(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "agents-repo"
    (repo / "deploy").mkdir(parents=True)
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    shutil.copy(REPO / "examples" / "invoice-triage.yaml", repo / "deploy")
    git(repo, "add", ".")
    home = tmp_path / "pre-commit-home"

    compliant = try_repo(repo, home)
    assert compliant.returncode == 0, compliant.stdout + compliant.stderr
    assert "golive check" in compliant.stdout and "Passed" in compliant.stdout

    shutil.copy(REPO / "examples" / "support-bot-blocked.yaml", repo / "deploy")
    git(repo, "add", ".")
    blocked = try_repo(repo, home)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "Failed" in blocked.stdout
    assert "BLOCKED  agents/support-bot" in blocked.stdout
    assert "golive.ownership.single_owner" in blocked.stdout
    assert "does not exist" not in blocked.stdout
