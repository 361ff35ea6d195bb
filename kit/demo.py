"""`make demo`: a local cluster, CRDs, operator and examples, then `kubectl get agd`.

The cluster is the harness's full one (kit/cluster.py): etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and a KWOK node, so admitted agents really roll out and
turn Ready; no container runs.

`python -m kit.demo up` leaves the servers running in the background so you can keep using
kubectl; `down` stops them; `env` prints the shell exports for kubectl and golive on the demo
cluster. `python -m kit.demo_webhook` (kit/demo_webhook.py) replaces the demo's operator with
one that also serves the admission webhook. Nothing here needs docker.

State lives in .golive/demo/, or in $GOLIVE_DEMO_DIR: the doc tests run their own demo there,
so that they never stop or change a developer's.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kit.cluster import Cluster
from kit.controlplane import (
    REPO,
    ControlPlane,
    HarnessError,
    ManagedProcess,
    free_port,
    http_ok,
    pid_alive,
    wait_until,
)
from kit.prometheus import (
    PrometheusServer,
    install_prometheus_rule_crd,
)
from kit.transcript import transcript

STATE_DIR = Path(os.environ.get("GOLIVE_DEMO_DIR") or REPO / ".golive" / "demo").absolute()
STATE_FILE = STATE_DIR / "state.json"
# What `up` shows at the end, as a console transcript; README.md's demo block is this text
# (tests/docs compares them, `make docs` copies it there).
DEMO_OUTPUT = STATE_DIR / "demo-output.txt"
GOLIVE = REPO / ".venv" / "bin" / "golive"
WEBHOOK_CONFIG = "golive"
# What the example agents' pods serve (KWOK pods run no container; the feeder process stands in
# for them): requests per second [, errors, cost]. invoice-triage: 2,160 requests a day, near
# the 2,000 it declares; claims-summarizer: 864 a day.
DEMO_WINDOW = "10s"
DEMO_TRAFFIC = ["agents/invoice-triage=0.025", "agents/claims-summarizer=0.01"]
# The example the webhook demo refuses: blocked on purpose (team owner, no fallback, review due).
BLOCKED_EXAMPLE = "examples/support-bot-blocked.yaml"

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
State = dict[str, Any]


def say(msg: str) -> None:
    # Bold only on a terminal: the doc tests compare this output with the docs.
    print(f"\033[1m==> {msg}\033[0m" if sys.stdout.isatty() else f"==> {msg}", flush=True)


def read_state() -> State | None:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else None


def write_state(state: State) -> None:
    STATE_FILE.write_text(json.dumps(state, indent=2))


def down() -> None:
    state = read_state()
    if state is None:
        say("nothing to stop")
        return
    pids = [int(p) for p in state["pids"]]
    for pid in reversed(pids):
        if pid_alive(pid):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    say("demo stopped")


def start_prometheus(plane: Cluster) -> tuple[PrometheusServer, ManagedProcess]:
    """A real Prometheus, and the feeder process that stands in for the agents' /metrics and
    for Kubernetes service discovery (kit/prometheus.py)."""
    server = PrometheusServer(STATE_DIR / "prometheus", tie_to_parent=False).start()
    feeder = ManagedProcess(
        "feeder",
        [
            sys.executable,
            "-m",
            "kit.prometheus",
            "feed",
            "--kubectl",
            str(plane.bin_dir / "kubectl"),
            "--kubeconfig",
            str(plane.kubeconfig),
            "--prometheus-dir",
            str(server.workdir),
            "--prometheus-url",
            server.url,
            *(f"--traffic={t}" for t in DEMO_TRAFFIC),
        ],
        STATE_DIR / "feeder.log",
        tie_to_parent=False,
        env={"PYTHONPATH": str(REPO)},
    )
    feeder.start()
    return server, feeder


def start_operator(
    kubeconfig: Path, webhook_port: int = 0, prometheus_url: str | None = None
) -> tuple[ManagedProcess, dict[str, int]]:
    """The real operator on the embedded engine, in the background like the servers; with a
    webhook port it also serves the admission webhook on loopback and registers it itself."""
    ports = {"metrics": free_port(), "health": free_port(), "webhook": webhook_port}
    argv = [
        str(GOLIVE),
        "run",
        "--engine",
        "embedded",
        "--kubeconfig",
        str(kubeconfig),
        "--metrics-port",
        str(ports["metrics"]),
        "--health-port",
        str(ports["health"]),
        "--log-format",
        "plain",
    ]
    if prometheus_url:
        # Read every 2 s over a 10 s window: the demo's numbers settle in seconds (a cluster's
        # default is 60 s over 5m).
        argv += ["--prometheus-url", prometheus_url, "--prometheus-interval", "2"]
        argv += ["--prometheus-window", DEMO_WINDOW]
    if webhook_port:
        argv += [
            "--webhook-port",
            str(webhook_port),
            "--webhook-host",
            "127.0.0.1",
            "--webhook-register",
        ]
    operator = ManagedProcess(
        "golive-operator", argv, STATE_DIR / "operator.log", tie_to_parent=False
    )
    operator.start()
    wait_until(
        lambda: http_ok(f"http://127.0.0.1:{ports['health']}/healthz"),
        60,
        "the operator",
        operator,
    )
    print(f"    metrics: http://127.0.0.1:{ports['metrics']}/metrics")
    return operator, ports


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
    state: State = {
        "pids": pids,
        "kubeconfig": str(plane.kubeconfig),
        "bin_dir": str(plane.bin_dir),
    }
    write_state(state)

    say("installing the CRDs")
    plane.apply_crds()
    say("installing the Prometheus Operator's PrometheusRule CRD (its Go module, pinned)")
    install_prometheus_rule_crd(plane)
    say("starting Prometheus (v3, from its Go module) scraping the agents' pods")
    prometheus, feeder = start_prometheus(plane)
    assert prometheus.process is not None
    pids += [prometheus.process.pid, feeder.pid]
    state["prometheus_url"] = prometheus.url
    write_state(state)
    say("starting the operator on the embedded engine")
    operator, ports = start_operator(plane.kubeconfig, prometheus_url=prometheus.url)
    pids.append(operator.pid)
    # `webhook` finds the operator it replaces here, never by searching the process table.
    state["operator"] = {"pid": operator.pid, **ports}
    write_state(state)
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
    wait_for_observations(plane)
    say("why: the Admitted condition of each agent")
    print(condition_messages(plane, "Admitted"))
    say("what Prometheus observes: the Observed condition of each agent")
    print(condition_messages(plane, "Observed"))
    say("what the demo shows (README.md's demo block; `make docs` refreshes it from this)")
    output = transcript(
        plane.kubectl,
        [["get", "agd", "-A", "-o", "wide"], ["get", "deployments", "-n", "agents"]],
    )
    print(output, end="")
    DEMO_OUTPUT.write_text(output)
    say("the cluster keeps running; use kubectl and golive on it with:")
    print('  eval "$(make -s demo-env)"     # KUBECONFIG and PATH, for this shell')
    print("  kubectl get agd -A")
    print("  make demo-webhook             # serve the admission webhook, see it refuse an apply")
    print("  make down                     # stop it")
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
            admitted: dict[str, Any] = next(
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


def condition_messages(plane: ControlPlane, condition: str) -> str:
    """One line per agent: its name and the message of one of its conditions."""
    return plane.kubectl(
        "get",
        "agd",
        "-A",
        "-o",
        'jsonpath={range .items[*]}{.metadata.name}{": "}'
        f'{{.status.conditions[?(@.type=="{condition}")].message}}{{"\\n"}}{{end}}',
    ).stdout


def wait_for_agents(
    plane: ControlPlane, waits_on: Callable[[dict[str, Any]], bool], timeout: float, what: str
) -> None:
    """Until no agent is one `waits_on` holds (given the agent as JSON), or the timeout."""

    def pending() -> list[str]:
        out = plane.kubectl("get", "agd", "-A", "-o", "json", check=False).stdout
        items = json.loads(out or '{"items": []}')["items"]
        return [item["metadata"]["name"] for item in items if waits_on(item)]

    deadline = time.monotonic() + timeout
    while (waiting := pending()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if waiting:
        print(f"warning: not {what} within {timeout:.0f} s: {', '.join(waiting)}", file=sys.stderr)


def _conditions(agent: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (agent.get("status") or {}).get("conditions") or []}


def wait_for_rollouts(plane: ControlPlane, timeout: float = 60.0) -> None:
    """Until every admitted agent is Ready (its pods Running on the KWOK node) or the timeout."""

    def unready(agent: dict[str, Any]) -> bool:
        conditions = _conditions(agent)
        admitted = conditions.get("Admitted", {}).get("status") == "True"
        return admitted and conditions.get("Ready", {}).get("status") != "True"

    wait_for_agents(plane, unready, timeout, "Ready")


def wait_for_observations(plane: ControlPlane, timeout: float = 90.0) -> None:
    """Until Prometheus has scraped every agent whose Deployment runs, with its traffic read."""

    def unobserved(agent: dict[str, Any]) -> bool:
        status = agent.get("status") or {}
        runs = status.get("admittedGeneration") is not None
        observed = _conditions(agent).get("Observed", {}).get("status") == "True"
        return runs and not (observed and "requestsPerDay" in (status.get("observed") or {}))

    wait_for_agents(plane, unobserved, timeout, "observed")
    # A rate over a series younger than its window reads low: let the window fill once, and a
    # read after it move the shown numbers (they move when they change by more than 10%).
    time.sleep(int(DEMO_WINDOW.removesuffix("s")) + 3)


# --- the running demo: env and webhook -------------------------------------------------------


def running_state() -> State:
    """The state of a demo that `up` started and that still runs, or exit with what to do."""
    state = read_state()
    if state is None or "operator" not in state:
        sys.exit("error: no demo is running here (or it predates `make demo-webhook`): make demo")
    if not all(pid_alive(int(p)) for p in state["pids"]):
        sys.exit("error: the demo's servers are not all running any more: make demo")
    return state


def env() -> int:
    """`eval "$(make -s demo-env)"`: kubectl and golive on PATH, KUBECONFIG the demo's."""
    state = running_state()
    path = f"{state['bin_dir']}:{REPO / '.venv' / 'bin'}"
    print(f"export KUBECONFIG={shlex.quote(str(state['kubeconfig']))}")
    print(f'export PATH={shlex.quote(path)}:"$PATH"')
    return 0


def kubectl_for(state: State) -> Kubectl:
    """kubectl on the demo cluster, run from the repository so file names read as in the docs."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(Path(str(state["bin_dir"])) / "kubectl"), *args],
            env={**os.environ, "KUBECONFIG": str(state["kubeconfig"])},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise HarnessError(f"kubectl {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    return run


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    if command == "up":
        return up()
    if command == "down":
        down()
        return 0
    if command == "env":
        return env()
    print("usage: python -m kit.demo up|down|env", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
