"""Model layering and the agent security baseline, end to end: the real kube-apiserver (schema
and CEL), the real `golive run` with its admission webhook, and the real controllers and a KWOK
node (the admitted agent's pods are scheduled and become Ready), compared with `golive check` on
the same objects written to files."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.cluster import Cluster
from kit.controlplane import REPO
from kit.operator import OperatorProcess, admission_review
from tests.e2e.agents import agent, condition, contract, get, wait_admitted, wait_for

OURS = ("golive.security.", "golive.podsecurity.", "golive.economics.")
SPLIT = [
    {"name": "gpt-4o-2024-08-06", "role": "reasoning", "costPerRequest": "0.0003",
     "monthly1x": "18.00", "monthly10x": "180.00", "monthly100x": "1800.00"},
    {"name": "invoice-judge-mini", "role": "judge", "costPerRequest": "0.00004",
     "monthly1x": "2.40", "monthly10x": "24.00", "monthly100x": "240.00"},
    {"name": "ap-policy-rules", "role": "rules", "costPerRequest": "0.00",
     "monthly1x": "0.00", "monthly10x": "0.00", "monthly100x": "0.00"},
]  # fmt: skip


@pytest.fixture(scope="module")
def operator(
    full_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator with the SAFE library golive ships, serving the admission webhook."""
    op = OperatorProcess(full_cluster, tmp_path_factory.mktemp("operator"), webhook=True)
    try:
        op.start()
        yield op
    finally:
        op.stop()
        op.delete_webhook_config()


