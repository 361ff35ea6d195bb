"""Rollouts for real: the operator on a full cluster (controller-manager, scheduler, KWOK node).

Nothing here plays a controller's part: ReplicaSets, pods, Ready and garbage collection are what
the real kube-controller-manager, kube-scheduler and KWOK make of the Deployment golive applies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kit.cluster import Cluster
from kit.operator import OperatorProcess
from tests.e2e.agents import agent, apply, condition, contract, get, wait_admitted, wait_for

NAME = "invoice-triage"
SELECTOR = f"golive.dev/agent={NAME}"


@pytest.fixture(scope="module")
def operator(
    full_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(full_cluster, tmp_path_factory.mktemp("operator"), policies=None)
    op.start()
    yield op
    op.stop()


def pods(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "pods", "-n", namespace, "-l", SELECTOR, "-o", "json").stdout
    return list(json.loads(out)["items"])


def running_pods(cluster: Cluster, namespace: str) -> dict[str, dict[str, Any]]:
    """Running, Ready pods not being deleted, by UID."""
    out = {}
    for pod in pods(cluster, namespace):
        ready = any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in pod["status"].get("conditions") or []
        )
        gone = pod["metadata"].get("deletionTimestamp")
        if pod["status"].get("phase") == "Running" and ready and not gone:
            out[pod["metadata"]["uid"]] = pod
    return out


def replica_sets(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "rs", "-n", namespace, "-l", SELECTOR, "-o", "json").stdout
    return list(json.loads(out)["items"])


def wait_ready(
    cluster: Cluster, namespace: str, status: str, generation: int, timeout: float = 60.0
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = get(cluster, "agd", namespace, NAME)
        ready = condition(obj, "Ready")
        if ready.get("status") == status and ready.get("observedGeneration") == generation:
            return obj
        return None

    return dict(wait_for(check, timeout, f"Ready={status} at generation {generation}"))


def image(obj: dict[str, Any]) -> str:
    """The agent container's image, of a pod or of anything with a pod template."""
    pod_spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    return str(pod_spec["containers"][0]["image"])


def test_an_admitted_agent_rolls_out_and_turns_ready(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str
) -> None:
    ns = full_namespace
    apply(full_cluster, contract(ns), agent(ns))
    wait_admitted(full_cluster, ns, NAME, "True")
    # What a person (or a CI step) runs: kubectl waits on golive's own Ready condition.
    full_cluster.kubectl("wait", "--for=condition=Ready", f"agd/{NAME}", "-n", ns, "--timeout=60s")
    obj = wait_ready(full_cluster, ns, "True", 1)
    ready = condition(obj, "Ready")
    assert ready["reason"] == "DeploymentAvailable"
    assert ready["message"] == "generation 1 runs: 2/2 replicas available"
    (rs,) = replica_sets(full_cluster, ns)
    assert rs["status"]["readyReplicas"] == 2
    running = running_pods(full_cluster, ns)
    assert len(running) == 2
    assert {p["spec"]["nodeName"] for p in running.values()} == set(full_cluster.node_names)
    assert all(
        p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
        for p in running.values()
    )
    table = full_cluster.kubectl("get", "agd", "-n", ns).stdout
    assert NAME in table and "True" in table


