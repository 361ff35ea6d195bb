"""The Prometheus Operator's real PrometheusRule CRD, from its Go module (no docker, no helm repo).

`go mod download -json github.com/prometheus-operator/prometheus-operator@<version>` puts the
module in Go's module cache (checked against sum.golang.org); the CRD the Prometheus Operator
ships is `example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml` in it. The
version is pinned in scripts/versions.env (PROMETHEUS_OPERATOR_VERSION).
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from kit.controlplane import (
    REPO,
    ControlPlane,
    HarnessError,
    ManagedProcess,
    free_port,
    go_module_dir,
    http_ok,
    tool_bin_dir,
    wait_until,
)

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
MODULE = "github.com/prometheus-operator/prometheus-operator"
CRD_FILE = "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
CRD_NAME = "prometheusrules.monitoring.coreos.com"


def pinned_version() -> str:
    for line in (REPO / "scripts" / "versions.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "PROMETHEUS_OPERATOR_VERSION" and value.strip():
            return value.strip()
    raise HarnessError("scripts/versions.env has no PROMETHEUS_OPERATOR_VERSION")


@functools.cache
def prometheus_rule_crd(version: str | None = None) -> Path:
    """The path of the real PrometheusRule CRD of the pinned (or given) Prometheus Operator."""
    version = version or pinned_version()
    crd = go_module_dir(MODULE, version) / CRD_FILE
    if not crd.is_file():
        raise HarnessError(f"{MODULE}@{version} has no {CRD_FILE}")
    return crd


def install_prometheus_rule_crd(plane: ControlPlane) -> None:
    """Apply the real CRD and wait until the API server serves PrometheusRules."""
    plane.apply(prometheus_rule_crd())
    plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")


def uninstall_prometheus_rule_crd(plane: ControlPlane) -> None:
    """Delete the CRD (and with it every PrometheusRule) and wait until it is gone."""
    plane.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true", "--timeout=60s")


# --- a real Prometheus, scraping what the agents' pods would serve -----------------------------

PROMETHEUS_CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{rules}/*.yaml"]
scrape_configs:
- job_name: agents
  # What `kubernetes_sd_configs: [{{role: pod}}]` with the relabelling in docs/observed.md gives:
  # one target per running pod of an agent, labelled namespace, agent (from the pod label
  # golive.dev/agent) and pod. PodDiscovery below writes the same targets from the real pods.
  file_sd_configs: [{{files: ["{targets}"], refresh_interval: 1s}}]
{extra}"""


@dataclass
class AgentTraffic:
    """What an agent's pods serve: rates per second, integrated into counters on each scrape."""

    requests: float = 0.0
    errors: float = 0.0
    cost: float | None = None  # None: the agent exports no cost counter
    ok_total: float = 0.0
    error_total: float = 0.0
    cost_total: float = 0.0
    last: float = field(default_factory=time.monotonic)

    def advance(self) -> None:
        now = time.monotonic()
        elapsed, self.last = now - self.last, now
        self.ok_total += max(0.0, self.requests - self.errors) * elapsed
        self.error_total += self.errors * elapsed
        self.cost_total += (self.cost or 0.0) * elapsed


