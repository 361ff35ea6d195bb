"""High availability: two operator processes on one apiserver. Exactly one reconciles (Lease),
both serve the webhook; SIGKILL the leader and the other takes over, with no double writes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tests.e2e.agents import agent, apply, contract, get, wait_admitted, wait_for
from tests.harness.controlplane import ControlPlane
from tests.harness.operator import OperatorProcess

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
