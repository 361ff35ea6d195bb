"""What Prometheus observes: queries, parsing, the policy input, status and re-decision triggers,
and the HTTP client's answers to servers that are not Prometheus (a local stand-in server)."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from controller.domain.model import read_agent
from controller.domain.observed import (
    DEFAULT_COST,
    DEFAULT_REQUESTS,
    FleetObservation,
    LoadedAlert,
    MetricNames,
    ObservationError,
    metric_names,
    needs_decision,
    observe_agent,
    observed_condition,
    observed_facts,
    observed_input,
    observed_status,
    parse_rules,
    parse_vector,
    poll_queries,
    round3,
    skipped_observed,
)
from controller.observe import prometheus
from controller.observe.prometheus import PrometheusClient, PrometheusConfig, poll

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEY = ("agents", "invoice-triage")
SPEC: dict[str, Any] = {
    "budget": {
        "currency": "USD",
        "monthlyLimit": "4000",
        "costPerRequest": "0.0004",
        "expectedDailyRequests": 2000,
    },
    "monitoring": {"alerts": ["ErrorRate", "Latency"]},
}
AGENT = {"metadata": {"namespace": KEY[0], "name": KEY[1], "generation": 2}, "spec": SPEC}


def fleet(**rates: float) -> FleetObservation:
    names = MetricNames()
    by_measure = {
        ("requests", names.requests): {KEY: rates["requests"]} if "requests" in rates else {},
        ("errors", f"{names.requests}/error"): {KEY: rates["errors"]} if "errors" in rates else {},
        ("cost", names.cost): {KEY: rates["cost"]} if "cost" in rates else {},
    }
    alerts = {
        "ErrorRate": [
            LoadedAlert("ErrorRate", (({"agent": KEY[1], "namespace": KEY[0]}, "firing"),))
        ]
    }
    return FleetObservation(AT, "http://prom:9090", "5m", None, {KEY: 2.0}, by_measure, alerts)


def test_one_query_per_measure_whatever_the_number_of_agents() -> None:
    assert len(poll_queries([MetricNames()] * 5000, "5m")) == 4
    queries = poll_queries([MetricNames(), MetricNames(requests="my_requests_total")], "5m")
    assert len(queries) == 6  # up, requests and errors per requests name, one cost
    assert queries[0].promql == 'sum by (namespace, agent) (up{agent!=""})'
    errors = [q.promql for q in queries if q.measure == "errors"]
    assert (
        f'sum by (namespace, agent) (rate({DEFAULT_REQUESTS}{{agent!="",error_type!=""}}[5m]))'
        in errors
    )
    with pytest.raises(ValueError, match="window: expected a Prometheus duration"):
        poll_queries([], "5 minutes")


def test_metric_names_default_and_per_agent() -> None:
    assert metric_names({}) == MetricNames(DEFAULT_REQUESTS, None, DEFAULT_COST)
    spec = {"monitoring": {"metrics": {"requests": "llm_requests_total", "cost": "bad name"}}}
    assert metric_names(spec) == MetricNames("llm_requests_total", None, DEFAULT_COST)


def test_vectors_are_read_by_agent_and_nan_is_no_observation() -> None:
    answer = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"namespace": "a", "agent": "x"}, "value": [1, "2.5"]},
                {"metric": {"namespace": "a", "agent": "y"}, "value": [1, "NaN"]},
                {"metric": {"namespace": "a", "agent": "z"}, "value": [1, "+Inf"]},
                {"metric": {"job": "no-agent-label"}, "value": [1, "1"]},
            ],
        },
    }
    assert parse_vector(answer, "q") == {("a", "x"): 2.5}
    for garbage in ({"data": {"resultType": "matrix"}}, [1, 2], {"data": {"resultType": "vector",
                    "result": [{"metric": {}, "value": [1, "x"]}]}}):  # fmt: skip
        with pytest.raises(ObservationError, match="query 'q'"):
            parse_vector(garbage, "q")


def test_alert_states_per_agent() -> None:
    rules = parse_rules(
        {
            "status": "success",
            "data": {
                "groups": [
                    {
                        "rules": [
                            {
                                "type": "alerting",
                                "name": "ErrorRate",
                                "alerts": [
                                    {"labels": {"agent": "x", "namespace": "a"}, "state": "firing"},
                                    {
                                        "labels": {"agent": "y", "namespace": "a"},
                                        "state": "pending",
                                    },
                                ],
                            },
                            {"type": "recording", "name": "job:rate"},
                        ]
                    }
                ]
            },
        }
    )
    assert set(rules) == {"ErrorRate"}
    rule = rules["ErrorRate"][0]
    assert rule.state_for("a", "x") == "firing"
    assert rule.state_for("a", "y") == "pending"
    assert rule.state_for("b", "x") == "inactive"  # another namespace's agent of that name
    # An alert written for one agent (no agent label): its instances are the agent's.
    assert LoadedAlert("A", (({"severity": "page"}, "firing"),)).state_for("a", "x") == "firing"
    with pytest.raises(ObservationError):
        parse_rules({"data": {}})


def test_observed_input_with_a_cost_counter_compares_the_budget_exactly() -> None:
    # 1 request/s, 0.002 USD/s: 86,400 requests a day, 5,184 USD a month.
    facts = observed_facts(
        fleet(requests=1.0, errors=0.05, cost=0.002),
        read_agent(AGENT),
        rolled_out_at=AT - timedelta(hours=1),
        new_generation=True,
    )
    assert facts is not None
    block = observed_input(facts, SPEC)
    assert block is not None
    assert block["scraped"] is True and block["targetsUp"] == 2
    assert block["requestsPerDay"] == 86400.0
    assert block["errorRatio"] == 0.05
    assert block["costSource"] == "counter"
    assert block["costPerRequest"] == "0.002"
    assert block["budget"]["monthlyRunRate"] == "5180.00"  # three significant digits
    assert block["budget"]["withinLimit"] is False and block["budget"]["within10x"] is False
    assert block["alerts"] == {
        "ErrorRate": {"loaded": True, "state": "firing"},
        "Latency": {"loaded": False, "state": "inactive"},
    }
    assert block["rolledOutAt"] == "2026-12-07T11:00:00Z" and block["newGeneration"] is True


def test_without_a_cost_counter_the_run_rate_is_an_estimate() -> None:
    seen = observe_agent(fleet(requests=0.025), *KEY, SPEC)
    assert seen.cost_source == "estimate" and seen.cost_per_request == Decimal("0.0004")
    assert seen.requests_per_day == 2160.0
    assert seen.monthly_run_rate == Decimal("25.9")


def test_a_scraped_agent_without_its_requests_series_is_a_skipped_finding() -> None:
    facts = observed_facts(fleet(), read_agent(AGENT), rolled_out_at=None, new_generation=False)
    assert facts is not None and facts.agent is not None
    assert (
        "metric gen_ai_client_operation_duration_seconds_count has no series"
        in (facts.agent.problems[0])
    )
    skipped = skipped_observed(facts, ["golive.economics.demo_scale", "golive.observability.live"])
    assert [s[0] for s in skipped] == ["golive.economics.demo_scale"]


def test_an_unreadable_prometheus_skips_every_observed_check_and_gives_no_input() -> None:
    failed = FleetObservation.failed(AT, "http://prom:9090", "5m", "connection refused")
    facts = observed_facts(failed, read_agent(AGENT), rolled_out_at=None, new_generation=True)
    assert facts is not None
    assert observed_input(facts, SPEC) is None
    policies = ["golive.observability.alerts_quiet", "golive.economics.observed_budget"]
    skipped = skipped_observed(facts, policies)
    assert [s[0] for s in skipped] == policies
    assert "Prometheus at http://prom:9090 could not be read (connection refused)" in skipped[0][2]
    assert observed_condition(facts) == (
        "Unknown",
        "PrometheusUnavailable",
        "Prometheus at http://prom:9090 could not be read: connection refused",
    )
    assert observed_facts(None, read_agent(AGENT), rolled_out_at=None, new_generation=True) is None


def test_status_block_and_condition() -> None:
    facts = observed_facts(
        fleet(requests=0.025), read_agent(AGENT), rolled_out_at=None, new_generation=False
    )
    status = observed_status(facts)
    assert status == {
        "scraped": True,
        "requestsPerDay": "2160",
        "costPerRequest": "0.0004",
        "monthlyRunRate": "25.90",
        "costSource": "estimate",
        "firingAlerts": ["ErrorRate"],
        "unloadedAlerts": ["Latency"],
        "errorRatio": "0",
    }
    cond = observed_condition(facts)
    assert cond is not None and cond[:2] == ("True", "Scraped")
    assert "2160 requests/day" in cond[2] and "firing: ErrorRate" in cond[2]


def test_re_decisions_follow_facts_that_move_a_verdict_not_noise() -> None:
    base = observe_agent(fleet(requests=1.0, cost=0.0015), *KEY, SPEC)  # 3,890 USD/month
    limit = Decimal("4000")
    assert not needs_decision(
        base, observe_agent(fleet(requests=1.02, cost=0.0015), *KEY, SPEC), limit
    )
    over = observe_agent(fleet(requests=1.0, cost=0.00155), *KEY, SPEC)  # 4,020: over the limit
    assert needs_decision(base, over, limit)
    assert needs_decision(base, observe_agent(fleet(requests=1.5, cost=0.0015), *KEY, SPEC), limit)
    assert needs_decision(base, None, limit)
    assert round3(0.012345) == 0.0123 and round3(123456) == 123000


# --- the client against servers that are not (or are broken) Prometheus ------------------------


class _Server:
    def __init__(self, status: int, body: bytes) -> None:
        outer = self
        self.status, self.body = status, body

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server(200, b"")
    yield s
    s.httpd.shutdown()


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (200, b"<html>Grafana</html>", "with no JSON: is it a Prometheus?"),
        (200, b'{"hello": "world"}', "without Prometheus' status field"),
        (400, b'{"status":"error","errorType":"bad_data","error":"parse error"}', "bad_data"),
        (200, b'{"status":"success","data":{"resultType":"matrix","result":[]}}', "expected"),
    ],
)
def test_a_poll_of_something_else_is_an_error_naming_it(
    server: _Server, status: int, body: bytes, said: str
) -> None:
    server.status, server.body = status, body
    observation, stats = poll(PrometheusClient(PrometheusConfig(server.url)), [MetricNames()], AT)
    assert observation.error is not None and said in observation.error
    assert stats.queries == 5


def test_an_unreachable_prometheus_is_an_error_naming_the_url() -> None:
    client = PrometheusClient(PrometheusConfig("http://127.0.0.1:9", timeout=2))
    observation, _ = poll(client, [MetricNames()], AT)
    assert observation.error is not None and "http://127.0.0.1:9" in observation.error
    assert "unreachable" in observation.error


def test_configuration_errors_name_the_option(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="--prometheus-url: expected an http"):
        PrometheusConfig("prometheus:9090").validate()
    with pytest.raises(ValueError, match=r"--prometheus-ca-file: .* is not a readable file"):
        PrometheusConfig("https://p:9090", ca_file=tmp_path / "missing.pem").validate()


def test_the_bearer_token_is_sent(server: _Server, tmp_path: Any) -> None:
    seen: list[str] = []
    token = tmp_path / "token"
    token.write_text("s3cret\n")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"status": "success", "data": {"groups": []}}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server.httpd.RequestHandlerClass = Handler
    client = PrometheusClient(PrometheusConfig(server.url, bearer_token_file=token))
    client.alerting_rules()
    assert seen == ["Bearer s3cret"]


def test_answers_are_decoded_with_the_collector_paused_and_it_is_resumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    loads = prometheus.json.loads

    def recording(body: bytes) -> Any:
        seen.append(gc.isenabled())
        return loads(body)

    monkeypatch.setattr(prometheus.json, "loads", recording)
    assert prometheus.decode(b'{"status": "success", "data": []}') == {
        "status": "success",
        "data": [],
    }
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ValueError):
        prometheus.decode(b"<html>")
    assert gc.isenabled()  # resumed after a failed decode too
    gc.disable()
    try:
        prometheus.decode(b"{}")
        assert not gc.isenabled()  # paused by someone else: left as it was
    finally:
        gc.enable()
