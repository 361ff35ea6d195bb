"""golive's Pod Security checks against Kubernetes' own Pod Security admission fixtures.

k8s.io/pod-security-admission's test/testdata holds, per level and Kubernetes version, Pods that
the standard lets pass and Pods that one check refuses. Every Pod fixture of the newest version
of each file name is wrapped in an otherwise compliant AgentDeployment, in a namespace labelled
with the fixture's level (enforce and warn), and decided as `golive check` decides: a passing
Pod gets no Pod Security finding at all, a failing one is denied by golive.podsecurity.enforced
with a finding of the check the fixture is named after.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from controller.check.run import check
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext
from controller.engine.decision_pipeline import PolicySet, decide_agent
from controller.engine.factory import policy_set_from_library
from kit.controlplane import go_module_dir

REPO = Path(__file__).resolve().parents[2]
MODULE, VERSION = "k8s.io/pod-security-admission", "v0.37.2"
LEVELS = ("baseline", "restricted")
# Kubernetes' check ids; a fixture file is named after one, lower-cased, plus a number.
CHECKS = [
    "allowPrivilegeEscalation",
    "appArmorProfile",
    "capabilities_baseline",
    "capabilities_restricted",
    "hostNamespaces",
    "hostPathVolumes",
    "hostPorts",
    "hostProbesAndHostLifecycle",
    "privileged",
    "procMount",
    "procMount_restricted",
    "restrictedVolumes",
    "runAsNonRoot",
    "runAsUser",
    "seLinuxOptions",
    "seccompProfile_baseline",
    "seccompProfile_restricted",
    "sysctls",
    "windowsHostProcess",
]
# At restricted these baseline checks are replaced by a stricter twin (policy/check_*.go,
# OverrideCheckIDs), from the version given: a fixture of the baseline check fails there as its
# twin, and a passing one from an older version describes an older standard.
TWIN_AT_RESTRICTED = {
    "capabilities_baseline": ("capabilities_restricted", 22),
    "seccompProfile_baseline": ("seccompProfile_restricted", 19),
    "hostPathVolumes": ("restrictedVolumes", 0),
    "procMount": ("procMount_restricted", 35),
}
POD_SECURITY_POLICIES = ("golive.podsecurity.enforced", "golive.podsecurity.advisory")
ENFORCED = "golive.podsecurity.enforced"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Fixture:
    level: str
    minor: int  # the Kubernetes version folder, v1.<minor>
    outcome: str  # pass | fail
    path: Path

    @property
    def check(self) -> str | None:
        """The check a fixture is about (None for the base pods); at restricted, its twin."""
        stem = re.sub(r"\d*$", "", self.path.stem)
        by_lower = {check.lower(): check for check in CHECKS}
        check = by_lower.get(stem)
        if check is None and not stem.startswith("base"):
            raise AssertionError(f"{self.path}: names no known Pod Security check")
        if self.level == "restricted" and check in TWIN_AT_RESTRICTED:
            return TWIN_AT_RESTRICTED[check][0]
        return check

    @property
    def older_standard(self) -> bool:
        """A restricted fixture of a baseline check written before its twin replaced it."""
        stem = re.sub(r"\d*$", "", self.path.stem)
        twin = {c.lower(): v for c, v in TWIN_AT_RESTRICTED.items()}.get(stem)
        return self.level == "restricted" and twin is not None and self.minor < twin[1]

    @property
    def name(self) -> str:
        return f"{self.level}/v1.{self.minor}/{self.outcome}/{self.path.name}"


def newest_fixtures(testdata: Path) -> list[Fixture]:
    """Per level, outcome and file name, the fixture of the newest version folder."""
    newest: dict[tuple[str, str, str], Fixture] = {}
    for level in LEVELS:
        for folder in (testdata / level).iterdir():
            minor = int(folder.name.removeprefix("v1."))
            for outcome in ("pass", "fail"):
                for path in sorted((folder / outcome).glob("*.yaml")):
                    key = (level, outcome, path.name)
                    if key not in newest or newest[key].minor < minor:
                        newest[key] = Fixture(level, minor, outcome, path)
    return sorted(newest.values(), key=lambda f: f.name)


@cache
def fixture_folder() -> Path:
    return go_module_dir(MODULE, VERSION) / "test" / "testdata"


@cache
def policy_set() -> PolicySet:
    return policy_set_from_library("embedded")


def compliant_agent() -> dict[str, Any]:
    """The invoice-triage example: admitted, and restricted-compliant as it is."""
    docs = yaml.safe_load_all((REPO / "examples" / "invoice-triage.yaml").read_text())
    return next(d for d in docs if d and d.get("kind") == "AgentDeployment")


def agent_with_pod(pod: dict[str, Any]) -> dict[str, Any]:
    agent = copy.deepcopy(compliant_agent())
    template = agent["spec"]["template"]
    metadata = pod.get("metadata") or {}
    template["metadata"] = {
        "labels": template.get("metadata", {}).get("labels", {}),
        "annotations": metadata.get("annotations", {}),
    }
    template["spec"] = pod["spec"]
    return agent


def decide(pod: dict[str, Any], labels: dict[str, str]) -> tuple[bool, list[Any]]:
    """golive's verdict on an agent with this pod in a namespace with these labels: admitted,
    and its Pod Security findings."""
    verdict = decide_agent(
        policy_set(),
        read_agent(agent_with_pod(pod)),
        contracts=None,
        exceptions=[],
        context=PolicyContext(Operation.CHECK, NOW, labels),
    )
    decision = verdict.decision
    findings = [v for v in decision.violations if v.policy.startswith("golive.podsecurity.")]
    return decision.admitted, findings


def level_labels(level: str) -> dict[str, str]:
    return {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": level,
    }


def disagreement(fixture: Fixture) -> str | None:
    """Why golive disagrees with Kubernetes on this fixture, or None when it agrees."""
    pod = yaml.safe_load(fixture.path.read_text())
    admitted, findings = decide(pod, level_labels(fixture.level))
    said = [f"{f.policy} {f.field}: {f.message}" for f in findings]
    if fixture.outcome == "pass":
        return f"passes in Kubernetes, golive found {said}" if findings else None
    wanted = f"check {fixture.check};"
    if admitted or not any(f.policy == ENFORCED and wanted in f.message for f in findings):
        return f"refused by Kubernetes' {fixture.check}, golive (admitted={admitted}) said {said}"
    return None


def compared(fixtures: list[Fixture]) -> Iterator[tuple[Fixture, str | None]]:
    for fixture in fixtures:
        if not fixture.older_standard:
            yield fixture, disagreement(fixture)


def test_golive_agrees_with_every_pod_security_fixture_of_kubernetes() -> None:
    fixtures = newest_fixtures(fixture_folder())
    results = list(compared(fixtures))
    disagreements = [f"{f.name}: {why}" for f, why in results if why is not None]
    agreed = len(results) - len(disagreements)
    print(f"\nPod Security fixtures: golive agrees with Kubernetes on {agreed} of {len(results)}")
    # Every check at both levels, passing and failing, is among them (the fixtures are all read).
    assert len(results) >= 140
    assert {f.check for f, _ in results if f.outcome == "fail"} == set(CHECKS)
    assert not disagreements, "\n".join(disagreements)


def test_the_comparison_can_fail() -> None:
    """A fixture decided against the wrong level disagrees: the verdict is really compared."""
    fixtures = newest_fixtures(fixture_folder())
    restricted_fail = next(
        f
        for f in fixtures
        if f.level == "restricted" and f.outcome == "fail" and f.check == "runAsUser"
    )
    pod = yaml.safe_load(restricted_fail.path.read_text())
    admitted, findings = decide(pod, level_labels("baseline"))
    assert admitted and not [f for f in findings if f.policy == ENFORCED]
    admitted, findings = decide(pod, level_labels("restricted"))
    assert not admitted and any("check runAsUser;" in f.message for f in findings)


def test_without_labels_the_standard_warns_at_restricted_and_admits() -> None:
    """No enforce label: Kubernetes refuses nothing, so golive warns (restricted) and admits."""
    fixtures = newest_fixtures(fixture_folder())
    hostports = next(
        f
        for f in fixtures
        if f.level == "baseline" and f.outcome == "fail" and f.check == "hostPorts"
    )
    admitted, findings = decide(yaml.safe_load(hostports.path.read_text()), {})
    assert admitted
    assert findings and all(f.policy == "golive.podsecurity.advisory" for f in findings)
    assert any("check hostPorts;" in f.message for f in findings)
    assert all("golive's default" in f.message for f in findings)


def test_golive_check_takes_the_level_from_a_namespace_manifest(tmp_path: Path) -> None:
    """`golive check` with the agent's Namespace: its enforce label makes the finding a deny."""
    agent = compliant_agent()
    agent["spec"]["template"]["spec"]["containers"][0]["ports"][0]["hostPort"] = 8000
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": agent["metadata"]["namespace"], "labels": level_labels("baseline")},
    }
    docs = yaml.safe_load_all((REPO / "examples" / "invoice-triage.yaml").read_text())
    contract = next(d for d in docs if d and d.get("kind") == "AgentContract")
    alone = tmp_path / "agent.yaml"
    alone.write_text(yaml.safe_dump_all([agent, contract]))
    with_namespace = tmp_path / "namespace.yaml"
    with_namespace.write_text(yaml.safe_dump(namespace))

    def findings(*paths: Path) -> tuple[str, list[tuple[str, str]]]:
        run = check([str(p) for p in paths], [], policy_set(), NOW)
        assert not run.errors, run.errors
        (report,) = run.agents
        pod_security = [
            (f.policy, f.enforcement) for f in report.findings if "check hostPorts;" in f.message
        ]
        return report.result, pod_security

    assert findings(alone) == ("admitted", [("golive.podsecurity.advisory", "warn")])
    assert findings(alone, with_namespace) == ("blocked", [(ENFORCED, "deny")])
