"""Status conditions and the owned Deployment: the pure half of the reconcile gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.domain.decision import Decision, Reason, Result, Violation, unknown
from controller.domain.status import build_status, status_changed
from controller.domain.workload import (
    admitted_generation,
    build_deployment,
    deployment_availability,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
AGENT = {
    "apiVersion": "golive.dev/v1alpha1",
    "kind": "AgentDeployment",
    "metadata": {"name": "bot", "namespace": "ns", "uid": "u-1", "generation": 3},
    "spec": {
        "replicas": 2,
        "template": {
            "metadata": {"labels": {"team": "x"}},
            "spec": {"containers": [{"name": "c", "image": "img:1"}]},
        },
    },
}
DENY = Violation("golive.p", "spec.owner", "bad owner", "deny")
WARN = Violation("golive.w", "spec.governance", "no cadence", "warn")


def decision(result: Result, *violations: Violation) -> Decision:
    reason = {
        Result.ADMITTED: Reason.COMPLIANT,
        Result.BLOCKED: Reason.VIOLATIONS,
        Result.UNKNOWN: Reason.ENGINE_UNAVAILABLE,
    }[result]
    return Decision(result, reason, "msg", violations, "embedded", "sha256:d")


def conditions(status: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["type"]: c for c in status["conditions"]}


def test_deployment_is_owned_labelled_and_records_the_generation() -> None:
    dep = build_deployment(AGENT, "sha256:d")
    (owner,) = dep["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "name": "bot",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["selector"] == {"matchLabels": {"golive.dev/agent": "bot"}}
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert labels["team"] == "x" and labels["app.kubernetes.io/managed-by"] == "golive"
    assert admitted_generation(dep) == 3
    assert AGENT["spec"]["template"]["metadata"]["labels"] == {"team": "x"}  # input untouched


def test_availability_follows_the_deployment_status() -> None:
    assert deployment_availability(None)[1] == "DeploymentNotFound"
    dep = {"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}
    assert deployment_availability(dep)[1] == "RolloutInProgress"
    dep["status"] = {
        "observedGeneration": 2,
        "availableReplicas": 2,
        "conditions": [{"type": "Available", "status": "True"}],
    }
    assert deployment_availability(dep)[:2] == ("True", "DeploymentAvailable")


def test_blocked_with_an_older_generation_running() -> None:
    status = build_status(
        generation=3,
        decision=decision(Result.BLOCKED, DENY),
        running_generation=2,
        availability=("True", "DeploymentAvailable", "2 available"),
        previous=None,
        now=NOW,
    )
    c = conditions(status)
    assert c["Admitted"]["status"] == "False" and c["Admitted"]["reason"] == "Blocked"
    assert "generation 2 keeps running" in c["Admitted"]["message"]
    assert c["PolicyCompliant"]["status"] == "False"
    assert c["Ready"]["status"] == "True"
    assert status["admittedGeneration"] == 2 and status["observedGeneration"] == 3
    assert status["violations"] == [DENY.to_dict()]


def test_unknown_is_never_admitted() -> None:
    d = unknown(Reason.ENGINE_UNAVAILABLE, "opa down", "remote", "sha256:d")
    status = build_status(
        generation=1,
        decision=d,
        running_generation=None,
        availability=("False", "DeploymentNotFound", "none"),
        previous=None,
        now=NOW,
    )
    c = conditions(status)
    assert c["Admitted"]["status"] == "Unknown"
    assert c["Admitted"]["reason"] == "EngineUnavailable"
    assert c["PolicyCompliant"]["status"] == "Unknown"


def test_transition_time_moves_only_with_the_status() -> None:
    args = {
        "generation": 1,
        "running_generation": 1,
        "availability": ("True", "DeploymentAvailable", "1 available"),
    }
    first = build_status(decision=decision(Result.ADMITTED, WARN), previous=None, now=NOW, **args)
    later = NOW + timedelta(minutes=5)
    again = build_status(
        decision=decision(Result.ADMITTED, WARN), previous=first, now=later, **args
    )
    assert not status_changed(first, again)  # a no-op reconcile writes nothing
    blocked = build_status(
        decision=decision(Result.BLOCKED, DENY), previous=first, now=later, **args
    )
    before, after = conditions(first), conditions(blocked)
    assert after["Admitted"]["lastTransitionTime"] == "2026-11-25T12:05:00Z"
    assert after["Ready"]["lastTransitionTime"] == before["Ready"]["lastTransitionTime"]
    assert blocked["policy"]["decidedAt"] == "2026-11-25T12:05:00Z"


def test_violations_are_bounded_with_a_count_of_the_rest() -> None:
    many = [Violation("golive.p", f"spec.f{i:02}", "m", "deny") for i in range(25)]
    status = build_status(
        generation=1,
        decision=decision(Result.BLOCKED, *many),
        running_generation=None,
        availability=("False", "DeploymentNotFound", "none"),
        previous=None,
        now=NOW,
    )
    assert len(status["violations"]) == 20 and status["violationsOmitted"] == 5
