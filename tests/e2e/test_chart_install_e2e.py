"""The Helm chart installed for real, and its RBAC proven sufficient by the operator's own work.

`helm install` (the built helm) puts the chart into the full cluster: CRDs, RBAC, ServiceAccount,
webhook configuration, policy ConfigMaps, and the operator Deployment, whose pods KWOK runs (no
image is pulled), so the Deployment reaches Available. KWOK runs no container, so the operator
itself then runs as a local process with exactly the chart's arguments and environment and the
token of the chart's ServiceAccount (`kubectl create token`): every call it makes in the operator
and webhook flows below is authorized by the chart's ClusterRole alone. The only stand-in is the
network path: there is no kube-proxy, so the chart's webhook configuration is pointed at the
local process by URL (with a certificate for 127.0.0.1) instead of at the Service.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from controller.k8s.certs import write_self_signed
from kit.cluster import Cluster
from kit.controlplane import (
    REPO,
    HarnessError,
    ManagedProcess,
    free_port,
    tool_bin_dir,
    wait_until,
)
from tests.e2e.agents import agent, apply, condition, contract, get, wait_admitted, wait_for

CHART = REPO / "charts" / "golive"
RELEASE = "golive"


@dataclass
class Installed:
    namespace: str
    deployment: dict[str, Any]
    helm: Path


@pytest.fixture(scope="module")
def installed(full_cluster: Cluster) -> Iterator[Installed]:
    """The chart installed with `helm install --wait` (operator Deployment Available on KWOK)."""
    helm = tool_bin_dir(["helm"]) / "helm"
    namespace = f"golive-system-{secrets.token_hex(3)}"
    base = [str(helm), "--kubeconfig", str(full_cluster.kubeconfig), "--namespace", namespace]
    try:
        _run(
            *base,
            "install",
            RELEASE,
            str(CHART),
            "--create-namespace",
            "--set",
            "image.repository=registry.example.com/golive",
            "--set",
            "image.tag=0.1.0",
            "--wait",
            "--timeout",
            "120s",
        )
        deployment = json.loads(
            full_cluster.kubectl("get", "deployment", RELEASE, "-n", namespace, "-o", "json").stdout
        )
        yield Installed(namespace, deployment, helm)
    finally:
        # Uninstall removes the webhook configuration, so other tests' applies are not refused.
        _run(*base, "uninstall", RELEASE, "--wait", "--timeout", "60s", check=False)
        full_cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def _run(*argv: str, check: bool = True) -> str:
    import subprocess

    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=240)
    if check and proc.returncode != 0:
        raise HarnessError(f"{' '.join(argv[:4])}... failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def test_the_chart_installs_and_its_operator_deployment_becomes_available(
    full_cluster: Cluster, installed: Installed
) -> None:
    ns = installed.namespace
    dep = installed.deployment
    assert dep["status"]["availableReplicas"] == dep["spec"]["replicas"] == 2
    pods = json.loads(
        full_cluster.kubectl(
            "get", "pods", "-n", ns, "-l", "app.kubernetes.io/name=golive", "-o", "json"
        ).stdout
    )["items"]
    assert len(pods) == 2
    assert {p["spec"]["nodeName"] for p in pods} <= set(full_cluster.node_names)
    assert all(p["status"]["phase"] == "Running" for p in pods)
    sa = dep["spec"]["template"]["spec"]["serviceAccountName"]
    full_cluster.kubectl("get", "serviceaccount", sa, "-n", ns)
    full_cluster.kubectl("get", "clusterrole,clusterrolebinding", RELEASE)
    config = json.loads(
        full_cluster.kubectl("get", "validatingwebhookconfiguration", "-o", "json").stdout
    )["items"]
    ours = [c for c in config if c["metadata"]["name"].startswith(RELEASE)]
    assert len(ours) == 1 and ours[0]["webhooks"][0]["failurePolicy"] == "Fail"
    assert ours[0]["webhooks"][0]["clientConfig"]["service"]["namespace"] == ns
    maps = full_cluster.kubectl(
        "get", "configmaps", "-n", ns, "-l", "golive.dev/policy=true", "-o", "name"
    ).stdout.split()
    assert len(maps) >= 5


def test_the_webhook_fails_closed_while_the_operator_is_unreachable(
    full_cluster: Cluster, installed: Installed, full_namespace: str
) -> None:
    # The chart's pods are simulated: the Service has endpoints but nothing answers there.
    # failurePolicy Fail means nothing goes live unchecked.
    proc = full_cluster.kubectl(
        "apply", "-f", "-", input=json.dumps(agent(full_namespace)), check=False
    )
    assert proc.returncode != 0
    assert "failed calling webhook" in proc.stderr


@dataclass
class LocalOperator:
    process: ManagedProcess
    metrics_port: int

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            return str(resp.read().decode())


@pytest.fixture(scope="module")
def operator_as_chart_identity(
    full_cluster: Cluster, installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalOperator]:
    """`golive run` with the chart's args and env, as the chart's ServiceAccount."""
    ns = installed.namespace
    workdir = tmp_path_factory.mktemp("chart-operator")
    pod_spec = installed.deployment["spec"]["template"]["spec"]
    (container,) = pod_spec["containers"]
    token = full_cluster.kubectl(
        "create", "token", pod_spec["serviceAccountName"], "-n", ns, "--duration=1h"
    ).stdout.strip()
    kubeconfig = workdir / "serviceaccount.kubeconfig"
    full_cluster.write_kubeconfig(kubeconfig, f"system:serviceaccount:{ns}", token)

    webhook_port, health_port, metrics_port = free_port(), free_port(), free_port()
    certs = write_self_signed(["127.0.0.1"], workdir / "tls")
    env = {e["name"]: str(e.get("value", "")) for e in container.get("env", []) if "value" in e}
    env.update(
        POD_NAMESPACE=ns,
        POD_NAME="golive-local-0",
        GOLIVE_WEBHOOK_PORT=str(webhook_port),
        GOLIVE_WEBHOOK_CERT_DIR=str(certs.certfile.parent),
        TMPDIR=str(workdir),
    )
    args = [a.replace("$(POD_NAMESPACE)", ns) for a in container["args"]]
    args = [a for a in args if not re.match(r"--(health|metrics)-port=", a)]
    argv = [
        sys.executable,
        "-m",
        "controller.cli",
        *args,
        "--kubeconfig",
        str(kubeconfig),
        f"--health-port={health_port}",
        f"--metrics-port={metrics_port}",
        "--log-format=plain",
    ]
    assert env["GOLIVE_LEADER_ELECTION_NAMESPACE"] == ns  # the chart's HA settings, as installed
    process = ManagedProcess("golive-chart-identity", argv, workdir / "operator.log", env=env)
    process.start()
    try:
        wait_until(lambda: _ok(f"http://127.0.0.1:{health_port}/healthz"), 60, "healthz", process)
        # No kube-proxy here: send the chart's webhook to the local process by URL.
        (config,) = [
            c
            for c in json.loads(
                full_cluster.kubectl("get", "validatingwebhookconfiguration", "-o", "json").stdout
            )["items"]
            if c["metadata"]["name"].startswith(RELEASE)
        ]
        patch = [
            {
                "op": "replace",
                "path": "/webhooks/0/clientConfig",
                "value": {
                    "url": f"https://127.0.0.1:{webhook_port}/validate",
                    "caBundle": base64.b64encode(certs.ca_pem).decode(),
                },
            }
        ]
        full_cluster.kubectl(
            "patch",
            "validatingwebhookconfiguration",
            config["metadata"]["name"],
            "--type=json",
            "-p",
            json.dumps(patch),
        )
        local = LocalOperator(process, metrics_port)
        wait_until(lambda: "golive_policy_loaded 1.0" in local.metrics(), 60, "policies", process)
        yield local
    finally:
        process.stop()
        log = process.log_tail(200_000)
        # Least privilege is only proven if nothing was refused along the way.
        # A refusal as the Kubernetes client and golive's log say it ("(403)", "403 Forbidden",
        # "forbidden"); not any 403, which log timestamps' milliseconds also show (",403]").
        assert not re.search(r"\(403\)|\b403 Forbidden|[Ff]orbidden", log), log[-4000:]


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def test_the_chart_identity_runs_the_operator_flows(
    full_cluster: Cluster, operator_as_chart_identity: LocalOperator, full_namespace: str
) -> None:
    ns = full_namespace
    apply(full_cluster, contract(ns), agent(ns))
    wait_admitted(full_cluster, ns, "invoice-triage", "True", timeout=60)
    ready = full_cluster.kubectl(
        "wait",
        "--for=condition=Ready",
        "agd/invoice-triage",
        "-n",
        ns,
        "--timeout=60s",
        check=False,
    )
    # What to look at when Ready never came: the agent's status, its Deployment's, the log.
    assert ready.returncode == 0, (
        ready.stderr
        + full_cluster.kubectl("get", "agd,deploy,rs,pods", "-n", ns, "-o", "yaml").stdout[-6000:]
        + operator_as_chart_identity.process.log_tail(6000)
    )
    reasons = {
        e["reason"]
        for e in json.loads(full_cluster.kubectl("get", "events", "-n", ns, "-o", "json").stdout)[
            "items"
        ]
    }
    assert "Admitted" in reasons

    # A stalled rollout: Ready's message lists the pods' reasons (pods list permission).
    stuck = agent(ns, name="stuck-agent")
    stuck["spec"]["progressDeadlineSeconds"] = 2
    stuck["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    apply(full_cluster, stuck)
    ready = wait_for(
        lambda: (
            c
            if (c := condition(get(full_cluster, "agd", ns, "stuck-agent"), "Ready")).get("reason")
            == "RolloutStalled"
            else None
        ),
        60,
        "RolloutStalled",
    )
    assert "Pending: 0/1 nodes are available" in ready["message"]


def test_the_chart_identity_serves_the_webhook_verdict(
    full_cluster: Cluster, operator_as_chart_identity: LocalOperator, full_namespace: str
) -> None:
    ns = full_namespace
    apply(full_cluster, contract(ns))
    bad = agent(ns)
    bad["spec"]["owner"] = {"name": "Platform Team", "email": "platform@example.com"}
    for dry_run in ([], ["--dry-run=server"]):
        proc = full_cluster.kubectl(
            "apply", *dry_run, "-f", "-", input=json.dumps(bad), check=False
        )
        assert proc.returncode != 0, proc.stdout
        assert "denied the request" in proc.stderr and "spec.owner.name" in proc.stderr
    assert get(full_cluster, "agd", ns, "invoice-triage") is None
    assert (
        'golive_decisions_total{result="blocked",source="admission"}'
        in operator_as_chart_identity.metrics()
    )
