"""The admission webhook, end to end: the real `golive run --webhook-port ... --webhook-register`
process serving HTTPS on loopback, registered by URL with its self-signed CA, and the built
kubectl talking to the real kube-apiserver, which calls the webhook.

The ValidatingWebhookConfiguration applies to the whole (session-shared) API server, so the
module fixture deletes it when the module ends, also when a test fails.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kit.controlplane import REPO, ControlPlane
from kit.operator import OperatorProcess, admission_review
from tests.e2e.agents import (
    agent,
    apply,
    contract,
    exception,
    get,
    wait_admitted,
    wait_for,
)

POLICIES = REPO / "policies"
WEBHOOK = 'admission webhook "agentdeployments.golive.dev" denied the request'


@pytest.fixture(scope="module")
def operator(
    cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(cluster, tmp_path_factory.mktemp("webhook-operator"), webhook=True)
    op.delete_webhook_config()  # a previous run killed mid-module must not leave one behind
    try:
        yield op.start()
    finally:
        op.stop()
        op.delete_webhook_config()


def sample(path: Path, namespace: str) -> tuple[str, str]:
    """(manifest text placed in `namespace`, the AgentDeployment's name). A sample's Namespace
    is not applied: its labels are what `namespace` must carry (see `label_like_sample`)."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] != "Namespace"]
    for doc in docs:
        doc["metadata"]["namespace"] = namespace
    name = next(d["metadata"]["name"] for d in docs if d["kind"] == "AgentDeployment")
    return yaml.safe_dump_all(docs), name


def label_like_sample(cluster: ControlPlane, path: Path, namespace: str, manifest: str) -> None:
    """Give `namespace` the labels of the sample's Namespace (Pod Security levels), and wait
    until the webhook judges by them: a server-side dry run is refused (it stores nothing)."""
    labels: dict[str, str] = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "Namespace":
            labels.update(doc["metadata"].get("labels") or {})
    if not labels:
        return
    cluster.kubectl("label", "namespace", namespace, *[f"{k}={v}" for k, v in labels.items()])
    wait_for(
        lambda: kubectl_apply(cluster, manifest, "--dry-run=server")[0] != 0,
        30,
        f"the webhook to know namespace {namespace}'s labels",
    )


def denied_at_the_door() -> list[Path]:
    """Disallowed samples of deny rules that judge the agent alone. The contract rules'
    samples depend on the AgentContract object, which admission does not look up (GitOps
    ordering), except a missing contractRef, which is in the agent itself."""
    out = []
    for path in sorted(POLICIES.glob("*/*/samples/disallowed/*.yaml.sample")):
        rule = path.parents[2]
        enforcement = re.search(r"enforcement:\s*(\w+)", (rule / "policy.rego").read_text())
        if enforcement is None or enforcement.group(1) != "deny":
            continue
        if rule.parent.name == "contract" and path.name != "no-contract-ref.yaml.sample":
            continue
        if rule.name == "alerts_exist":
            continue  # PrometheusRules are other objects, deferred at admission too
        if "# golive-sample-observed:" in path.read_text():
            continue  # judged on what Prometheus observes; this operator reads none
        out.append(path)
    # The one contract sample judged at the door must be there (its name is matched exactly).
    assert any(p.name == "no-contract-ref.yaml.sample" for p in out), "no-contract-ref sample"
    return out


def policy_id(path: Path) -> str:
    rule = path.parents[2]
    return f"golive.{rule.parent.name}.{rule.name}"


def kubectl_apply(cluster: ControlPlane, manifest: str, *extra: str) -> tuple[int, str, str]:
    proc = cluster.kubectl("apply", *extra, "-f", "-", input=manifest, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize(
    "path", denied_at_the_door(), ids=lambda p: f"{p.parents[2].name}/{p.stem}"
)
def test_a_disallowed_sample_is_refused_with_its_violations(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str, path: Path
) -> None:
    manifest, name = sample(path, namespace)
    label_like_sample(cluster, path, namespace, manifest)
    code, _, stderr = kubectl_apply(cluster, manifest)
    assert code != 0, stderr
    assert WEBHOOK in stderr and f"golive denied {name}: [" in stderr, stderr
    assert f"[{policy_id(path)}] spec." in stderr, stderr
    assert get(cluster, "agd", namespace, name) is None


def test_a_denial_lists_every_violation_with_field_and_message(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    bad = agent(namespace)
    bad["spec"]["owner"] = {"name": "Platform Team", "email": "platform@example.com"}
    del bad["spec"]["fallback"]
    code, _, stderr = kubectl_apply(cluster, json.dumps(bad))
    assert code != 0
    assert "[golive.ownership.single_owner] spec.owner.name: " in stderr
    assert "[golive.ownership.single_owner] spec.owner.email: " in stderr
    assert "[golive.fallback.fallback_defined] spec.fallback" in stderr
    assert stderr.count("; [golive.") >= 2, stderr


def test_server_side_dry_run_gets_the_same_verdict_and_stores_nothing(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    before = operator.metrics()
    bad = POLICIES / "ownership/single_owner/samples/disallowed/team-alias-owner.yaml.sample"
    manifest, name = sample(bad, namespace)
    wet_code, _, wet = kubectl_apply(cluster, manifest)
    dry_code, _, dry = kubectl_apply(cluster, manifest, "--dry-run=server")
    assert wet_code != 0 and dry_code != 0

    def verdict(stderr: str) -> str:
        return stderr[stderr.index("golive denied") :].strip()

    assert verdict(dry) == verdict(wet)

    good = POLICIES / "ownership/single_owner/samples/allowed/invoice-triage.yaml.sample"
    other_ns = f"{namespace}-dry"
    cluster.kubectl("create", "namespace", other_ns)
    try:
        manifest, name = sample(good, other_ns)
        code, stdout, stderr = kubectl_apply(cluster, manifest, "--dry-run=server")
        assert code == 0, stderr
        assert "(server dry run)" in stdout
        assert get(cluster, "agd", other_ns, name) is None
        events = json.loads(cluster.kubectl("get", "events", "-n", other_ns, "-o", "json").stdout)
        assert events["items"] == []  # the webhook writes nothing
    finally:
        cluster.kubectl("delete", "namespace", other_ns, "--wait=false", check=False)
    after = operator.metrics()
    assert _counter(after, "admission-dryrun", "admitted") > _counter(
        before, "admission-dryrun", "admitted"
    )
    assert _counter(after, "admission-dryrun", "blocked") > _counter(
        before, "admission-dryrun", "blocked"
    )


def test_a_warn_only_violation_is_stored_and_kubectl_shows_the_warning(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    path = POLICIES / "governance/review_cadence/samples/disallowed/no-review-cadence.yaml.sample"
    manifest, name = sample(path, namespace)
    code, _, stderr = kubectl_apply(cluster, manifest)
    assert code == 0, stderr
    assert "Warning: golive warn [golive.governance.review_cadence] " in stderr, stderr
    assert "spec.governance.reviewCadence" in stderr
    assert get(cluster, "agd", namespace, name) is not None
    wait_admitted(cluster, namespace, name, "True")  # warn admits in reconcile too


def test_a_compliant_agent_is_stored_and_admitted_without_warnings(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    # examples/invoice-triage.yaml meets every rule, warn rules included (a policy's allowed
    # sample only meets that policy's rule), but one: its approval is not signed (no key of
    # the example's approver exists), which golive.governance.signed_approvals warns about.
    apply(cluster, contract(namespace))
    code, stdout, stderr = kubectl_apply(cluster, json.dumps(agent(namespace)))
    assert code == 0, stderr
    assert "agentdeployment.golive.dev/invoice-triage created" in stdout
    warnings = [line for line in stderr.splitlines() if "golive" in line]
    assert len(warnings) == 1, stderr
    assert warnings[0].startswith(
        "Warning: golive warn [golive.governance.signed_approvals] "
        "spec.governance.approvals[0].signature: approval by Lee Park is not signed"
    ), stderr
    wait_admitted(cluster, namespace, "invoice-triage", "True")


def test_an_update_is_reviewed_too(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace))
    bad = agent(namespace)
    bad["spec"]["owner"]["email"] = "ap-team@example.com"
    code, _, stderr = kubectl_apply(cluster, json.dumps(bad))
    assert code != 0 and "spec.owner.email" in stderr
    stored = get(cluster, "agd", namespace, "invoice-triage")
    assert stored is not None and stored["spec"]["owner"]["email"] == "dana.ruiz@example.com"


def test_gitops_order_agent_before_its_contract_is_admitted_then_gated(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    """Argo CD may apply the agent before its contract: the door admits it (the contract is
    not looked up at admission), the reconcile gate blocks it until the contract exists."""
    code, _, stderr = kubectl_apply(cluster, json.dumps(agent(namespace)))
    assert code == 0, stderr
    obj = wait_admitted(cluster, namespace, "invoice-triage", "False")
    assert any(
        v["policy"] == "golive.contract.contract_declared" and v["field"] == "spec.contractRef.name"
        for v in obj["status"]["violations"]
    )
    assert get(cluster, "deployment", namespace, "invoice-triage") is None
    apply(cluster, contract(namespace))
    wait_admitted(cluster, namespace, "invoice-triage", "True")
    assert get(cluster, "deployment", namespace, "invoice-triage") is not None


def test_an_active_exception_admits_at_the_door(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    waiver = exception(
        namespace, "owner-waiver", "invoice-triage", "golive.ownership.single_owner",
        "2099-01-01T00:00:00Z",
    )  # fmt: skip
    apply(cluster, waiver)
    # The webhook reads exceptions from the operator's watch cache: wait until it has it.
    bad = agent(namespace)
    bad["spec"]["owner"] = {"name": "Platform Team", "email": "platform@example.com"}
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": [contract(namespace), bad]})

    def admitted() -> str | None:
        code, _, stderr = kubectl_apply(cluster, manifest, "--dry-run=server")
        return stderr if code == 0 else None

    stderr = wait_for(admitted, what="the exception to reach the webhook")
    assert "golive excepted (waived by an active AgentException) " in stderr
    code, _, stderr = kubectl_apply(cluster, manifest)
    assert code == 0, stderr
    obj = wait_admitted(cluster, namespace, "invoice-triage", "True")
    assert any(v["enforcement"] == "excepted" for v in obj["status"]["violations"])


def test_malformed_reviews_get_400_and_the_server_stays_up(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    for body in (b"", b"{", b"[]", b'{"kind": "AdmissionReview"}', b"\xff" * 64):
        status, answer = operator.post_review(body)
        assert status == 400 and answer["error"], (body, status, answer)
    status, answer = operator.post_review(b"{}", path="/mutate")
    assert status == 404
    # A well-formed review posted directly gets a real verdict...
    bad = agent(namespace)
    bad["spec"]["owner"]["email"] = "ap-team@example.com"
    review = admission_review(bad)
    status, answer = operator.post_review(json.dumps(review).encode())
    response: Any = answer["response"]
    assert status == 200 and response["uid"] == review["request"]["uid"]
    assert response["allowed"] is False and "spec.owner.email" in response["status"]["message"]
    # ...a review for another resource is denied, not allowed...
    review["request"]["resource"] = {"group": "", "version": "v1", "resource": "pods"}
    status, answer = operator.post_review(json.dumps(review).encode())
    assert status == 200 and answer["response"]["allowed"] is False  # type: ignore[index]
    # ...and the API server still gets answers.
    code, _, stderr = kubectl_apply(cluster, json.dumps(bad))
    assert code != 0 and WEBHOOK in stderr
    assert operator.process is not None and operator.process.alive()


def test_admission_decisions_are_counted(operator: OperatorProcess) -> None:
    text = operator.metrics()
    assert _counter(text, "admission", "admitted") >= 1
    assert _counter(text, "admission", "blocked") >= 1
    assert 'golive_evaluation_seconds_count{engine="embedded",source="admission"}' in text


def test_webhook_down_with_fail_policy_gives_kubectl_a_clear_error(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    operator.stop()
    try:
        code, _, stderr = kubectl_apply(cluster, json.dumps(agent(namespace)))
        assert code != 0
        assert 'failed calling webhook "agentdeployments.golive.dev"' in stderr, stderr
        assert get(cluster, "agd", namespace, "invoice-triage") is None
        # golive's own namespace is exempt: the operator's home stays writable.
        own = "golive-system"
        cluster.kubectl("create", "namespace", own, check=False)
        exempt = agent(own, name=f"exempt-{uuid.uuid4().hex[:6]}")
        code, _, stderr = kubectl_apply(cluster, json.dumps(exempt))
        assert code == 0, stderr
        cluster.kubectl("delete", "agd", exempt["metadata"]["name"], "-n", own)
    finally:
        operator.start()  # same port: the registered URL is valid again
    code, _, stderr = kubectl_apply(cluster, json.dumps(agent(namespace)))
    assert code == 0, stderr


def _counter(text: str, source: str, result: str) -> float:
    pattern = rf'golive_decisions_total\{{result="{result}",source="{source}"\}} ([0-9.e+]+)'
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0
