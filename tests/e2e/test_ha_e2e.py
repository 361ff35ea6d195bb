"""High availability: two operator processes on one apiserver. Exactly one reconciles (Lease),
both serve the webhook; SIGKILL the leader and the other takes over, with no double writes."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from kit.controlplane import REPO, ControlPlane
from kit.operator import OperatorProcess
from tests.e2e.agents import agent, apply, contract, get, wait_admitted, wait_for

LEASE_SECONDS = 4.0


def gauge(op: OperatorProcess, name: str) -> float:
    match = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", op.metrics(), re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def applies(op: OperatorProcess) -> float:
    return gauge(op, "golive_deployment_applies_total")


def decisions(op: OperatorProcess) -> float:
    text = op.metrics()
    return sum(
        float(v)
        for v in re.findall(
            r'^golive_decisions_total{[^}]*source="reconcile"[^}]*} (\S+)$', text, re.M
        )
    )


def test_one_leader_reconciles_and_the_other_takes_over(
    cluster: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    args = ["--leader-election-namespace", namespace, "--lease-duration", str(LEASE_SECONDS)]
    # failurePolicy Ignore: the registered webhook URL is one replica's; this test is about
    # reconciling, and both replicas' webhooks are checked directly below.
    a = OperatorProcess(
        cluster, tmp_path / "a", extra_args=args, webhook=True, webhook_failure_policy="Ignore"
    )
    b = OperatorProcess(
        cluster, tmp_path / "b", extra_args=args, webhook=True, webhook_failure_policy="Ignore"
    )
    try:
        a.start()
        b.start()
        wait_for(
            lambda: gauge(a, "golive_leader") + gauge(b, "golive_leader") == 1, 20, "one leader"
        )
        leader, follower = (a, b) if gauge(a, "golive_leader") == 1 else (b, a)

        apply(cluster, contract(namespace), *(agent(namespace, name=f"ha-{i}") for i in range(6)))
        for i in range(6):
            wait_admitted(cluster, namespace, f"ha-{i}", "True")
        time.sleep(1)  # let any stray write by the follower show up in its metrics
        assert applies(leader) == 6 and applies(follower) == 0
        assert decisions(follower) == 0  # the follower decided nothing: no double writes

        # Both serve the webhook.
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}
        for op in (a, b):
            status, _ = op.post_review(json.dumps(review).encode())
            assert status == 400  # answered (a malformed review), so it serves

        leader.kill()
        killed = time.monotonic()
        wait_for(lambda: gauge(follower, "golive_leader") == 1, 30, "the follower to take over")
        takeover = time.monotonic() - killed
        print(f"takeover after SIGKILL: {takeover:.1f}s (lease {LEASE_SECONDS}s)")
        assert takeover <= LEASE_SECONDS + 4

        # The new leader reconciles new work, and finds nothing to redo for the old.
        apply(cluster, agent(namespace, name="ha-after"))
        wait_admitted(cluster, namespace, "ha-after", "True")
        edited = agent(namespace, name="ha-0")
        edited["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/x:2"
        apply(cluster, edited)
        wait_admitted(cluster, namespace, "ha-0", "True", generation=2)
        assert applies(follower) == 2  # ha-after and ha-0 generation 2, nothing re-applied
        deployments = json.loads(
            cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout
        )
        assert len(deployments["items"]) == 7
        dep = get(cluster, "deployment", namespace, "ha-0")
        assert (
            dep is not None
            and dep["metadata"]["annotations"]["golive.dev/admitted-generation"] == "2"
        )
    finally:
        a.stop()
        b.stop()
        a.delete_webhook_config()


# A rule that never fires but takes ~0.3 s: reconciles stay in flight long enough for the lease
# to be lost in the middle of them.
SLOW_RULE = """# METADATA
# title: Slow on purpose
# custom:
#   enforcement: deny
#   severity: low
package golive.slow.burn

import rego.v1