def test_new_generations_roll_out_and_a_blocked_one_leaves_the_pods_alone(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str
) -> None:
    ns = full_namespace
    apply(full_cluster, contract(ns), agent(ns))
    wait_ready(full_cluster, ns, "True", 1)
    first_rs = {rs["metadata"]["uid"] for rs in replica_sets(full_cluster, ns)}

    upgrade = agent(ns)
    upgrade["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "registry.example.com/agents/invoice-triage:3.3.0"
    )
    apply(full_cluster, upgrade)
    obj = wait_ready(full_cluster, ns, "True", 2)
    assert condition(obj, "Ready")["message"] == "generation 2 runs: 2/2 replicas available"
    sets = replica_sets(full_cluster, ns)
    new = [rs for rs in sets if rs["metadata"]["uid"] not in first_rs]
    assert len(new) == 1 and new[0]["status"]["readyReplicas"] == 2
    assert image(new[0]).endswith(":3.3.0")
    before = wait_for(
        lambda: (
            r
            if len(r := running_pods(full_cluster, ns)) == 2 and len(pods(full_cluster, ns)) == 2
            else None
        ),
        30,
        "the old ReplicaSet's pods gone",
    )
    assert all(image(p).endswith(":3.3.0") for p in before.values())

    # A blocked edit: a new image without a fallback. The running pods must not be touched.
    blocked = agent(ns)
    blocked["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/bad:9"
    del blocked["spec"]["fallback"]
    apply(full_cluster, blocked)
    obj = wait_admitted(full_cluster, ns, NAME, "False", generation=3)
    assert "generation 2 keeps running" in condition(obj, "Admitted")["message"]
    obj = wait_ready(full_cluster, ns, "True", 3)
    # Ready reflects what runs, and says which generation that is.
    assert condition(obj, "Ready")["message"] == "generation 2 runs: 2/2 replicas available"
    assert set(running_pods(full_cluster, ns)) == set(before)
    assert {rs["metadata"]["uid"] for rs in replica_sets(full_cluster, ns)} == {
        rs["metadata"]["uid"] for rs in sets
    }
    dep = get(full_cluster, "deployment", ns, NAME)
    assert dep is not None and image(dep).endswith(":3.3.0")


def test_replicas_scale_a_deleted_deployment_comes_back_and_deletion_collects_everything(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str
) -> None:
    ns = full_namespace
    apply(full_cluster, contract(ns), agent(ns))
    wait_ready(full_cluster, ns, "True", 1)

    scaled = agent(ns)
    scaled["spec"]["replicas"] = 3
    apply(full_cluster, scaled)
    obj = wait_ready(full_cluster, ns, "True", 2)
    assert condition(obj, "Ready")["message"] == "generation 2 runs: 3/3 replicas available"
    assert len(running_pods(full_cluster, ns)) == 3
    scaled["spec"]["replicas"] = 1
    apply(full_cluster, scaled)
    wait_ready(full_cluster, ns, "True", 3)
    wait_for(lambda: len(pods(full_cluster, ns)) == 1, 30, "scale down to one pod")

    # Someone deletes the Deployment: golive applies the admitted generation again.
    old_uid = get(full_cluster, "deployment", ns, NAME)["metadata"]["uid"]  # type: ignore[index]
    full_cluster.kubectl("delete", "deployment", NAME, "-n", ns)
    wait_for(
        lambda: (
            (d := get(full_cluster, "deployment", ns, NAME)) and d["metadata"]["uid"] != old_uid
        ),
        30,
        "the Deployment re-created",
    )
    wait_ready(full_cluster, ns, "True", 3)
    wait_for(lambda: len(running_pods(full_cluster, ns)) == 1, 30, "one pod running again")

    # The agent goes: the real garbage collector removes its Deployment, ReplicaSet and pods.
    full_cluster.kubectl("delete", "agd", NAME, "-n", ns, "--wait=false")
    wait_for(
        lambda: (
            get(full_cluster, "deployment", ns, NAME) is None
            and not replica_sets(full_cluster, ns)
            and not pods(full_cluster, ns)
        ),
        60,
        "Deployment, ReplicaSets and pods garbage-collected",
    )


def test_a_rollout_that_cannot_complete_says_why(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str
) -> None:
    ns = full_namespace
    stuck = agent(ns)
    stuck["spec"]["progressDeadlineSeconds"] = 3
    stuck["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}  # no such node
    apply(full_cluster, contract(ns), stuck)
    wait_admitted(full_cluster, ns, NAME, "True")
    obj = wait_ready(full_cluster, ns, "False", 1)
    assert condition(obj, "Ready")["reason"] in {"RolloutInProgress", "DeploymentUnavailable"}

    def stalled() -> dict[str, Any] | None:
        ready = condition(get(full_cluster, "agd", ns, NAME), "Ready")
        return ready if ready.get("reason") == "RolloutStalled" else None

    ready = wait_for(stalled, 60, "Ready reason RolloutStalled")
    assert ready["status"] == "False"
    message = ready["message"]
    assert message.startswith("generation 1 did not roll out in time: ")
    # The scheduler's own words, so a person knows what to change.
    assert "2 pods Pending: 0/1 nodes are available" in message
    assert "didn't match Pod's node affinity/selector" in message

    fixed = agent(ns)
    fixed["spec"]["progressDeadlineSeconds"] = 3
    apply(full_cluster, fixed)
    obj = wait_ready(full_cluster, ns, "True", 2)
    assert condition(obj, "Ready")["message"] == "generation 2 runs: 2/2 replicas available"
