"""golive's dashboard and its own alerts against the real parts: the operator process on a real
control plane deciding the examples (an admitted agent with traffic, a blocked one whose review
is overdue, one running under an AgentException that expires tomorrow), its webhook answering
reviews, and a real Prometheus (v3, built by scripts/tools.sh) scraping the operator's /metrics
and the admitted agent's traffic, with the chart's PrometheusRule (rendered by the real helm)
loaded as the Prometheus Operator would load it.

Every query of every dashboard panel returns data (`$namespace` is the variable's "All", `.*`;
`$__rate_interval` a window of 30 s). Every alert expression parses in Prometheus, and each
series selector in it (read from Prometheus' own parse of the expression) matches series golive
exports; an alert's whole expression returns series only while it fires, so the two whose
condition this cluster has fire (the expiring exception, the overdue review) and the others do
not. The rules' `for` durations are set to 0 s here so that firing takes one evaluation.
"""

from __future__ import annotations

import copy
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kit.controlplane import REPO, ControlPlane, free_port
from kit.operator import OperatorProcess, admission_review
from kit.prometheus import AgentExporter, PrometheusServer
from tests.e2e.agents import apply, get, wait_for
from tests.unit.test_chart_monitoring import DASHBOARD, prometheus_rule, promtool, rule_file

ADMITTED, BLOCKED, EXCEPTED = "invoice-triage", "support-bot", "claims-summarizer"
EXCEPTION = "claims-summarizer-launch-budget"
FIRING = {"GoliveExceptionExpiring", "GoliveReviewOverdue"}
QUIET = {
    "GoliveOperatorDown",
    "GoliveNoLeader",
    "GoliveEngineUnavailable",
    "GoliveDecisionsUnknown",
    "GoliveWebhookErrors",
    "GolivePolicyDrift",
}
FOR_ZERO = [
    f"alerts.for.{name}=0s"
    for name in (
        "operatorDown",
        "noLeader",
        "engineUnavailable",
        "decisionsUnknown",
        "webhookErrors",
        "exceptionExpiring",
        "reviewOverdue",
        "policyDrift",
    )
]
GOLIVE_JOB = """\
- job_name: golive
  file_sd_configs: [{{files: ["{targets}"], refresh_interval: 1s}}]
"""


def examples(namespace: str, expires_at: str) -> list[dict[str, Any]]:
    """The three example agents and their objects, placed in `namespace`; the exception
    expires at `expires_at`."""
    objects = []
    for name in ("invoice-triage.yaml", "support-bot-blocked.yaml", "budget-exception.yaml"):
        for doc in yaml.safe_load_all((REPO / "examples" / name).read_text()):
            if not doc or doc.get("kind") == "Namespace":
                continue
            obj = copy.deepcopy(doc)
            obj["metadata"] = {"name": obj["metadata"]["name"], "namespace": namespace}
            if obj["kind"] == "AgentException":
                obj["spec"]["expiresAt"] = expires_at
            objects.append(obj)
    return objects


@pytest.fixture(scope="module")
def ns(cluster: ControlPlane) -> Iterator[str]:
    name = "dash-e2e"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def stack(
    cluster: ControlPlane, ns: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OperatorProcess, PrometheusServer, AgentExporter]]:
    workdir = tmp_path_factory.mktemp("prometheus")
    golive_targets = workdir / "golive-targets.json"
    golive_targets.write_text("[]")
    exporter = AgentExporter()
    server = PrometheusServer(
        workdir, extra_scrape_configs=GOLIVE_JOB.format(targets=golive_targets)
    ).start()
    webhook_port = free_port()
    operator = OperatorProcess(
        cluster,
        tmp_path_factory.mktemp("operator"),
        extra_args=[
            *("--prometheus-url", server.url, "--prometheus-interval", "1"),
            *("--prometheus-window", "10s"),
            # Served, not registered: the blocked example must be stored to be shown.
            *("--webhook-port", str(webhook_port), "--webhook-host", "127.0.0.1"),
        ],
    )
    operator.webhook_port = webhook_port
    try:
        operator.start()
        golive_targets.write_text(json.dumps([{"targets": [f"127.0.0.1:{operator.metrics_port}"]}]))
        # The admitted agent's traffic (KWOK-less here: the target stands for its pod).
        exporter.set(ns, ADMITTED, requests=0.025)
        server.set_targets(
            [
                {
                    "targets": [exporter.address],
                    "labels": {
                        "__metrics_path__": f"/pods/{ns}/{ADMITTED}/{ADMITTED}-0/metrics",
                        "namespace": ns,
                        "agent": ADMITTED,
                        "pod": f"{ADMITTED}-0",
                    },
                }
            ]
        )
        # golive's own rules, and the examples' (their agents declare those alerts: an alert
        # Prometheus has not loaded blocks them, golive.observability.alerts_loaded).
        agent_rules = yaml.safe_load((REPO / "examples/monitoring/alert-rules.yaml").read_text())
        agent_rules["metadata"]["namespace"] = ns
        server.write_rules([prometheus_rule("alerts.job=golive", *FOR_ZERO), agent_rules])
        tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        apply(cluster, *examples(ns, tomorrow.strftime("%Y-%m-%dT%H:%M:%SZ")))
        yield operator, server, exporter
    finally:
        operator.stop()
        server.stop()
        exporter.stop()