def kubectl_apply(cluster: Cluster, *objects: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    return cluster.kubectl("apply", "-f", "-", input=body, check=False)


def golive_check(tmp_path: Path, *objects: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """`golive check -o json` on the objects written to a file: the CI verdict."""
    path = tmp_path / "agents.yaml"
    path.write_text("\n---\n".join(json.dumps(obj) for obj in objects) + "\n")
    proc = subprocess.run(
        [sys.executable, "-m", "controller.cli", "check", "-o", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}


def ours(findings: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(policy, field, enforcement) of the model and security findings."""
    return {
        (f["policy"], f.get("field", ""), f["enforcement"])
        for f in findings
        if f["policy"].startswith(OURS)
    }


def test_layered_hardened_agent_runs_and_status_splits_the_cost_per_model(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, tmp_path: Path
) -> None:
    ns = full_namespace
    good = agent(ns)
    assert [m["role"] for m in good["spec"]["models"]] == ["reasoning", "judge", "rules"]
    proc = kubectl_apply(full_cluster, contract(ns), good)
    assert proc.returncode == 0, proc.stderr
    assert "golive.security" not in proc.stderr and "model_layering" not in proc.stderr
    obj = wait_admitted(full_cluster, ns, "invoice-triage", "True")
    assert ours(obj["status"].get("violations") or []) == set()
    cost = obj["status"]["cost"]
    assert cost == {
        "currency": "USD", "monthly1x": "24.00", "monthly10x": "240.00",
        "monthly100x": "2400.00", "monthlyLimit": "4000", "costPerRequest": "0.0004",
        "models": SPLIT,
    }  # fmt: skip
    # The hardened template really runs: the controllers roll it out, KWOK makes it Ready.
    wait_for(
        lambda: (
            condition(get(full_cluster, "agd", ns, "invoice-triage"), "Ready").get("status")
            == "True"
        ),
        timeout=90,
        what="Ready=True",
    )
    pods = json.loads(full_cluster.kubectl("get", "pods", "-n", ns, "-o", "json").stdout)
    assert len(pods["items"]) == 2
    for pod in pods["items"]:
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] == ["ALL"]
    # golive check on the same objects: admitted, no model or security finding.
    code, report = golive_check(tmp_path, contract(ns), good)
    assert code == 0, report
    (checked,) = report["agents"]
    assert checked["result"] == "admitted" and ours(checked["findings"]) == set()


def test_a_pod_template_without_limits_is_warned_not_blocked_the_same_in_check(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, tmp_path: Path
) -> None:
    ns = full_namespace
    loose = agent(ns)
    container = loose["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"cpu": "100m", "memory": "256Mi"}}  # no limits
    del loose["spec"]["template"]["spec"]["automountServiceAccountToken"]
    proc = kubectl_apply(full_cluster, contract(ns), loose)
    assert proc.returncode == 0, proc.stderr  # warn admits at the door...
    assert "Warning: golive warn [golive.security.resources_set] " in proc.stderr, proc.stderr
    assert 'container "agent" sets no limits.memory' in proc.stderr
    assert "[golive.security.service_account_token]" in proc.stderr
    obj = wait_admitted(full_cluster, ns, "invoice-triage", "True")  # ...and at the gate
    found = ours(obj["status"]["violations"])
    assert found == {
        ("golive.security.resources_set", "spec.template.spec.containers[0].resources", "warn"),
        (
            "golive.security.service_account_token",
            "spec.template.spec.automountServiceAccountToken",
            "warn",
        ),
    }
    assert condition(obj, "PolicyCompliant")["reason"] == "AdmittedWithFindings"
    assert get(full_cluster, "deployment", ns, "invoice-triage") is not None  # it runs
    # The same verdict offline, on files.
    code, report = golive_check(tmp_path, contract(ns), loose)
    assert code == 0, report
    (checked,) = report["agents"]
    assert checked["result"] == "admitted" and ours(checked["findings"]) == found

    # Fixed: the warnings go away on the next generation.
    container["resources"]["limits"] = {"memory": "512Mi"}
    loose["spec"]["template"]["spec"]["automountServiceAccountToken"] = False
    proc = kubectl_apply(full_cluster, loose)
    assert proc.returncode == 0 and "golive.security" not in proc.stderr, proc.stderr
    obj = wait_admitted(full_cluster, ns, "invoice-triage", "True", generation=2)
    assert ours(obj["status"].get("violations") or []) == set()


def test_the_baseline_checks_init_containers_and_every_rule_reports_its_field(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, tmp_path: Path
) -> None:
    ns = full_namespace
    bad = agent(ns)
    pod = bad["spec"]["template"]["spec"]
    pod.update(hostNetwork=True, automountServiceAccountToken=True)
    pod["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}})
    pod["initContainers"] = [
        {
            "name": "migrate",
            "image": "registry.example.com/agents/migrate:1.0.0",
            "securityContext": {
                "runAsUser": 0,
                "privileged": True,
                "capabilities": {"add": ["SYS_ADMIN"]},
            },
        }
    ]
    proc = kubectl_apply(full_cluster, contract(ns), bad)
    assert proc.returncode == 0, proc.stderr
    obj = wait_admitted(full_cluster, ns, "invoice-triage", "True")  # warned, not blocked
    init = "spec.template.spec.initContainers[0]"
    expected = {
        ("golive.podsecurity.advisory", "spec.template.spec.hostNetwork", "warn"),
        # hostNetwork makes the containerPort a hostPort (the API server defaults it so).
        (
            "golive.podsecurity.advisory",
            "spec.template.spec.containers[0].ports[0].hostPort",
            "warn",
        ),
        ("golive.podsecurity.advisory", "spec.template.spec.volumes[1].hostPath", "warn"),
        (
            "golive.security.service_account_token",
            "spec.template.spec.automountServiceAccountToken",
            "warn",
        ),
        # The Pod Security Standards at golive's default warning level (restricted).
        ("golive.podsecurity.advisory", f"{init}.securityContext.runAsUser", "warn"),
        ("golive.podsecurity.advisory", f"{init}.securityContext.privileged", "warn"),
        ("golive.podsecurity.advisory", f"{init}.securityContext.allowPrivilegeEscalation", "warn"),
        ("golive.podsecurity.advisory", f"{init}.securityContext.capabilities.drop", "warn"),
        ("golive.podsecurity.advisory", f"{init}.securityContext.capabilities.add[0]", "warn"),
        (
            "golive.security.read_only_root_filesystem",
            f"{init}.securityContext.readOnlyRootFilesystem",
            "warn",
        ),
        ("golive.security.resources_set", f"{init}.resources", "warn"),
    }
    assert ours(obj["status"]["violations"]) == expected
    code, report = golive_check(tmp_path, contract(ns), bad)
    (checked,) = report["agents"]
    assert code == 0 and ours(checked["findings"]) == expected


def test_regulated_agent_without_rules_or_judge_is_warned_and_models_can_block_the_budget(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, tmp_path: Path
) -> None:
    ns = full_namespace
    lone = agent(ns, name="reasoning-only")
    lone["spec"]["models"] = [lone["spec"]["models"][0]]
    expensive = agent(ns, name="expensive")
    expensive["spec"]["models"][0] = {
        "name": "o1-2024-12-17", "role": "reasoning", "costPerRequest": "0.015",
    }  # fmt: skip
    proc = kubectl_apply(full_cluster, contract(ns), lone)
    assert proc.returncode == 0, proc.stderr
    assert "Warning: golive warn [golive.economics.model_layering] spec.models: " in proc.stderr
    obj = wait_admitted(full_cluster, ns, "reasoning-only", "True")
    assert ours(obj["status"]["violations"]) == {
        ("golive.economics.model_layering", "spec.models", "warn")
    }
    assert obj["status"]["cost"]["costPerRequest"] == "0.00036"
    # The expensive reasoning model blows the budget at 100x: refused at the door, and the
    # message gives each model's share so the owner sees which one to change.
    proc = kubectl_apply(full_cluster, expensive)
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert "golive.economics.budget_at_scale" in message and "spec.budget.monthlyLimit" in message
    assert "costs 90600.00 USD a month (906.00 USD at 1x)" in message, message
    assert (
        "o1-2024-12-17 (reasoning) 90000.00 USD, invoice-judge-mini (judge) 240.00 USD" in message
    )
    assert get(full_cluster, "agd", ns, "expensive") is None
    code, report = golive_check(tmp_path, contract(ns), lone, expensive)
    assert code == 1
    results = {a["name"]: (a["result"], ours(a["findings"])) for a in report["agents"]}
    assert results["reasoning-only"] == ("admitted", ours(obj["status"]["violations"]))
    assert results["expensive"] == (
        "blocked",
        {("golive.economics.budget_at_scale", "spec.budget.monthlyLimit", "deny")},
    )


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"costPerRequest": "-0.01"}, "spec.models[1].costPerRequest", "should match"),
        ({"costPerRequest": 0.00004}, "spec.models[1].costPerRequest", "must be of type string"),
        ({"role": "rules"}, "spec.models[1].costPerRequest", "a rules layer costs nothing"),
        ({"costPerRequest": None}, "spec.models[1].costPerRequest", "costPerRequest is required"),
    ],
)
def test_a_bad_model_cost_is_refused_naming_the_field_never_admitted(
    full_cluster: Cluster,
    operator: OperatorProcess,
    full_namespace: str,
    tmp_path: Path,
    change: dict[str, Any],
    field: str,
    words: str,
) -> None:
    ns = full_namespace
    bad = agent(ns)
    model = bad["spec"]["models"][1]
    model.update(change)
    if model["costPerRequest"] is None:
        del model["costPerRequest"]
    # The API server refuses it (schema or CEL), naming the field: nothing is stored.
    proc = kubectl_apply(full_cluster, contract(ns), bad)
    assert proc.returncode != 0
    assert field in proc.stderr and words in proc.stderr, proc.stderr
    assert get(full_cluster, "agd", ns, "invoice-triage") is None
    # Where the schema is not evaluated (a review posted straight to the webhook, or CEL in
    # `golive check`), the cost projection reports the same field and the verdict is a deny.
    review = admission_review(copy.deepcopy(bad))
    status, answer = operator.post_review(json.dumps(review).encode())
    response: Any = answer["response"]
    assert status == 200 and response["allowed"] is False, answer
    assert field in response["status"]["message"]
    code, report = golive_check(tmp_path, contract(ns), bad)
    if report.get("errors"):  # the schema part of the CRD, run offline: an input error
        assert code == 2 and any(field in e["message"] for e in report["errors"]), report
    else:  # CEL is not run offline: budget_at_scale blocks it at the same field
        (checked,) = report["agents"]
        assert code == 1 and checked["result"] == "blocked"
        assert ("golive.economics.budget_at_scale", field, "deny") in ours(checked["findings"])


def test_kubernetes_api_need_must_say_why_and_then_allows_the_token(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str
) -> None:
    ns = full_namespace
    caller = agent(ns, name="api-caller")
    caller["spec"]["template"]["spec"]["automountServiceAccountToken"] = True
    caller["spec"]["scope"]["kubernetesApi"] = {"needed": True}
    proc = kubectl_apply(full_cluster, contract(ns), caller)
    assert proc.returncode != 0
    assert "spec.scope.kubernetesApi.reason" in proc.stderr, proc.stderr
    caller["spec"]["scope"]["kubernetesApi"]["reason"] = "reads the vendor routing ConfigMap"
    proc = kubectl_apply(full_cluster, contract(ns), caller)
    assert proc.returncode == 0 and "golive.security" not in proc.stderr, proc.stderr
    obj = wait_admitted(full_cluster, ns, "api-caller", "True")
    assert ours(obj["status"].get("violations") or []) == set()
