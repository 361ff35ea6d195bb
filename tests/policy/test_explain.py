"""golive explain on every sample: a disallowed sample's policy fired, and the explanation
shows the deny body that produced the finding, expression by expression (file:row); on an
allowed sample it did not fire, and every deny body evaluated names the expression that failed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.check import explain
from controller.check.run import check
from controller.check.samples import SAMPLE_GLOB, policy_id_of, sample_observer, sample_time
from controller.check.schema import SchemaSet
from controller.engine.decision_pipeline import PolicySet
from controller.engine.factory import policy_set_from_library

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
SAMPLES = sorted(POLICIES.rglob(f"samples/*/{SAMPLE_GLOB}"))


@pytest.fixture(scope="module")
def policy_set() -> PolicySet:
    return policy_set_from_library("embedded")


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet()


def explained(path: Path, policy_set: PolicySet, schemas: SchemaSet) -> explain.Explanation:
    at = sample_time(path) or datetime.now(UTC)
    run = check([str(path)], [], policy_set, at, schemas, observer=sample_observer(path, at))
    policy = policy_id_of(path.parent.parent.parent, POLICIES)
    names = [a.agent for a in run.agents]
    return explain.explain(run, policy_set.bundle, policy, names[-1] if names else None, at)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(POLICIES)))
def test_explain_names_the_expressions_of_every_sample(
    path: Path, policy_set: PolicySet, schemas: SchemaSet
) -> None:
    result = explained(path, policy_set, schemas)
    module = policy_set.bundle.policies[result.policy].module
    denies = [a for a in result.attempts if a.is_deny]
    if path.parent.name == "disallowed":
        assert result.fired, explain.render(result)
        fired = [a for a in denies if a.succeeded]
        assert fired, explain.render(result)
        assert all(s.file == module and s.row > 0 and s.text for a in fired for s in a.steps)
        assert any(a.steps for a in fired)
    else:
        assert not result.fired, explain.render(result)
        assert not any(a.succeeded for a in denies)
        for attempt in denies:  # each stopped at an expression of the module, named
            assert attempt.steps, explain.render(result)
            assert attempt.steps[-1].file == module and attempt.steps[-1].row > attempt.row


def test_explain_command_shows_values_and_exits_0_whatever_the_verdict() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "controller.cli", "explain", "examples/support-bot-blocked.yaml",
         "--policy", "golive.ownership.single_owner"],
        capture_output=True, text=True, check=False, cwd=REPO, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "fired, 2 finding(s), deny" in proc.stdout
    assert "ownership/single_owner/policy.rego:17  some problem in people.problems" in proc.stdout
    assert 'owner = {"email": "support@example.com", "name": "Support Team"}' in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "golive.nope"], "--policy: expected a policy id of the library"),
        (["--policy", "single_owner"], "did you mean golive.ownership.single_owner?"),
        (["--policy", "golive.ownership.single_owner", "--agent", "x"],
         "--agent: no AgentDeployment named 'x' in the files (agents/support-bot)"),
    ],
)  # fmt: skip
def test_explain_usage_errors_name_the_option(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "controller.cli", "explain", "examples/support-bot-blocked.yaml",
         *args],
        capture_output=True, text=True, check=False, cwd=REPO, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in " ".join(proc.stderr.split()), proc.stderr
    assert "Traceback" not in proc.stderr