def verdict(cluster: ControlPlane, ns: str, name: str) -> str | None:
    obj = get(cluster, "agd", ns, name) or {}
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond["type"] == "Admitted":
            return str(cond["status"])
    return None


def api(server: PrometheusServer, path: str, **params: str) -> dict[str, Any]:
    """A Prometheus API answer; a 400 (an expression that does not parse) is returned too."""
    url = f"{server.url}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))


def dashboard_queries() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]


def substituted(expr: str) -> str:
    return expr.replace("$namespace", ".*").replace("$__rate_interval", "30s")


def selectors(node: Any) -> list[str]:
    """Every series selector of a parsed expression (Prometheus' /api/v1/parse_query tree),
    written back as a selector."""
    found = []
    if isinstance(node, dict):
        if node.get("type") in ("vectorSelector", "matrixSelector"):
            matchers = [f"{m['name']}{m['type']}{json.dumps(m['value'])}" for m in node["matchers"]]
            found.append("{" + ",".join(matchers) + "}")
        for value in node.values():
            found += selectors(value)
    elif isinstance(node, list):
        for value in node:
            found += selectors(value)
    return found


def post_review(operator: OperatorProcess, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"https://127.0.0.1:{operator.webhook_port}/validate",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed, on loopback only
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return int(answer.status), dict(json.loads(answer.read()))
    except urllib.error.HTTPError as error:
        return int(error.code), dict(json.loads(error.read() or b"{}"))


def test_dashboard_queries_return_data_and_the_alerts_load_and_fire(
    cluster: ControlPlane,
    ns: str,
    stack: tuple[OperatorProcess, PrometheusServer, AgentExporter],
    tmp_path: Path,
) -> None:
    operator, server, _ = stack
    wait_for(lambda: verdict(cluster, ns, ADMITTED) == "True", 60, "invoice-triage admitted")
    wait_for(lambda: verdict(cluster, ns, BLOCKED) == "False", 60, "support-bot blocked")
    wait_for(lambda: verdict(cluster, ns, EXCEPTED) == "True", 60, "claims-summarizer admitted")
    wait_for(
        lambda: (
            "requestsPerDay"
            in ((get(cluster, "agd", ns, ADMITTED) or {}).get("status") or {}).get("observed", {})
        ),
        60,
        "the admitted agent's traffic observed",
    )
    # The webhook answers a blocked agent (denied) and a body that is no review (invalid).
    blocked = get(cluster, "agd", ns, BLOCKED)
    assert blocked is not None
    blocked.pop("status", None)
    code, answer = post_review(operator, json.dumps(admission_review(blocked)).encode())
    assert code == 200 and answer["response"]["allowed"] is False, answer
    assert post_review(operator, b"[]")[0] == 400

    # The rule file the chart renders passes promtool.
    rule = prometheus_rule("alerts.job=golive", *FOR_ZERO)
    checked = promtool("check", "rules", str(rule_file(rule, tmp_path / "rules.yaml")))
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Every dashboard query returns data (rates need two scrapes in their window).
    queries = dashboard_queries()
    assert len(queries) >= 16

    def empty_panels() -> list[tuple[str, str, Any]]:
        missing = []
        for title, expr in queries:
            answer = api(server, "/api/v1/query", query=substituted(expr))
            if answer.get("status") != "success" or not answer["data"]["result"]:
                missing.append((title, expr, answer.get("error") or answer.get("data")))
        return missing

    last: list[Any] = []

    def all_panels_have_data() -> bool:
        last[:] = empty_panels()
        return not last

    try:
        wait_for(all_panels_have_data, 90, "every dashboard query to return data")
    except Exception:
        pytest.fail(f"panels without data: {last}\n{operator.log()[-3000:]}")

    # The values are golive's: the verdicts of the three examples, the example's cost.
    by_result = {
        r["metric"]["result"]: float(r["value"][1])
        for r in server.query(f'sum by (result) (golive_agent_verdict{{namespace="{ns}"}})')
    }
    assert by_result == {"admitted": 2.0, "blocked": 1.0, "unknown": 0.0}
    (cost,) = server.query(
        f'golive_agent_cost_monthly{{namespace="{ns}",agent="{ADMITTED}",scale="100x"}}'
    )
    assert float(cost["value"][1]) == 2400.0  # examples/invoice-triage.yaml: 24 USD at 1x
    # The denied review above is in Prometheus after a scrape that came after it: the series
    # itself exists from the start (at 0), so the panels can have had data before that scrape.
    wait_for(
        lambda: any(
            float(denied["value"][1]) >= 1
            for denied in server.query('golive_webhook_reviews_total{outcome="denied"}')
        ),
        30,
        "the denied review scraped",
    )

    # Every alert: the expression parses, and each selector in it matches golive's series.
    rules = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert set(rules) == FIRING | QUIET
    for name, r in rules.items():
        answer = api(server, "/api/v1/query", query=r["expr"])
        assert answer["status"] == "success", (name, answer)
        parsed = api(server, "/api/v1/parse_query", query=r["expr"])
        assert parsed["status"] == "success", (name, parsed)
        found = selectors(parsed["data"])
        assert found, name
        for selector in found:
            assert server.query(selector), f"{name}: {selector} matches no series"

    # The rules are loaded and evaluate without error.
    loaded = api(server, "/api/v1/rules", type="alert")["data"]["groups"]
    health = {
        r["name"]: (r["health"], r.get("lastError", ""))
        for g in loaded
        if g["name"] == "golive"
        for r in g["rules"]
    }
    assert health == {name: ("ok", "") for name in rules}, health

    # The exception expiring tomorrow and the overdue review fire; nothing else does. The
    # cluster is shared with other tests' agents (their reviews may be overdue too): alerts
    # about another namespace are theirs, not this test's.
    def firing() -> dict[str, list[dict[str, Any]]]:
        alerts = api(server, "/api/v1/alerts")["data"]["alerts"]
        out: dict[str, list[dict[str, Any]]] = {}
        for alert in alerts:
            labels = alert["labels"]
            if (
                alert["state"] == "firing"
                and labels["alertname"] in rules
                and labels.get("namespace", ns) == ns
            ):
                out.setdefault(labels["alertname"], []).append(alert)
        return out

    wait_for(lambda: set(firing()) >= FIRING, 30, "the exception and review alerts to fire")
    now = firing()
    assert set(now) == FIRING, now
    (expiring,) = now["GoliveExceptionExpiring"]
    assert expiring["labels"]["namespace"] == ns
    assert (expiring["labels"]["agent"], expiring["labels"]["exception"]) == (EXCEPTED, EXCEPTION)
    remaining = float(expiring["value"])
    assert 86400 - 120 < remaining <= 86400, remaining  # expires tomorrow
    assert f"AgentException {EXCEPTION} for {ns}/{EXCEPTED}" in expiring["annotations"]["summary"]
    assert "expires in 23h" in expiring["annotations"]["summary"], expiring["annotations"]
    (overdue,) = now["GoliveReviewOverdue"]
    assert overdue["labels"]["agent"] == BLOCKED
    assert "since 2026-10-01" in overdue["annotations"]["summary"], overdue["annotations"]

    # Deleting an agent takes its series with it.
    cluster.kubectl("delete", "agd", BLOCKED, "-n", ns)
    wait_for(
        lambda: f'agent="{BLOCKED}"' not in operator.metrics(),
        30,
        "the deleted agent's series to go",
    )
    assert f'agent="{ADMITTED}"' in operator.metrics()  # the others' stay
