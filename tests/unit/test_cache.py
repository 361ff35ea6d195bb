"""The caches keep only what golive reads, and give the same answers as the whole objects."""

from __future__ import annotations

from typing import Any

from controller.domain.api import ADMITTED_GENERATION
from controller.domain.workload import admitted_generation, deployment_availability
from controller.operator.cache import ClusterState, slim_deployment


def deployment(available: str = "True") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "a",
            "namespace": "ns",
            "generation": 3,
            "uid": "u",
            "managedFields": [{"manager": "golive", "fieldsV1": {"f:spec": {}}}],
            "annotations": {ADMITTED_GENERATION: "2", "other": "x" * 1000},
            "labels": {"app": "a"},
        },
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
        "status": {
            "observedGeneration": 3,
            "availableReplicas": 2,
            "updatedReplicas": 2,
            "replicas": 2,
            "conditions": [
                {"type": "Progressing", "status": "True", "message": "ok"},
                {"type": "Available", "status": available, "message": "m", "reason": "r"},
            ],
        },
    }


def agent(contract: str | None, name: str = "a") -> dict[str, Any]:
    spec: dict[str, Any] = {"owner": {"name": "team"}}
    if contract:
        spec["contractRef"] = {"name": contract}
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": "u",
            "generation": 1,
            "resourceVersion": "7",
            "labels": {"l": "v"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
                "keep": "me",
            },
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": spec,
        "status": {"observedGeneration": 1},
    }


def test_a_slim_deployment_answers_as_the_whole_one() -> None:
    for available in ("True", "False"):
        whole = deployment(available)
        slim = slim_deployment(whole)
        assert admitted_generation(slim) == admitted_generation(whole) == 2
        assert deployment_availability(slim) == deployment_availability(whole)
        assert slim["spec"] == {"replicas": 2} and "managedFields" not in slim["metadata"]
        assert slim["metadata"]["annotations"] == {ADMITTED_GENERATION: "2"}


def test_a_slim_deployment_keeps_a_stalled_rollout_but_not_every_progress_message() -> None:
    whole = deployment("False")
    whole["status"]["conditions"][0] = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "a-1" has timed out progressing.',
    }
    slim = slim_deployment(whole)
    assert deployment_availability(slim) == deployment_availability(whole)
    assert deployment_availability(slim)[1] == "RolloutStalled"
    progressing = deployment("True")  # Progressing True: its message is not kept
    assert [c["type"] for c in slim_deployment(progressing)["status"]["conditions"]] == [
        "Available"
    ]


def test_an_agent_keeps_spec_status_and_the_metadata_golive_reads() -> None:
    state = ClusterState()
    key, kept = state.put_agent(agent("c"), deleted=False)
    assert key == ("ns", "a") and state.agents[key] is kept
    assert set(kept.raw) == {"apiVersion", "kind", "metadata", "spec", "status"}
    assert (kept.name, kept.namespace, kept.contract_name) == ("a", "ns", "c")
    meta = kept.raw["metadata"]
    assert set(meta) == {
        "name",
        "namespace",
        "uid",
        "generation",
        "resourceVersion",
        "labels",
        "annotations",
    }
    assert meta["annotations"] == {"keep": "me"}


def test_agents_are_found_by_the_contract_they_name() -> None:
    state = ClusterState()
    state.put_agent(agent("c", "a"), deleted=False)
    state.put_agent(agent("c", "b"), deleted=False)
    state.put_agent(agent("d", "x"), deleted=False)
    assert state.agents_using_contract("ns", "c") == [("ns", "a"), ("ns", "b")]
    state.put_agent(agent("d", "b"), deleted=False)  # b now names d
    assert state.agents_using_contract("ns", "c") == [("ns", "a")]
    assert state.agents_using_contract("ns", "d") == [("ns", "b"), ("ns", "x")]
    state.put_agent(agent("c", "a"), deleted=True)
    assert state.agents_using_contract("ns", "c") == []
    assert state.agents_using_contract("other", "d") == []
