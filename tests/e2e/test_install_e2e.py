"""An installed golive, outside the checkout: the wheel carries the embedded engine (OPA built
from libopa/ by setup.py), and `golive check` decides with it from any folder.

This is the path a CI job of a team that only has manifests takes: `pip install golive`, then
`golive check deploy/`. The wheel is built from this checkout and installed into a fresh venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kit.controlplane import REPO

pytestmark = pytest.mark.e2e


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh venv with golive installed from a wheel of this checkout."""
    root = tmp_path_factory.mktemp("install")
    # Build from a copy of the tracked files only, so nothing built in place in the checkout
    # (the editable install's library) can leak into the wheel.
    source = root / "source"
    tracked = run("git", "ls-files", "-z", cwd=REPO).split("\0")
    for name in filter(None, tracked):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_symlink():  # controller/bundled/ links to crds/ and policies/
            (source / name).symlink_to(os.readlink(REPO / name))
        elif (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    wheels = root / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, source, cwd=root)
    (wheel,) = wheels.glob("golive-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        libraries = [n for n in archive.namelist() if "controller/engine/_libopa" in n]
    assert libraries and libraries[0].endswith(".so"), "the wheel carries no embedded engine"
    # Platform-specific, as a wheel with a compiled library must be.
    assert "-none-any" not in wheel.name, wheel.name
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=root)
    pip = venv / "bin" / "pip"
    run(pip, "install", "-q", "-c", REPO / "constraints.txt", wheel, cwd=root)
    return venv / "bin"


def clean_env(installed: Path) -> dict[str, str]:
    """The installed golive alone: no Go (not needed once installed), no checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{installed}:/usr/bin:/bin"
    return env


def golive_check(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed / "golive", "check", *args],
        cwd=cwd,
        env=clean_env(installed),
        capture_output=True,
        text=True,
        check=False,
    )


def results_of(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    report = json.loads(done.stdout)
    return {f"{a['namespace']}/{a['name']}": a["result"] for a in report["agents"]}


# A team's own rule, beside the SAFE library: agents must carry a cost-center label.
TEAM_RULE = """# METADATA
# title: Agents carry a cost center
# custom:
#   enforcement: deny
#   severity: medium
package golive.finance.cost_center

import rego.v1

deny contains {"field": "metadata.labels.cost-center", "msg": "no cost-center label"} if {
\tnot input.agent.metadata.labels["cost-center"]
}
"""


def test_installed_golive_checks_a_repository_of_manifests_only(
    installed: Path, tmp_path: Path
) -> None:
    """Found in review: a repository holding only manifests got exit 2 ("policy directory
    policies does not exist") from the documented CI paths. The SAFE library ships inside."""
    work = tmp_path / "team-repo"
    shutil.copytree(REPO / "examples", work / "deploy")
    done = golive_check(installed, work, "deploy/", "-o", "json")
    assert done.returncode == 1, done.stdout + done.stderr  # support-bot is blocked
    assert results_of(done) == {
        "agents/invoice-triage": "admitted",
        "agents/claims-summarizer": "admitted",
        "agents/support-bot": "blocked",
    }
    assert json.loads(done.stdout)["engine"] == "embedded"
    # A team's own policies come in addition...
    (work / "team-policies" / "finance" / "cost_center").mkdir(parents=True)
    (work / "team-policies" / "finance" / "cost_center" / "policy.rego").write_text(TEAM_RULE)
    added = golive_check(installed, work, "deploy/", "-o", "json", "--policies", "team-policies")
    assert results_of(added) == {name: "blocked" for name in results_of(done)}
    # ...or replace the library.
    alone = golive_check(
        installed, work, "deploy/", "-o", "json", "--no-safe-library", "-p", "team-policies"
    )
    assert results_of(alone) == {name: "blocked" for name in results_of(done)}
    findings = {f["policy"] for a in json.loads(alone.stdout)["agents"] for f in a["findings"]}
    assert findings == {"golive.finance.cost_center"}
    # The library that decided is the installed one, not the checkout's.
    where = subprocess.run(
        [installed / "python", "-c", "from controller.engine import libopa;"
         "print(libopa.LIBRARY_PATH); print(libopa.version())"],
        cwd=work, env=clean_env(installed), capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert not where[0].startswith(str(REPO)) and Path(where[0]).is_file()
    versions = (REPO / "scripts" / "versions.env").read_text()
    assert f"OPA_VERSION=v{where[1]}" in versions


def test_installed_golive_validates_against_the_shipped_crd_schemas(
    installed: Path, tmp_path: Path
) -> None:
    # Found in review: outside the checkout the schemas were looked up relative to the package
    # and a missing folder read as "no schemas", so a malformed manifest passed unchecked.
    manifest = (REPO / "examples" / "invoice-triage.yaml").read_text()
    assert "replicas: 2" in manifest
    (tmp_path / "bad.yaml").write_text(manifest.replace("replicas: 2", 'replicas: "two"'))
    done = golive_check(installed, tmp_path, "bad.yaml")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "spec.replicas" in done.stdout + done.stderr
