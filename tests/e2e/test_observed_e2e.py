"""The feedback loop for real: golive reads a real Prometheus (v3, built by scripts/tools.sh)
that scrapes the agents' pods and evaluates the alerts of their PrometheusRules.

Real parts: a full cluster of this module's own (etcd, kube-apiserver, controller-manager,
scheduler, KWOK), the Prometheus Operator's PrometheusRule CRD, Prometheus itself (1 s scrape and
rule evaluation), the operator process. KWOK pods run no container, so an exporter of the tests
serves what each running pod would serve; the targets are the cluster's real Running pods
labelled golive.dev/agent (what Prometheus' Kubernetes discovery and docs/observed.md's
relabelling give), and the rule files are written from the cluster's PrometheusRules the way
the Prometheus Operator writes them.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kit.cluster import Cluster
from kit.controlplane import free_port, running_with_crds
from kit.operator import OperatorProcess, admission_review
from kit.prometheus import (
    AgentExporter,
    PodDiscovery,
    PrometheusServer,
    install_prometheus_rule_crd,
)
from tests.e2e.agents import (
    agent,
    apply,
    condition,
    contract,
    get,
    wait_admitted,
    wait_event,
    wait_for,
)

NAME = "invoice-triage"
REQUESTS = "gen_ai_client_operation_duration_seconds_count"
# Short windows: the alert fires ~2 s after errors start and resolves ~5 s after they stop.
ERROR_RATE = (
    f'sum by (namespace, agent) (rate({REQUESTS}{{agent="{NAME}",error_type!=""}}[5s])) / '
    f'sum by (namespace, agent) (rate({REQUESTS}{{agent="{NAME}"}}[5s])) > 0.1'
)


def alert_rules(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "agent-alerts", "namespace": namespace},
        "spec": {
            "groups": [
                {
                    "name": NAME,
                    "rules": [
                        {"alert": "InvoiceTriageErrorRate", "expr": ERROR_RATE, "for": "0s"},
                        {
                            "alert": "InvoiceTriageLatencyP99",
                            "expr": f'vector(0) > 1 and on() absent(up{{agent="{NAME}"}})',
                        },
                    ],
                }
            ]
        },
    }


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_with_crds(Cluster(tmp_path_factory.mktemp("observed-cluster"))) as cluster:
        install_prometheus_rule_crd(cluster)
        yield cluster


@pytest.fixture(scope="module")
def prometheus(
    plane: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PrometheusServer, AgentExporter, PodDiscovery]]:
    exporter = AgentExporter()
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus")).start()
    discovery = PodDiscovery(plane, server, exporter).start()
    try:
        yield server, exporter, discovery
    finally:
        discovery.stop()
        server.stop()
        exporter.stop()


@pytest.fixture(scope="module")
def operator(
    plane: Cluster,
    prometheus: tuple[PrometheusServer, AgentExporter, PodDiscovery],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    server = prometheus[0]
    webhook_port = free_port()
    op = OperatorProcess(
        plane,
        tmp_path_factory.mktemp("operator"),
        extra_args=[
            "--prometheus-url",
            server.url,
            "--prometheus-interval",
            "1",
            "--prometheus-window",
            "10s",
            "--prometheus-stale-after",
            "8",
            # Served, not registered: reviews are posted straight to it (the gate's flow needs
            # stored generations the webhook would refuse).
            "--webhook-port",
            str(webhook_port),
            "--webhook-host",
            "127.0.0.1",
        ],
    )
    op.webhook_port = webhook_port
    op.start()
    yield op
    op.stop()


@pytest.fixture
def ns(plane: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"obs-{request.node.name[5:25].replace('_', '-').strip('-')}"
    plane.kubectl("create", "namespace", name)
    yield name
    plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


def observed(plane: Cluster, ns: str) -> dict[str, Any]:
    return dict(((get(plane, "agd", ns, NAME) or {}).get("status") or {}).get("observed") or {})


def wait_observed(plane: Cluster, ns: str, test: Any, what: str, timeout: float = 60) -> Any:
    def check() -> Any:
        obj = get(plane, "agd", ns, NAME)
        return obj if test(obj) else None

    return wait_for(check, timeout, what)


def findings(obj: dict[str, Any], policy: str) -> list[dict[str, Any]]:
    status = (obj or {}).get("status") or {}
    return [v for v in status.get("violations") or [] if v["policy"] == policy]


def warned(obj: dict[str, Any] | None, policy: str) -> bool:
    return any(v["enforcement"] == "warn" for v in findings(obj or {}, policy))


def deployment_generation(plane: Cluster, ns: str) -> str:
    dep = get(plane, "deployment", ns, NAME) or {}
    return str(dep.get("metadata", {}).get("annotations", {}).get("golive.dev/admitted-generation"))


def pod_uids(plane: Cluster, ns: str) -> set[str]:
    out = plane.kubectl("get", "pods", "-n", ns, "-l", f"golive.dev/agent={NAME}", "-o", "json")
    return {
        p["metadata"]["uid"]
        for p in json.loads(out.stdout)["items"]
        if not p["metadata"].get("deletionTimestamp")
    }


def events(plane: Cluster, ns: str, reason: str) -> list[str]:
    out = plane.kubectl(
        "get", "events", "-n", ns, "--field-selector", f"reason={reason}", "-o", "json"
    )
    return [e["message"] for e in json.loads(out.stdout)["items"]]


def with_image(obj: dict[str, Any], tag: str) -> dict[str, Any]:
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"].rsplit(":", 1)[0] + ":" + tag
    return obj


def test_the_feedback_loop(
    plane: Cluster,
    prometheus: tuple[PrometheusServer, AgentExporter, PodDiscovery],
    operator: OperatorProcess,
    ns: str,
) -> None:
    exporter = prometheus[1]
    # 2,160 requests a day: what the budget declares (2,000), no errors, no cost counter.
    exporter.set(ns, NAME, requests=0.025)
    apply(plane, contract(ns), alert_rules(ns), agent(ns))
    wait_admitted(plane, ns, NAME, "True", generation=1, timeout=60)

    # Scraped once its pods run: Observed True, the numbers in the status.
    obj = wait_observed(
        plane,
        ns,
        lambda o: (
            condition(o, "Observed").get("status") == "True"
            and 1800
            <= float(((o or {}).get("status", {}).get("observed") or {}).get("requestsPerDay", 0))
            <= 2500
        ),
        "Observed True with ~2160 requests/day",
    )
    seen = obj["status"]["observed"]
    assert seen["scraped"] is True
    assert seen["costSource"] == "estimate"  # no cost counter: requests x the declared 0.0004
    assert seen["firingAlerts"] == [] and seen["unloadedAlerts"] == []
    assert condition(obj, "Observed")["reason"] == "Scraped"
    assert not findings(obj, "golive.observability.live")
    uids = pod_uids(plane, ns)
    assert uids

    # An error burst fires the declared alert (Prometheus evaluates the PrometheusRule's rule).
    exporter.set(ns, NAME, requests=0.025, errors=0.02)
    wait_observed(
        plane,
        ns,
        lambda o: observed_of(o).get("firingAlerts") == ["InvoiceTriageErrorRate"],
        "InvoiceTriageErrorRate firing in status.observed",
    )
    wait_event(plane, ns, "AlertFiring", "InvoiceTriageErrorRate is firing")

    # The webhook decides with the operator's latest read (no query of its own): a new
    # generation is refused at the door with the same finding the gate gives below.
    stored = get(plane, "agd", ns, NAME)
    assert stored is not None
    update = with_image(stored, "3.4.2")
    update["metadata"]["generation"] = 2
    code, answer = post_review(operator, admission_review(update, "UPDATE"))
    response: Any = answer["response"]
    assert code == 200 and response["allowed"] is False, answer
    assert (
        "[golive.observability.alerts_quiet] spec.monitoring.alerts[0]: alert "
        '"InvoiceTriageErrorRate" is firing: generation 2 is not rolled out'
        in response["status"]["message"]
    )

    # A new generation is held back while it fires; generation 1 keeps running, same pods.
    apply(plane, contract(ns), alert_rules(ns), with_image(agent(ns), "3.4.2"))
    obj = wait_admitted(plane, ns, NAME, "False", generation=2)
    held = findings(obj, "golive.observability.alerts_quiet")
    assert held and held[0]["enforcement"] == "deny"
    assert (
        'alert "InvoiceTriageErrorRate" is firing: generation 2 is not rolled out'
        in (held[0]["message"])
    )
    assert "generation 1 keeps running" in condition(obj, "Admitted")["message"]
    assert deployment_generation(plane, ns) == "1"
    assert pod_uids(plane, ns) == uids

    # The alert resolves: generation 2 rolls out with no spec change.
    exporter.set(ns, NAME, requests=0.025, errors=0.0)
    wait_admitted(plane, ns, NAME, "True", generation=2, timeout=60)
    wait_for(lambda: deployment_generation(plane, ns) == "2", 30, "generation 2 deployed")
    wait_for(
        lambda: any(
            "InvoiceTriageErrorRate stopped firing" in m for m in events(plane, ns, "AlertResolved")
        ),
        30,
        "an AlertResolved event",
    )

    # Twenty times the declared volume: the cost model was built on demo-scale numbers (warn).
    exporter.set(ns, NAME, requests=0.5)
    obj = wait_observed(
        plane,
        ns,
        lambda o: warned(o, "golive.economics.demo_scale"),
        "a demo-scale warning",
    )
    demo = findings(obj, "golive.economics.demo_scale")[0]
    assert demo["enforcement"] == "warn" and demo["field"] == "spec.budget.expectedDailyRequests"
    assert "more than 10 times the declared 2000" in demo["message"]
    assert condition(obj, "Admitted")["status"] == "True"

    # A cost counter shows ~5,180 USD a month, over the 4,000 limit: the next generation is
    # denied with the numbers, generation 2 keeps running.
    exporter.set(ns, NAME, requests=0.5, cost=0.002)
    wait_observed(
        plane,
        ns,
        lambda o: (
            observed_of(o).get("costSource") == "counter"
            and 4600 <= float(observed_of(o).get("monthlyRunRate", 0)) <= 5800
        ),
        "a run-rate of ~5180 USD from the cost counter",
    )
    apply(plane, contract(ns), alert_rules(ns), with_image(agent(ns), "3.4.3"))
    obj = wait_admitted(plane, ns, NAME, "False", generation=3)
    over = findings(obj, "golive.economics.observed_budget")
    assert over and over[0]["enforcement"] == "deny"
    assert "over the monthly limit of 4000; generation 3 is not rolled out" in over[0]["message"]
    assert "the observed monthly run-rate is " in over[0]["message"]
    assert deployment_generation(plane, ns) == "2"

    # The spend falls back under the limit: generation 3 rolls out by itself.
    exporter.set(ns, NAME, requests=0.025, cost=0.00001)
    wait_admitted(plane, ns, NAME, "True", generation=3, timeout=60)
    wait_for(lambda: deployment_generation(plane, ns) == "3", 30, "generation 3 deployed")
    assert "golive_prometheus_polls_total" in operator.metrics()


def post_review(op: OperatorProcess, review: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST an AdmissionReview to the operator's webhook (its self-signed certificate is not
    registered anywhere here, so it is not verified: loopback only)."""
    request = urllib.request.Request(
        f"https://127.0.0.1:{op.webhook_port}/validate",
        data=json.dumps(review).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:
        return int(answer.status), dict(json.loads(answer.read()))


def observed_of(obj: dict[str, Any] | None) -> dict[str, Any]:
    return dict(((obj or {}).get("status") or {}).get("observed") or {})


def test_prometheus_outage_flips_no_verdict(
    plane: Cluster,
    prometheus: tuple[PrometheusServer, AgentExporter, PodDiscovery],
    operator: OperatorProcess,
    ns: str,
) -> None:
    server, exporter, _ = prometheus
    exporter.set(ns, NAME, requests=0.5)  # 20x the declared volume: a warning, admitted
    apply(plane, contract(ns), alert_rules(ns), agent(ns))
    obj = wait_observed(
        plane,
        ns,
        lambda o: (
            warned(o, "golive.economics.demo_scale")
            and condition(o, "Admitted").get("status") == "True"
            # the 10 s rate window filled: a steady observation, not the first reads
            and float(observed_of(o).get("requestsPerDay", 0)) >= 38000
        ),
        "admitted with a demo-scale warning at ~43,200 requests/day",
    )
    try:
        assert server.process is not None
        server.process.kill()  # as a crash would: no shutdown window answering half-empty reads
        # A short outage: decided on the last good read, said in the Observed condition.
        obj = wait_observed(
            plane,
            ns,
            lambda o: condition(o, "Observed").get("reason") == "PrometheusUnavailable",
            "Observed Unknown while Prometheus is down",
        )
        assert condition(obj, "Observed")["status"] == "Unknown"
        assert "deciding on its last read" in condition(obj, "Observed")["message"]
        assert condition(obj, "Admitted")["status"] == "True"
        # Past --prometheus-stale-after (8 s): every observed check is skipped, visibly.
        obj = wait_observed(
            plane,
            ns,
            lambda o: any(
                v["enforcement"] == "skipped" and v["policy"] == "golive.economics.demo_scale"
                for v in (o or {}).get("status", {}).get("violations") or []
            ),
            "the observed checks skipped",
        )
        skipped = {
            v["policy"] for v in obj["status"]["violations"] if v["enforcement"] == "skipped"
        }
        assert {
            "golive.observability.live",
            "golive.observability.alerts_loaded",
            "golive.observability.alerts_quiet",
            "golive.economics.observed_budget",
            "golive.economics.demo_scale",
        } <= skipped, json.dumps(obj["status"], indent=1)
        message = next(
            v["message"]
            for v in obj["status"]["violations"]
            if v["policy"] == "golive.observability.alerts_quiet"
        )
        assert f"Prometheus at {server.url} could not be read" in message
        assert condition(obj, "Admitted")["status"] == "True"
        assert condition(obj, "Admitted")["observedGeneration"] == 1
        assert 'golive_prometheus_polls_total{result="error"}' in operator.metrics()
    finally:
        server.start()
    # Recovery: the warning is back, nothing was re-rolled.
    wait_observed(
        plane,
        ns,
        lambda o: (
            condition(o, "Observed").get("status") == "True"
            and any(v["enforcement"] == "warn" for v in findings(o, "golive.economics.demo_scale"))
        ),
        "Observed True and the warning back after Prometheus returns",
    )
    assert deployment_generation(plane, ns) == "1"


def test_golive_check_gives_the_clusters_verdict_from_the_same_prometheus(
    plane: Cluster,
    prometheus: tuple[PrometheusServer, AgentExporter, PodDiscovery],
    operator: OperatorProcess,
    ns: str,
    tmp_path: Path,
) -> None:
    server, exporter, _ = prometheus
    exporter.set(ns, NAME, requests=0.025, errors=0.02)  # the error alert fires
    apply(plane, contract(ns), alert_rules(ns), agent(ns))
    wait_admitted(plane, ns, NAME, "True", generation=1, timeout=60)
    wait_observed(
        plane,
        ns,
        lambda o: observed_of(o).get("firingAlerts") == ["InvoiceTriageErrorRate"],
        "the alert firing",
    )
    # A pull request changes the image: the cluster holds it back, and so does golive check.
    change = with_image(agent(ns), "3.4.9")
    apply(plane, contract(ns), alert_rules(ns), change)
    obj = wait_admitted(plane, ns, NAME, "False", generation=2)
    files = tmp_path / "agent.yaml"
    files.write_text("\n---\n".join(json.dumps(o) for o in (contract(ns), alert_rules(ns), change)))
    proc = subprocess.run(
        [
            sys.executable, "-m", "controller.cli", "check", str(files), "--format", "json",
            "--prometheus-url", server.url, "--prometheus-window", "10s",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)["agents"][0]
    assert report["result"] == "blocked"
    denied = {(f["policy"], f["field"]) for f in report["findings"] if f["enforcement"] == "deny"}
    cluster = {
        (v["policy"], v["field"]) for v in obj["status"]["violations"] if v["enforcement"] == "deny"
    }
    assert denied == cluster == {("golive.observability.alerts_quiet", "spec.monitoring.alerts[0]")}
    exporter.set(ns, NAME, requests=0.025)


def test_bad_prometheus_urls_are_said_never_an_admit(tmp_path: Path) -> None:
    blocked = Path(__file__).parents[2] / "examples" / "support-bot-blocked.yaml"
    for url, expected in (
        ("http://127.0.0.1:9", "is unreachable"),
        ("not a url", "--prometheus-url: expected an http(s) URL"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "controller.cli", "check", str(blocked),
             "--prometheus-url", url],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert expected in proc.stderr, proc.stderr
        assert proc.returncode in (1, 2)  # blocked (the agent is), or a usage error: never 0
