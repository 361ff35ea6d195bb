"""The real operator process (`golive run`) against a test control plane, and policy ConfigMaps."""

from __future__ import annotations

import base64
import copy
import json
import ssl
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.domain.api import POLICY_LABEL
from kit.controlplane import ControlPlane, ManagedProcess, free_port, wait_until


def policy_configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, object]:
    """A ConfigMap of Rego modules, labelled as the operator's policy source."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {POLICY_LABEL: "true"}},
        "data": data,
    }


def policy_configmaps(policies: Path, namespace: str) -> list[dict[str, object]]:
    """One ConfigMap per policy folder (and one for lib), as the Helm chart ships them."""
    groups: dict[str, dict[str, str]] = {}
    for path in sorted(policies.rglob("*.rego")):
        if path.name.endswith("_test.rego"):
            continue
        rel = path.relative_to(policies)
        group = "-".join(rel.parts[:2]).replace("_", "-")
        key = ".".join(rel.parts).replace("/", ".")
        groups.setdefault(group, {})[key] = path.read_text()
    return [
        policy_configmap(f"golive-policy-{group}", namespace, data)
        for group, data in groups.items()
    ]


# The environment the image (Dockerfile) and the chart (deployment.yaml) run golive with, so a
# benchmark measures what ships (tests/unit/test_chart_files.py checks the three agree): glibc's
# malloc keeps at most two arenas (it makes one per thread that contends, up to 8 per core, and
# the reconcile threads parse JSON bodies at once: memory it never returns). No GOMEMLIMIT: at
# 40MiB an allocation-heavy policy evaluated 5x slower (the GC runs without pause near the
# limit; docs/performance.md), and a policy library is the user's to write.
OPERATOR_ENV = {"MALLOC_ARENA_MAX": "2"}


@dataclass
class OperatorProcess:
    cluster: ControlPlane
    workdir: Path
    engine: str = "embedded"
    opa_url: str | None = None
    # None: golive's SAFE library (the repo's policies/, shipped in the package); a folder:
    # that folder is the whole library (--no-safe-library).
    policies: Path | None = None
    policy_namespace: str | None = None
    extra_args: list[str] = field(default_factory=list)
    metrics_port: int = 0
    health_port: int = 0
    process: ManagedProcess | None = None
    # The admission webhook on loopback, registered by URL by the operator itself.
    webhook: bool = False
    webhook_port: int = 0  # kept across restarts, so the registered URL stays valid
    webhook_failure_policy: str = "Fail"
    webhook_ca: bytes = b""  # the caBundle the operator registered (its self-signed CA)

    WEBHOOK_CONFIG = "golive"

    def start(self, timeout: float = 60.0) -> OperatorProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.metrics_port = free_port()
        self.health_port = free_port()
        argv = [
            sys.executable,
            "-m",
            "controller.cli",
            "run",
            "--kubeconfig",
            str(self.cluster.kubeconfig),
            "--engine",
            self.engine,
            "--metrics-port",
            str(self.metrics_port),
            "--health-port",
            str(self.health_port),
            "--log-format",
            "plain",
            *self.extra_args,
        ]
        if self.webhook:
            self.webhook_port = self.webhook_port or free_port()
            argv += [
                "--webhook-port",
                str(self.webhook_port),
                "--webhook-host",
                "127.0.0.1",
                "--webhook-register",
                "--webhook-failure-policy",
                self.webhook_failure_policy,
            ]
        if self.opa_url:
            argv += ["--opa-url", self.opa_url]
        if self.policy_namespace:
            argv += ["--policy-namespace", self.policy_namespace]
        elif self.policies:
            argv += ["--no-safe-library", "--policies", str(self.policies)]
        self.process = ManagedProcess(
            "golive-operator", argv, self.workdir / "operator.log", env=dict(OPERATOR_ENV)
        )
        self.process.start()
        wait_until(self.healthy, timeout, "the operator's /healthz", self.process)
        if self.webhook:
            wait_until(self.webhook_ready, timeout, "the admission webhook", self.process)
        return self

    @property
    def webhook_url(self) -> str:
        return f"https://127.0.0.1:{self.webhook_port}/validate"

    def webhook_ready(self) -> bool:
        """Registered with this process's URL, policies loaded, and answering on /validate."""
        proc = self.cluster.kubectl(
            "get", "validatingwebhookconfiguration", self.WEBHOOK_CONFIG, "-o", "json", check=False
        )
        if proc.returncode != 0:
            return False
        config = json.loads(proc.stdout)["webhooks"][0]["clientConfig"]
        if config.get("url") != self.webhook_url:
            return False
        self.webhook_ca = base64.b64decode(config["caBundle"])
        if "golive_policy_loaded 1.0" not in self.metrics():
            return False
        try:
            self.post_review(b"{}")  # any answer (a 400 here) means it serves
        except OSError:
            return False
        return True

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.webhook_ca.decode())

    def post_review(self, body: bytes, path: str = "/validate") -> tuple[int, dict[str, object]]:
        """POST raw bytes to the webhook; (HTTP status, JSON answer)."""
        url = f"https://127.0.0.1:{self.webhook_port}{path}"
        req = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl_context()) as resp:
                return int(resp.status), dict(json.loads(resp.read()))
        except urllib.error.HTTPError as error:
            return int(error.code), dict(json.loads(error.read() or b"{}"))

    def delete_webhook_config(self) -> None:
        self.cluster.kubectl(
            "delete",
            "validatingwebhookconfiguration",
            self.WEBHOOK_CONFIG,
            "--ignore-not-found",
            check=False,
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=1):
                return True
        except OSError:
            return False

    def metrics(self, timeout: float = 5.0) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return str(resp.read().decode())

    def log(self) -> str:
        return self.process.log_tail(20000) if self.process else ""

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def kill(self) -> None:
        if self.process:
            self.process.kill()


def apply_objects(cluster: ControlPlane, objects: list[dict[str, object]]) -> None:
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}),
    )


AGENT_GVK = {"group": "golive.dev", "version": "v1alpha1", "kind": "AgentDeployment"}
AGENT_GVR = {"group": "golive.dev", "version": "v1alpha1", "resource": "agentdeployments"}


def admission_review(
    obj: dict[str, Any],
    operation: str = "CREATE",
    dry_run: bool = False,
    username: str = "admin",
) -> dict[str, Any]:
    """An AdmissionReview as kube-apiserver sends it for an AgentDeployment.

    Always a fresh, deep copy: tests mutate reviews (fuzzing, malformed bodies), and a shared
    nested dict would carry one test's mutation into every later review.
    """
    found = obj.get("metadata")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    options_kind = "CreateOptions" if operation == "CREATE" else "UpdateOptions"
    return copy.deepcopy(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": str(uuid.uuid4()),
                "kind": AGENT_GVK,
                "resource": AGENT_GVR,
                "requestKind": AGENT_GVK,
                "requestResource": AGENT_GVR,
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "operation": operation,
                "userInfo": {"username": username, "groups": ["system:authenticated"]},
                "object": obj,
                "oldObject": obj if operation == "UPDATE" else None,
                "dryRun": dry_run,
                "options": {"apiVersion": "meta.k8s.io/v1", "kind": options_kind},
            },
        }
    )