deny contains {"field": "spec", "msg": "never"} if {
	count([x | some x in numbers.range(1, 600000)]) < 0
}
"""

BLOCK_RENEWALS = """apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {name}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ["coordination.k8s.io"]
      apiVersions: ["v1"]
      operations: ["UPDATE"]
      resources: ["leases"]
  validations:
  - expression: "object.spec.holderIdentity != '{identity}'"
    message: "the test blocks renewals by {identity}"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {name}}}
spec:
  policyName: {name}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {{kubernetes.io/metadata.name: {namespace}}}
"""


def writes(op: OperatorProcess) -> float:
    return applies(op) + gauge(op, "golive_status_writes_total")


def test_a_leader_whose_renewals_are_blocked_stops_writing_mid_reconcile(
    cluster: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """Fencing: the leader's lease renewals are refused (a real ValidatingAdmissionPolicy on the
    apiserver) while it has reconciles in flight. It must stop writing once it cannot renew
    before the lease expires, before the other replica takes over: no write by it afterwards,
    and every agent decided exactly once by the new leader."""
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    (policies / "slow" / "burn").mkdir(parents=True)
    (policies / "slow" / "burn" / "policy.rego").write_text(SLOW_RULE)
    # Two workers: 30 slow reconciles then span several seconds (in flight when the lease is
    # lost) while each decision stays far below the engine's 2 s deadline on 2 cores (with 8
    # workers sharing them, a decision could pass it, go Unknown and back off).
    args = [
        "--leader-election-namespace", namespace, "--lease-duration", str(LEASE_SECONDS),
        "--workers", "2",
    ]  # fmt: skip
    ops = [OperatorProcess(cluster, tmp_path / n, policies=policies, extra_args=args) for n in "ab"]
    blocker = f"block-renewals-{namespace}"
    try:
        for op in ops:
            op.start()
        wait_for(lambda: sum(gauge(op, "golive_leader") for op in ops) == 1, 20, "one leader")
        leader, follower = sorted(ops, key=lambda op: -gauge(op, "golive_leader"))
        lease = json.loads(
            cluster.kubectl("get", "lease", "golive-operator", "-n", namespace, "-o", "json").stdout
        )
        identity = lease["spec"]["holderIdentity"]
        assert leader.process is not None and f"-{leader.process.pid}-" in identity

        agents = [agent(namespace, name=f"fence-{i}") for i in range(30)]
        apply(cluster, contract(namespace), *agents)
        cluster.kubectl(
            "apply", "-f", "-",
            input=BLOCK_RENEWALS.format(name=blocker, identity=identity, namespace=namespace),
        )  # fmt: skip
        wait_for(lambda: gauge(leader, "golive_leader") == 0, 20, "the leader to step down")
        time.sleep(1.0)  # a write that passed the fence just before it closed has landed
        after_step_down = writes(leader)
        wait_for(lambda: gauge(follower, "golive_leader") == 1, 30, "the follower to take over")
        for i in range(30):
            wait_admitted(cluster, namespace, f"fence-{i}", "True", timeout=90)
        time.sleep(1.0)

        fenced = gauge(leader, "golive_fenced_writes_total")
        print(f"fenced writes: {fenced:.0f}; leader writes before stepping down: {after_step_down}")
        assert writes(leader) == after_step_down, "the old leader wrote after stepping down"
        assert fenced >= 1, "the lease was lost with no reconcile in flight: nothing was fenced"
        deployments = json.loads(
            cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout
        )["items"]
        assert sorted(d["metadata"]["name"] for d in deployments) == sorted(
            a["metadata"]["name"] for a in agents
        )
        assert applies(leader) + applies(follower) == 30  # each Deployment applied once
    finally:
        cluster.kubectl("delete", "validatingadmissionpolicybinding,validatingadmissionpolicy",
                        blocker, "--ignore-not-found", check=False)  # fmt: skip
        for op in ops:
            op.stop()
