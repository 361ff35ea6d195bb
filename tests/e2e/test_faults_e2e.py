"""Faults on the real control plane: the operator SIGKILLed mid-reconcile, the apiserver
restarted under it. In every case nothing is admitted that should not be, and status converges."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.controlplane import ControlPlane
from kit.operator import OperatorProcess
from tests.e2e.agents import agent, apply, contract, get, wait_admitted, wait_for

COMPLIANT, BLOCKED = 24, 8


def fleet(namespace: str, image_tag: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [contract(namespace)]
    for i in range(COMPLIANT + BLOCKED):
        obj = agent(namespace, name=f"agent-{i:02d}")
        obj["spec"]["template"]["spec"]["containers"][0]["image"] = (
            f"registry.example.com/a:{image_tag}"
        )
        if i >= COMPLIANT:
            obj["spec"]["owner"] = {"name": "Ops Team", "email": "ops@example.com"}
        objects.append(obj)
    return objects


def list_json(cluster: ControlPlane, kind: str, namespace: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", kind, "-n", namespace, "-o", "json").stdout
    return list(json.loads(out)["items"])


def converged(cluster: ControlPlane, namespace: str) -> bool:
    agents = list_json(cluster, "agd", namespace)
    return len(agents) == COMPLIANT + BLOCKED and all(
        (a.get("status") or {}).get("observedGeneration") == a["metadata"]["generation"]
        for a in agents
    )


def test_sigkill_twenty_times_mid_reconcile(
    cluster: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    apply(cluster, *fleet(namespace, "1"))
    kills = 0
    for round_ in range(20):
        op = OperatorProcess(cluster, tmp_path / f"op-{round_}")
        op.start()
        if round_ % 4 == 3:  # new generations keep arriving while the operator dies
            apply(cluster, *fleet(namespace, str(round_)))
        time.sleep(rng.uniform(0.05, 1.2))
        op.kill()
        kills += 1
        # After every crash: no blocked agent has a Deployment, ever.
        names = {d["metadata"]["name"] for d in list_json(cluster, "deployments", namespace)}
        assert not {f"agent-{i:02d}" for i in range(COMPLIANT, COMPLIANT + BLOCKED)} & names
    assert kills == 20

    final = OperatorProcess(cluster, tmp_path / "op-final").start()
    try:
        wait_for(lambda: converged(cluster, namespace), 90, "status to converge after 20 kills")
        agents = {a["metadata"]["name"]: a for a in list_json(cluster, "agd", namespace)}
        deployments = list_json(cluster, "deployments", namespace)
        by_name = {d["metadata"]["name"]: d for d in deployments}
        assert len(deployments) == len(by_name) == COMPLIANT  # no duplicates, none lost
        for name, obj in agents.items():
            admitted = next(c for c in obj["status"]["conditions"] if c["type"] == "Admitted")
            if int(name.split("-")[1]) < COMPLIANT:
                assert admitted["status"] == "True", (name, admitted)
                dep = by_name[name]
                assert len(dep["metadata"]["ownerReferences"]) == 1
                assert dep["metadata"]["annotations"]["golive.dev/admitted-generation"] == str(
                    obj["metadata"]["generation"]
                )
                image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
                assert image == obj["spec"]["template"]["spec"]["containers"][0]["image"]
            else:
                assert admitted["status"] == "False" and name not in by_name
    finally:
        final.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[ControlPlane]:
    """A control plane of its own: restarting the session's apiserver would disturb others."""
    plane = ControlPlane(tmp_path / "cp")
    try:
        plane.start()
        plane.apply_crds()
        yield plane
    finally:
        plane.stop()


def test_apiserver_restart_under_the_operator(own_cluster: ControlPlane, tmp_path: Path) -> None:
    cluster = own_cluster
    cluster.kubectl("create", "namespace", "faults")
    op = OperatorProcess(cluster, tmp_path / "op").start()
    try:
        apply(cluster, contract("faults"), agent("faults", name="before"))
        wait_admitted(cluster, "faults", "before", "True")
        cluster.restart_apiserver()
        # Watches must resume: a new agent and an edit are both decided without a restart.
        apply(cluster, agent("faults", name="after"))
        wait_admitted(cluster, "faults", "after", "True", timeout=90)
        blocked = agent("faults", name="before")
        blocked["spec"]["owner"] = {"name": "Ops Team", "email": "ops@example.com"}
        apply(cluster, blocked)
        wait_admitted(cluster, "faults", "before", "False", generation=2, timeout=60)
        dep = get(cluster, "deployment", "faults", "before")
        assert dep is not None
        assert dep["metadata"]["annotations"]["golive.dev/admitted-generation"] == "1"
        assert op.process is not None and op.process.alive()
    finally:
        op.stop()
