"""Status conditions and the owned Deployment: the pure half of the reconcile gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from controller.domain.api import ADMITTED_GENERATION
from controller.domain.decision import Decision, Reason, Result, Violation, unknown
from controller.domain.model import read_agent
from controller.domain.status import build_status, status_changed
from controller.domain.workload import (
    admitted_generation,
    build_deployment,
    deployment_availability,
    unready_pods_summary,
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
    dep = build_deployment(read_agent(AGENT), "sha256:d")
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


def _deployment(running: int, wanted: int, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"generation": 5, "annotations": {ADMITTED_GENERATION: str(running)}},
        "spec": {"replicas": wanted},
        "status": {"observedGeneration": 5, **status},
    }


def test_availability_follows_the_deployment_status() -> None:
    assert deployment_availability(None)[1] == "DeploymentNotFound"
    dep = {"metadata": {"generation": 2}, "status": {"observedGeneration": 1}}
    assert deployment_availability(dep)[1] == "RolloutInProgress"
    available = [{"type": "Available", "status": "True"}]
    done = _deployment(3, 2, replicas=2, updatedReplicas=2, availableReplicas=2)
    done["status"]["conditions"] = available
    assert deployment_availability(done) == (
        "True",
        "DeploymentAvailable",
        "generation 3 runs: 2/2 replicas available",
    )


def test_ready_waits_for_the_whole_rollout_of_the_running_generation() -> None:
    # Available (old pods still serve) but only one of two replicas is on the new template.
    mid = _deployment(4, 2, replicas=3, updatedReplicas=1, availableReplicas=2)
    mid["status"]["conditions"] = [{"type": "Available", "status": "True"}]
    assert deployment_availability(mid) == (
        "False",
        "RolloutInProgress",
        "generation 4 rolling out (1/2 updated, 2/2 available)",
    )
    # Every replica updated, but the old pod has not gone yet.
    tail = _deployment(4, 2, replicas=3, updatedReplicas=2, availableReplicas=2)
    assert deployment_availability(tail)[1] == "RolloutInProgress"
    down = _deployment(4, 2, replicas=2, updatedReplicas=2, availableReplicas=0)
    down["status"]["conditions"] = [{"type": "Available", "status": "False"}]
    assert deployment_availability(down)[1] == "DeploymentUnavailable"


def test_a_stalled_rollout_says_so_and_why() -> None:
    dep = _deployment(2, 1, replicas=1, updatedReplicas=1)
    dep["status"]["conditions"] = [
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "bot-1" has timed out progressing.',
        }
    ]
    status, reason, message = deployment_availability(dep)
    assert (status, reason) == ("False", "RolloutStalled")
    assert (
        message
        == 'generation 2 did not roll out in time: ReplicaSet "bot-1" has timed out progressing.'
    )


def test_unready_pods_are_summarised_in_the_scheduler_and_kubelet_words() -> None:
    unschedulable = {
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/1 nodes are available: 1 Insufficient cpu.",
                }
            ],
        }
    }
    pulling = {
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [
                {
                    "name": "agent",
                    "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}},
                }
            ],
        }
    }
    ready = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
    leaving = {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "status": {}}
    summary = unready_pods_summary([unschedulable, pulling, unschedulable, ready, leaving])
    assert summary == (
        "2 pods Pending: 0/1 nodes are available: 1 Insufficient cpu.; "
        "1 pod waiting on agent: ImagePullBackOff: not found"
    )
    assert unready_pods_summary([ready]) == ""


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
