"""The reconcile gate, end to end: the real `golive run` process on a real kube-apiserver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kit.controlplane import REPO, ControlPlane
from kit.operator import (
    OperatorProcess,
    apply_objects,
    policy_configmap,
    policy_configmaps,
)
from tests.e2e.agents import (
    agent,
    apply,
    condition,
    contract,
    exception,
    get,
    wait_admitted,
    wait_event,
)

POLICY_NS = "golive-system"


@pytest.fixture(scope="module")
def operator(
    cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """One operator for this module, reading the SAFE library from ConfigMaps (the chart's way)."""
    cluster.kubectl("create", "namespace", POLICY_NS, check=False)
    apply_objects(cluster, policy_configmaps(REPO / "policies", POLICY_NS))
    op = OperatorProcess(
        cluster, tmp_path_factory.mktemp("operator"), policies=None, policy_namespace=POLICY_NS
    )
    op.start()
    yield op
    op.stop()


def image_of(dep: dict) -> str:  # type: ignore[type-arg]
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


def test_compliant_agent_gets_an_owned_deployment_and_all_conditions(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace))
    obj = wait_admitted(cluster, namespace, "invoice-triage", "True")
    dep = get(cluster, "deployment", namespace, "invoice-triage")
    assert dep is not None
    (owner,) = dep["metadata"]["ownerReferences"]
    assert owner["kind"] == "AgentDeployment" and owner["uid"] == obj["metadata"]["uid"]
    assert owner["controller"] is True
    assert dep["metadata"]["annotations"]["golive.dev/admitted-generation"] == "1"
    assert dep["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "golive"
    status = obj["status"]
    assert {c["type"] for c in status["conditions"]} == {"PolicyCompliant", "Admitted", "Ready"}
    for cond in status["conditions"]:
        assert cond["observedGeneration"] == 1 and cond["lastTransitionTime"] and cond["reason"]
    assert status["admittedGeneration"] == 1
    assert status["policy"]["engine"] == "embedded"
    assert status["policy"]["digest"].startswith("sha256:")
    assert status["cost"]["monthly100x"]
    managed = cluster.kubectl(
        "get", "agd", "invoice-triage", "-n", namespace, "-o", "json", "--show-managed-fields"
    ).stdout
    writers = {
        (m["manager"], m.get("subresource"))
        for m in json.loads(managed)["metadata"]["managedFields"]
    }
    assert ("golive", "status") in writers  # golive's status writes carry its name
    # golive writes no finalizers or handler annotations on the agent: Argo CD sees no drift.
    assert not obj["metadata"].get("finalizers")
    assert not any("kopf" in a for a in (obj["metadata"].get("annotations") or {}))
    # Nothing rolls out on the bare control plane; test_rollout_e2e.py sees Ready turn True on
    # the full cluster.
    ready = condition(obj, "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "RolloutInProgress")
    table = cluster.kubectl("get", "agd", "-n", namespace).stdout
    assert "True" in table and "Admitted" in table and "Dana Ruiz" in table


def test_blocked_agent_gets_nothing_then_is_admitted_when_fixed(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    bad = agent(namespace)
    bad["spec"]["owner"] = {"name": "Platform Team", "email": "platform@example.com"}
    apply(cluster, contract(namespace), bad)
    obj = wait_admitted(cluster, namespace, "invoice-triage", "False")
    assert condition(obj, "Admitted")["reason"] == "Blocked"
    assert condition(obj, "PolicyCompliant")["status"] == "False"
    fields = {v["field"] for v in obj["status"]["violations"]}
    assert "spec.owner.name" in fields
    assert get(cluster, "deployment", namespace, "invoice-triage") is None
    wait_event(cluster, namespace, "Blocked")
    table = cluster.kubectl("get", "agd", "-n", namespace).stdout
    assert "Blocked" in table and "False" in table

    apply(cluster, agent(namespace))  # the owner fixed: a person again
    wait_admitted(cluster, namespace, "invoice-triage", "True", generation=2)
    dep = get(cluster, "deployment", namespace, "invoice-triage")
    assert (
        dep is not None and dep["metadata"]["annotations"]["golive.dev/admitted-generation"] == "2"
    )


def test_a_violating_edit_keeps_the_admitted_deployment(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace))
    wait_admitted(cluster, namespace, "invoice-triage", "True")
    before = get(cluster, "deployment", namespace, "invoice-triage")
    assert before is not None

    edit = agent(namespace)
    edit["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/new:2"
    del edit["spec"]["fallback"]  # and drop the fallback: this generation must not run
    apply(cluster, edit)
    obj = wait_admitted(cluster, namespace, "invoice-triage", "False", generation=2)
    assert "generation 1 keeps running" in condition(obj, "Admitted")["message"]
    assert obj["status"]["admittedGeneration"] == 1
    after = get(cluster, "deployment", namespace, "invoice-triage")
    assert after is not None
    assert image_of(after) == image_of(before) != "registry.example.com/new:2"
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["metadata"]["annotations"]["golive.dev/admitted-generation"] == "1"


def test_deleting_the_contract_re_blocks_the_agent(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace))
    wait_admitted(cluster, namespace, "invoice-triage", "True")
    before = get(cluster, "deployment", namespace, "invoice-triage")
    cluster.kubectl("delete", "agc", "invoice-triage-v3", "-n", namespace)
    obj = wait_admitted(cluster, namespace, "invoice-triage", "False")
    assert any(
        v["policy"] == "golive.contract.contract_declared" for v in obj["status"]["violations"]
    )
    after = get(cluster, "deployment", namespace, "invoice-triage")
    assert after is not None and before is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_an_exception_admits_until_it_expires_then_blocks_at_expiry(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    expensive = agent(namespace)
    expensive["spec"]["budget"]["monthlyLimit"] = "1"  # the 100x projection is far above this
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    waiver = exception(
        namespace,
        "launch",
        "invoice-triage",
        "golive.economics.budget_at_scale",
        expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    apply(cluster, contract(namespace), waiver, expensive)
    obj = wait_admitted(cluster, namespace, "invoice-triage", "True")
    excepted = [v for v in obj["status"]["violations"] if v["enforcement"] == "excepted"]
    assert [v["policy"] for v in excepted] == ["golive.economics.budget_at_scale"]
    assert get(cluster, "deployment", namespace, "invoice-triage") is not None

    blocked = wait_admitted(cluster, namespace, "invoice-triage", "False", timeout=40)
    decided_at = datetime.strptime(blocked["status"]["policy"]["decidedAt"], "%Y-%m-%dT%H:%M:%SZ")
    lag = (decided_at.replace(tzinfo=UTC) - expires).total_seconds()
    assert 0 <= lag <= 3, f"re-decided {lag}s after the expiry"  # at expiry, not at an audit


def test_policy_configmap_change_re_decides_agents(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace))
    first = wait_admitted(cluster, namespace, "invoice-triage", "True")
    digest = first["status"]["policy"]["digest"]
    extra = policy_configmap("golive-policy-extra", POLICY_NS, {"naming.rego": NAMING_POLICY})
    try:
        apply(cluster, extra)
        obj = wait_admitted(cluster, namespace, "invoice-triage", "False", generation=1)
        assert obj["status"]["policy"]["digest"] != digest
        # What blocks: the new rule alone. (Besides it: alerts_exist skipped, no PrometheusRule
        # CRD here; signed_approvals warns, the example's approval is not signed.)
        found = [v["policy"] for v in obj["status"]["violations"] if v["enforcement"] == "deny"]
        assert found == ["golive.naming.agent_prefix"]
    finally:
        cluster.kubectl("delete", "configmap", "golive-policy-extra", "-n", POLICY_NS, check=False)
    again = wait_admitted(cluster, namespace, "invoice-triage", "True", generation=1)
    assert again["status"]["policy"]["digest"] == digest


def test_a_broken_policy_module_means_unknown_and_nothing_changes(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace))
    wait_admitted(cluster, namespace, "invoice-triage", "True")
    before = get(cluster, "deployment", namespace, "invoice-triage")
    broken_module = NAMING_POLICY.replace("deny contains", "deny contains contains")
    broken = policy_configmap("golive-policy-broken", POLICY_NS, {"broken.rego": broken_module})
    try:
        apply(cluster, broken)
        # The reload re-decides every agent: the running generation turns Unknown first.
        wait_admitted(cluster, namespace, "invoice-triage", "Unknown", generation=1)
        # A new generation arrives while the policies are broken: it must not roll out.
        edit = agent(namespace)
        edit["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/new:3"
        apply(cluster, edit)
        obj = wait_admitted(cluster, namespace, "invoice-triage", "Unknown", generation=2)
        assert condition(obj, "Admitted")["reason"] == "PolicyError"
        assert "broken.rego" in condition(obj, "Admitted")["message"]
        after = get(cluster, "deployment", namespace, "invoice-triage")
        assert after is not None and before is not None
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    finally:
        cluster.kubectl("delete", "configmap", "golive-policy-broken", "-n", POLICY_NS, check=False)
    wait_admitted(cluster, namespace, "invoice-triage", "True", generation=2, timeout=60)
    dep = get(cluster, "deployment", namespace, "invoice-triage")
    assert dep is not None and image_of(dep) == "registry.example.com/new:3"


def metric(text: str, sample: str) -> float:
    """The value of one sample line of a /metrics text (0 when it is absent)."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_decisions(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    admitted = 'golive_decisions_total{result="admitted",source="reconcile"}'
    blocked = 'golive_decisions_total{result="blocked",source="reconcile"}'
    evaluations = 'golive_evaluation_seconds_count{engine="embedded",source="reconcile"}'
    before = operator.metrics()
    # One agent admitted, one blocked: each counted under its result, each evaluation timed.
    bad = agent(namespace, name="team-owned")
    bad["spec"]["owner"] = {"name": "Ops Team", "email": "ops@example.com"}
    apply(cluster, contract(namespace), agent(namespace), bad)
    wait_admitted(cluster, namespace, "invoice-triage", "True")
    wait_admitted(cluster, namespace, "team-owned", "False")
    after = operator.metrics()
    assert metric(after, admitted) >= metric(before, admitted) + 1
    assert metric(after, blocked) >= metric(before, blocked) + 1
    assert metric(after, evaluations) >= metric(before, evaluations) + 2


NAMING_POLICY = """# METADATA
# title: Agent names start with agent-
# description: A test policy added at run time.
# custom:
#   enforcement: deny
#   severity: low
#   checklist: scope
package golive.naming.agent_prefix

import rego.v1

deny contains violation if {
\tnot startswith(input.agent.metadata.name, "agent-")
\tviolation := {"field": "metadata.name", "msg": "agent names must start with agent-"}
}
"""
