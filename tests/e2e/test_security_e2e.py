"""Security on the real control plane: no token or secret value leaks into the operator's logs,
an agent's status or its events, even at verbose logging and when an agent is blocked."""

from __future__ import annotations

import json
from pathlib import Path

from kit.controlplane import ControlPlane
from kit.operator import OperatorProcess
from tests.e2e.agents import agent, apply, contract, wait_admitted

SECRET = "sk-live-9f8e7d6c5b4a3f2e1d0c"


def test_no_tokens_or_secret_values_in_logs_status_or_events(
    cluster: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    cluster.kubectl(
        "create", "secret", "generic", "model-key", f"--from-literal=key={SECRET}", "-n", namespace
    )
    op = OperatorProcess(cluster, tmp_path / "op", extra_args=["--verbose"], webhook=True)
    try:
        op.start()
        good = agent(namespace, name="uses-a-secret")
        container = good["spec"]["template"]["spec"]["containers"][0]
        # A literal value in the pod template, and a reference to the Secret: the first is
        # bad practice, but golive must not copy it anywhere it did not come from.
        container["env"] = [
            {"name": "INLINE_KEY", "value": SECRET},
            {
                "name": "MODEL_KEY",
                "valueFrom": {"secretKeyRef": {"name": "model-key", "key": "key"}},
            },
        ]
        bad = json.loads(json.dumps(good))
        bad["metadata"]["name"] = "blocked-with-secret"
        bad["spec"]["owner"] = {"name": "Ops Team", "email": "ops@example.com"}
        apply(cluster, contract(namespace), good)
        refused = cluster.kubectl("apply", "-f", "-", input=json.dumps(bad), check=False)
        # Denied at the door, with golive's message, which does not repeat the secret either.
        assert refused.returncode != 0, refused.stdout
        assert "golive denied blocked-with-secret" in refused.stderr, refused.stderr
        assert SECRET not in refused.stderr + refused.stdout
        wait_admitted(cluster, namespace, "uses-a-secret", "True")
        items = json.loads(cluster.kubectl("get", "agd", "-n", namespace, "-o", "json").stdout)
        # Only what golive writes: the spec (and kubectl's last-applied annotation) is the user's.
        statuses = json.dumps([i.get("status") for i in items["items"]])
        events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
        log = op.log()
        assert "Admitted" in events and "uses-a-secret" in log  # we did read what was written
        for where, text in (("operator log", log), ("status", statuses), ("events", events)):
            assert SECRET not in text, where
            assert cluster.admin_token not in text, where
            assert cluster.user_token not in text, where
        assert '"conditions"' in statuses  # the statuses were really there to search
    finally:
        op.stop()
        op.delete_webhook_config()