class AgentExporter:
    """An HTTP server standing in for the agents' containers (KWOK pods run none): the path
    `/pods/<namespace>/<agent>/<pod>/metrics` serves that pod's series, in the metric names of
    docs/observed.md. The first pod of an agent (by name) carries its traffic, the others serve
    zeros, so sums by agent are the agent's rates."""

    def __init__(self) -> None:
        self.traffic: dict[tuple[str, str], AgentTraffic] = {}
        self.pods: dict[tuple[str, str], list[str]] = {}
        self.lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                if len(parts) != 5 or parts[0] != "pods" or parts[4] != "metrics":
                    self.send_error(404)
                    return
                body = exporter.exposition(parts[1], parts[2], parts[3]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def set(
        self,
        namespace: str,
        agent: str,
        *,
        requests: float,
        errors: float = 0.0,
        cost: float | None = None,
    ) -> None:
        with self.lock:
            traffic = self.traffic.setdefault((namespace, agent), AgentTraffic())
            traffic.advance()
            traffic.requests, traffic.errors, traffic.cost = requests, errors, cost

    def exposition(self, namespace: str, agent: str, pod: str) -> str:
        with self.lock:
            traffic = self.traffic.get((namespace, agent))
            pods = sorted(self.pods.get((namespace, agent), [pod]))
            carries = traffic is not None and pods and pods[0] == pod
            if carries:
                assert traffic is not None
                traffic.advance()
            ok = traffic.ok_total if carries and traffic else 0.0
            err = traffic.error_total if carries and traffic else 0.0
            name = "gen_ai_client_operation_duration_seconds_count"
            lines = [
                f'{name}{{gen_ai_operation_name="chat"}} {ok}',
                f'{name}{{gen_ai_operation_name="chat",error_type="timeout"}} {err}',
            ]
            if traffic is not None and traffic.cost is not None:
                lines.append(
                    f"gen_ai_client_cost_usd_total {traffic.cost_total if carries else 0.0}"
                )
            return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class PrometheusServer:
    """`prometheus` (built by scripts/tools.sh) on loopback, with 1 s scrape and rule intervals,
    rule files in `rules/` (reloaded through /-/reload) and file-based service discovery."""

    workdir: Path
    extra_scrape_configs: str = ""
    tie_to_parent: bool = True  # False: outlives the process that started it (make demo)
    port: int = 0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rules_dir(self) -> Path:
        return self.workdir / "rules"

    @property
    def targets_file(self) -> Path:
        return self.workdir / "targets.json"

    def start(self, timeout: float = 60.0) -> PrometheusServer:
        bin_dir = tool_bin_dir(["prometheus", "promtool"])
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rules_dir.mkdir(exist_ok=True)
        if not self.targets_file.exists():
            self.targets_file.write_text("[]")
        config = self.workdir / "prometheus.yml"
        config.write_text(
            PROMETHEUS_CONFIG.format(
                rules=self.rules_dir, targets=self.targets_file, extra=self.extra_scrape_configs
            )
        )
        self.port = self.port or free_port()
        self.process = ManagedProcess(
            "prometheus",
            [
                str(bin_dir / "prometheus"),
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            self.workdir / "prometheus.log",
            self.tie_to_parent,
        )
        self.process.start()
        wait_until(
            lambda: http_ok(f"{self.url}/-/ready"), timeout, "prometheus /-/ready", self.process
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def reload(self) -> None:
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status != 200:
                raise HarnessError(f"prometheus /-/reload answered {response.status}")

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
            return json.loads(response.read())

    def query(self, promql: str) -> list[dict[str, Any]]:
        return list(self.api("/api/v1/query", query=promql)["data"]["result"])

    def set_targets(self, targets: list[dict[str, Any]]) -> None:
        """Write file_sd targets atomically (Prometheus watches the file)."""
        tmp = self.targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(targets, sort_keys=True))
        tmp.replace(self.targets_file)

    def write_rules(self, rules: list[dict[str, Any]]) -> None:
        """Rule files from PrometheusRule objects, the way the Prometheus Operator writes them
        (one file `<namespace>-<name>-<uid>.yaml` per object, its spec.groups as they are), then
        a reload, as the operator's config-reloader does."""
        wanted = {}
        for rule in rules:
            meta = rule["metadata"]
            name = f"{meta['namespace']}-{meta['name']}-{meta.get('uid', 'file')}.yaml"
            wanted[name] = yaml.safe_dump({"groups": rule.get("spec", {}).get("groups", [])})
        for old in self.rules_dir.glob("*.yaml"):
            if old.name not in wanted:
                old.unlink()
        changed = False
        for name, text in wanted.items():
            path = self.rules_dir / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                changed = True
        if changed or len(wanted) != len(list(self.rules_dir.glob("*.yaml"))):
            self.reload()


class PodDiscovery:
    """Kubernetes service discovery as Prometheus' `role: pod` with the relabelling of
    docs/observed.md would do it: every Running pod labelled golive.dev/agent becomes a target
    labelled namespace, agent and pod; the exporter serves it. Polls the API server each second
    in a thread, and PrometheusRules too, so rule files follow the cluster."""

    def __init__(
        self,
        plane: ControlPlane | Kubectl,
        prometheus: PrometheusServer,
        exporter: AgentExporter,
        rules: bool = True,
    ) -> None:
        self.kubectl: Kubectl = plane.kubectl if isinstance(plane, ControlPlane) else plane
        self.prometheus, self.exporter, self.rules = prometheus, exporter, rules
        self.paused: set[tuple[str, str]] = set()  # agents whose scraping is stopped
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PodDiscovery:
        self.sync()
        self.thread.start()
        return self

    def sync(self) -> None:
        proc = self.kubectl(
            "get", "pods", "-A", "-l", "golive.dev/agent", "-o", "json", check=False
        )
        if proc.returncode != 0:
            self.errors.append(proc.stderr)
            return
        pods: dict[tuple[str, str], list[str]] = {}
        for pod in json.loads(proc.stdout)["items"]:
            meta = pod["metadata"]
            if pod.get("status", {}).get("phase") != "Running" or meta.get("deletionTimestamp"):
                continue
            key = (meta["namespace"], meta["labels"]["golive.dev/agent"])
            pods.setdefault(key, []).append(meta["name"])
        with self.exporter.lock:
            self.exporter.pods = pods
        targets = [
            {
                "targets": [self.exporter.address],
                "labels": {
                    "__metrics_path__": f"/pods/{namespace}/{agent}/{pod}/metrics",
                    "namespace": namespace,
                    "agent": agent,
                    "pod": pod,
                },
            }
            for (namespace, agent), names in sorted(pods.items())
            if (namespace, agent) not in self.paused
            for pod in sorted(names)
        ]
        self.prometheus.set_targets(targets)
        if self.rules:
            rules = self.kubectl("get", "prometheusrules", "-A", "-o", "json", check=False)
            if rules.returncode == 0:
                self.prometheus.write_rules(json.loads(rules.stdout)["items"])

    def _run(self) -> None:
        while not self.stopping.wait(1.0):
            try:
                self.sync()
            except Exception as error:  # keep discovering; the test sees errors if it asks
                self.errors.append(repr(error))

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)


def feed(argv: list[str]) -> int:
    """`python -m kit.prometheus feed ...`: the exporter and pod discovery as a process
    of their own, for `make demo` (whose servers outlive the command that starts them).

    --traffic NAMESPACE/AGENT=REQUESTS[,ERRORS[,COST]] (per second), repeatable."""
    parser = argparse.ArgumentParser(prog="feed")
    parser.add_argument("--kubectl", required=True)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--prometheus-dir", required=True, type=Path)
    parser.add_argument("--prometheus-url", required=True)
    parser.add_argument("--traffic", action="append", default=[])
    args = parser.parse_args(argv)

    def kubectl(*words: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [args.kubectl, "--kubeconfig", args.kubeconfig, *words]
        return subprocess.run(command, capture_output=True, text=True, check=check)

    exporter = AgentExporter()
    for spec in args.traffic:
        key, _, numbers = spec.partition("=")
        namespace, _, agent = key.partition("/")
        values = [float(v) for v in numbers.split(",")]
        exporter.set(
            namespace,
            agent,
            requests=values[0],
            errors=values[1] if len(values) > 1 else 0.0,
            cost=values[2] if len(values) > 2 else None,
        )
    server = PrometheusServer(args.prometheus_dir)
    server.port = int(args.prometheus_url.rsplit(":", 1)[1])
    discovery = PodDiscovery(kubectl, server, exporter)
    discovery.sync()
    discovery._run()  # until the process is stopped
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["feed"]:
        sys.exit(feed(sys.argv[2:]))
    sys.exit("usage: python -m kit.prometheus feed --kubectl K --kubeconfig C ...")
