"""golive's Pod Security verdict against the real Pod Security admission of kube-apiserver.

In namespaces labelled `pod-security.kubernetes.io/enforce: baseline` and `restricted`, each
agent's verdict must agree with whether the ReplicaSet controller can create its pods: an
admitted agent's ReplicaSet creates them (no FailedCreate) and they run on the KWOK node; for a
denied one golive creates no Deployment, and a plain Deployment of the same pod template, made
here beside it, gets FailedCreate for a PodSecurity violation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from kit.cluster import Cluster
from kit.operator import OperatorProcess
from tests.e2e.agents import agent, apply, condition, contract, get, wait_admitted, wait_for

ENFORCE = "pod-security.kubernetes.io/enforce"


@pytest.fixture(scope="module")
def operator(
    full_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(full_cluster, tmp_path_factory.mktemp("operator"), policies=None)
    op.start()
    yield op
    op.stop()


def container(obj: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][0]
    return found


def compliant(ns: str, name: str) -> dict[str, Any]:
    """The invoice-triage example: restricted-compliant."""
    obj = agent(ns, name)
    obj["spec"]["replicas"] = 1
    return obj


def host_port(ns: str, name: str) -> dict[str, Any]:
    obj = compliant(ns, name)
    container(obj)["ports"][0]["hostPort"] = 8000
    return obj


def privileged(ns: str, name: str) -> dict[str, Any]:
    obj = compliant(ns, name)
    container(obj)["securityContext"] = {"privileged": True}
    return obj


def root_user(ns: str, name: str) -> dict[str, Any]:
    """Baseline-compliant, refused at restricted: runs as user 0."""
    obj = compliant(ns, name)
    obj["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = 0
    obj["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")
    return obj


def no_seccomp(ns: str, name: str) -> dict[str, Any]:
    """Baseline-compliant, refused at restricted: no seccomp profile."""
    obj = compliant(ns, name)
    obj["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile")
    return obj


# (level, agent, refused by Kubernetes, the check golive must name)
CASES = [
    ("baseline", compliant, False, None),
    ("baseline", host_port, True, "hostPorts"),
    ("baseline", privileged, True, "privileged"),
    ("baseline", root_user, False, None),
    ("restricted", compliant, False, None),
    ("restricted", root_user, True, "runAsUser"),
    ("restricted", no_seccomp, True, "seccompProfile_restricted"),
    ("restricted", privileged, True, "privileged"),
]


def label(cluster: Cluster, ns: str, level: str) -> None:
    cluster.kubectl("label", "namespace", ns, f"{ENFORCE}={level}", "--overwrite")


def events_of(cluster: Cluster, ns: str, kind: str, name: str) -> list[dict[str, Any]]:
    out = cluster.kubectl(
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        f"involvedObject.kind={kind},involvedObject.name={name}",
        "-o",
        "json",
    ).stdout
    return list(json.loads(out)["items"])


def replica_set_of(cluster: Cluster, ns: str, deployment: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        out = cluster.kubectl("get", "rs", "-n", ns, "-o", "json").stdout
        for rs in json.loads(out)["items"]:
            owners = rs["metadata"].get("ownerReferences") or []
            if any(o["kind"] == "Deployment" and o["name"] == deployment for o in owners):
                return dict(rs)
        return None

    return dict(wait_for(found, 60, f"the ReplicaSet of Deployment {deployment}"))


def kubernetes_verdict(cluster: Cluster, ns: str, deployment: str) -> str:
    """What the ReplicaSet controller made of a Deployment's pod template: "created" (a pod of
    it exists) or the message of its FailedCreate event."""
    rs = replica_set_of(cluster, ns, deployment)
    rs_name = rs["metadata"]["name"]

    def outcome() -> str | None:
        failed = [
            e
            for e in events_of(cluster, ns, "ReplicaSet", rs_name)
            if e["reason"] == "FailedCreate"
        ]
        if failed:
            return str(failed[0]["message"])
        out = cluster.kubectl("get", "pods", "-n", ns, "-o", "json").stdout
        for pod in json.loads(out)["items"]:
            owners = pod["metadata"].get("ownerReferences") or []
            if any(o["uid"] == rs["metadata"]["uid"] for o in owners):
                return "created"
        return None

    return str(wait_for(outcome, 60, f"pods or FailedCreate for ReplicaSet {rs_name}"))


def plain_deployment(ns: str, name: str, obj: dict[str, Any]) -> dict[str, Any]:
    """A Deployment golive has nothing to do with, of the agent's pod template."""
    template = copy.deepcopy(obj["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})["psa-control"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"psa-control": name}},
            "template": template,
        },
    }


def wait_labels_known(cluster: Cluster, ns: str) -> None:
    """A probe agent that only the label denies: once it is denied, the operator has the
    namespace's labels (a Namespace and an agent come on separate watches)."""
    probe = host_port(ns, "probe")
    apply(cluster, probe)
    wait_admitted(cluster, ns, "probe", "False", timeout=60)
    cluster.kubectl("delete", "agd", "probe", "-n", ns, "--wait=true")


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_golive_agrees_with_pod_security_admission(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, level: str
) -> None:
    ns = full_namespace
    label(full_cluster, ns, level)
    apply(full_cluster, contract(ns))
    wait_labels_known(full_cluster, ns)
    cases = [(make, refused, check) for lvl, make, refused, check in CASES if lvl == level]
    agents = {f"{make.__name__.replace('_', '-')}": make for make, _, _ in cases}
    apply(full_cluster, *[make(ns, name) for name, make in agents.items()])
    for (make, refused, check), name in zip(cases, agents, strict=True):
        obj = wait_admitted(full_cluster, ns, name, "False" if refused else "True", timeout=60)
        admitted = condition(obj, "Admitted")
        control = f"control-{name}"
        apply(full_cluster, plain_deployment(ns, control, make(ns, name)))
        seen = kubernetes_verdict(full_cluster, ns, control)
        if refused:
            # Kubernetes refuses the pods, and golive said so before any Deployment existed.
            assert "violates PodSecurity" in seen and f'"{level}:latest"' in seen, seen
            denied = [
                v["message"]
                for v in obj["status"]["violations"]
                if v["policy"] == "golive.podsecurity.enforced" and v["enforcement"] == "deny"
            ]
            assert any(f"check {check};" in m for m in denied), admitted["message"]
            assert get(full_cluster, "deployment", ns, name) is None
        else:
            assert seen == "created", f"{name}: golive admitted it, Kubernetes said {seen}"
            # golive's own Deployment: its ReplicaSet creates the pods, none is refused.
            assert kubernetes_verdict(full_cluster, ns, name) == "created"

    # One admitted agent's pods really run (KWOK plays the kubelet).
    def running() -> bool:
        out = full_cluster.kubectl(
            "get", "pods", "-n", ns, "-l", "golive.dev/agent=compliant", "-o", "json"
        ).stdout
        return any(p["status"].get("phase") == "Running" for p in json.loads(out)["items"])

    wait_for(running, 60, "the compliant agent's pod Running")
