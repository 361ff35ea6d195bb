"""`make demo`: a local cluster, CRDs, operator and examples, then `kubectl get agd`.

The cluster is the harness's full one (tests/harness/cluster.py): etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and a KWOK node, so admitted agents really roll out and
turn Ready; no container runs.

`up` leaves the servers running in the background (state in .golive/demo/) so you can keep using
kubectl; `down` stops them. Nothing here needs docker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.cluster import Cluster  # noqa: E402
from tests.harness.controlplane import (  # noqa: E402
    ControlPlane,
    HarnessError,
    ManagedProcess,
    free_port,
    http_ok,
    pid_alive,
    wait_until,
)
from tests.harness.prometheus import install_prometheus_rule_crd  # noqa: E402

STATE_DIR = REPO / ".golive" / "demo"
STATE_FILE = STATE_DIR / "state.json"


def say(msg: str) -> None:
    print(f"\033[1m==> {msg}\033[0m", flush=True)


def down() -> None:
    if not STATE_FILE.exists():
        say("nothing to stop")
        return
    state = json.loads(STATE_FILE.read_text())
    for pid in reversed(state["pids"]):
        if pid_alive(pid):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(pid_alive(p) for p in state["pids"]):
        time.sleep(0.2)
    for pid in state["pids"]:
        if pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    say("demo stopped")


def start_operator(plane: ControlPlane) -> ManagedProcess:
    """The real operator on the embedded engine, in the background like the servers."""
    golive = REPO / ".venv" / "bin" / "golive"
    metrics_port, health_port = free_port(), free_port()
    operator = ManagedProcess(
        "golive-operator",
        [
            str(golive),
            "run",
            "--engine",
            "embedded",
            "--kubeconfig",
            str(plane.kubeconfig),
            "--metrics-port",
            str(metrics_port),
            "--health-port",
            str(health_port),
            "--log-format",
            "plain",
        ],
        STATE_DIR / "operator.log",
        tie_to_parent=False,
    )
    operator.start()
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{health_port}/healthz"), 60, "the operator", operator
    )
    print(f"    metrics: http://127.0.0.1:{metrics_port}/metrics")
    return operator


def up() -> int:
    if STATE_FILE.exists():
        down()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    say("building or reusing the pinned tools (etcd, kube-apiserver, controller-manager, ...)")
    plane = Cluster(STATE_DIR / "cluster", tie_to_parent=False)
    started = time.monotonic()
    try:
        plane.start()
    except HarnessError as err:
        print(f"error: the local cluster did not start: {err}", file=sys.stderr)
        plane.stop()
        return 1
    nodes = ", ".join(plane.node_names)
    say(f"cluster up at {plane.url}, node {nodes} (KWOK), in {time.monotonic() - started:.1f}s")
    pids = plane.pids()
    STATE_FILE.write_text(json.dumps({"pids": pids, "kubeconfig": str(plane.kubeconfig)}))

    say("installing the CRDs")
    plane.apply_crds()
    say("installing the Prometheus Operator's PrometheusRule CRD (its Go module, pinned)")
    install_prometheus_rule_crd(plane)
    say("starting the operator on the embedded engine")
    operator = start_operator(plane)
    pids.append(operator.pid)
    STATE_FILE.write_text(json.dumps({"pids": pids, "kubeconfig": str(plane.kubeconfig)}))
    say(f"operator running (log: {operator.log_path})")
    examples = sorted((REPO / "examples").glob("*.yaml"))
    if examples:
        say("applying examples/")
        for example in examples:
            result = plane.kubectl("apply", "-f", str(example), check=False)
            print(result.stdout + result.stderr, end="")
    # The agents' alerting rules (a PrometheusRule: it needs the CRD installed above).
    monitoring = REPO / "examples" / "monitoring"
    if monitoring.is_dir():
        result = plane.kubectl("apply", "-f", str(monitoring), check=False)
        print(result.stdout + result.stderr, end="")
    wait_for_decisions(plane)
    wait_for_rollouts(plane)
    say("kubectl get agd -A")
    print(plane.kubectl("get", "agd", "-A", "-o", "wide").stdout)
    say("why: the Admitted condition of each agent")
    print(
        plane.kubectl(
            "get",
            "agd",
            "-A",
            "-o",
            'jsonpath={range .items[*]}{.metadata.name}{": "}'
            '{.status.conditions[?(@.type=="Admitted")].message}{"\\n"}{end}',
        ).stdout
    )
    say("kubectl get deployments,pods -n agents (only admitted agents have them)")
    print(plane.kubectl("get", "deployments,pods", "-n", "agents").stdout)
    say("the cluster keeps running; use it with:")
    print(f"  export KUBECONFIG={plane.kubeconfig}")
    print(f"  {plane.bin_dir / 'kubectl'} get agd -A")
    print("  make down    # stop it")
    return 0


def wait_for_decisions(plane: ControlPlane, settle: float = 3.0) -> None:
    """Until every agent carries a decision for its generation and none has changed for
    `settle` seconds: the first decision can be a transient one (an agent seen before its
    contract's watch event has arrived is blocked, then admitted a moment later)."""

    def snapshot() -> tuple[tuple[str, int, str, str], ...] | None:
        out = plane.kubectl("get", "agd", "-A", "-o", "json", check=False).stdout
        items = json.loads(out or '{"items": []}')["items"]
        rows = []
        for item in items:
            status = item.get("status") or {}
            if status.get("observedGeneration") != item["metadata"]["generation"]:
                return None
            admitted = next(
                (c for c in status.get("conditions", []) if c["type"] == "Admitted"), {}
            )
            rows.append(
                (
                    item["metadata"]["name"],
                    item["metadata"]["generation"],
                    admitted.get("status", ""),
                    admitted.get("reason", ""),
                )
            )
        return tuple(sorted(rows)) if rows else None

    deadline = time.monotonic() + 60
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        current = snapshot()
        if current != last:
            last, since = current, time.monotonic()
        elif current is not None and time.monotonic() - since >= settle:
            return
        time.sleep(0.5)
    print("warning: the agents' decisions did not settle within 60 s", file=sys.stderr)


def wait_for_rollouts(plane: ControlPlane, timeout: float = 60.0) -> None:
    """Until every admitted agent is Ready (its pods Running on the KWOK node) or the timeout."""

    def pending() -> list[str]:
        out = plane.kubectl("get", "agd", "-A", "-o", "json", check=False).stdout
        waiting = []
        for item in json.loads(out or '{"items": []}')["items"]:
            conditions = {c["type"]: c for c in (item.get("status") or {}).get("conditions", [])}
            admitted = conditions.get("Admitted", {}).get("status") == "True"
            if admitted and conditions.get("Ready", {}).get("status") != "True":
                waiting.append(item["metadata"]["name"])
        return waiting

    deadline = time.monotonic() + timeout
    while (waiting := pending()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if waiting:
        print(f"warning: not Ready within {timeout:.0f} s: {', '.join(waiting)}", file=sys.stderr)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "up":
        sys.exit(up())
    if command == "down":
        down()
        sys.exit(0)
    print("usage: demo.py up|down", file=sys.stderr)
    sys.exit(2)
