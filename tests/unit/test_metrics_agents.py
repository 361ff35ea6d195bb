"""The per-agent series the dashboard and golive's own alerts read (controller/operator/metrics.py):
what an agent exports after a reconcile, read back from the /metrics exposition as Prometheus
parses it; series go with the agent, with an expired exception and with the lease."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from controller.domain.decision import RawViolation, decide
from controller.domain.model import read_agent
from controller.engine.protocol import EngineUnavailable
from controller.operator import metrics
from controller.operator.admission import AdmissionVerdict
from controller.operator.webhook import review_outcome
from tests.e2e.agents import EXAMPLE, exception
from tests.unit.fake_engine import FakeEngine
from tests.unit.test_reconciler import DENY, POLICY, make

NS, NAME = "agents", "invoice-triage"
KEY = (NS, NAME)
Labels = tuple[tuple[str, str], ...]


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    metrics.forget_agents()
    yield
    metrics.forget_agents()


def scrape(prefix: str = "golive_") -> dict[str, dict[Labels, float]]:
    """{metric: {sorted labels: value}} of what /metrics serves now."""
    found: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name.startswith(prefix):
                labels = tuple(sorted(sample.labels.items()))
                found.setdefault(sample.name, {})[labels] = sample.value
    return found


def example_agent(**governance: Any) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d]
    obj = copy.deepcopy(next(d for d in docs if d["kind"] == "AgentDeployment"))
    obj["metadata"].update({"uid": "u1", "generation": 1})
    obj["spec"]["governance"].update(governance)
    return obj


def reconcile(engine: FakeEngine, obj: dict[str, Any], exceptions: list[dict[str, Any]]) -> Any:
    reconciler, kube, state = make(engine)
    state.agents[KEY] = read_agent(obj)
    for item in exceptions:
        state.put_exception(item, False)
    asyncio.run(reconciler.reconcile(KEY))
    return reconciler, kube, state


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(**extra: str) -> Labels:
    return tuple(sorted({"namespace": NS, "agent": NAME, **extra}.items()))


def test_a_blocked_agent_exports_its_verdict_cost_review_and_exceptions() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    reviewed = now - timedelta(days=40)  # monthly: due 10 days ago
    obj = example_agent(
        reviewCadence="monthly",
        lastReview={"at": stamp(reviewed), "by": {"name": "Lee Park", "email": "l@example.com"}},
    )
    tomorrow = now + timedelta(days=1)
    waivers = [
        exception(NS, "load-test", NAME, POLICY, stamp(tomorrow)),
        exception(NS, "expired", NAME, POLICY, stamp(now - timedelta(hours=1))),
        exception(NS, "someone-else", "other-agent", POLICY, stamp(tomorrow)),
    ]
    engine = FakeEngine([DENY, RawViolation("golive.other", "spec.x", "no x")])
    _, kube, _ = reconcile(engine, obj, waivers)
    (status,) = kube.statuses
    series = scrape()

    # The verdict: three series, the current result is 1.
    assert series["golive_agent_verdict"] == {
        ids(result="admitted"): 0.0,
        ids(result="blocked"): 1.0,
        ids(result="unknown"): 0.0,
    }
    # Findings per namespace and policy, not per agent; the waived policy is excepted.
    assert series["golive_policy_agents"] == {
        (("enforcement", "deny"), ("namespace", NS), ("policy", "golive.other")): 1.0,
        (("enforcement", "excepted"), ("namespace", NS), ("policy", POLICY)): 1.0,
    }
    # The cost as status.cost says it (examples/invoice-triage.yaml: 24 USD/month at 1x).
    assert status["cost"]["monthly1x"] == "24.00"
    assert series["golive_agent_cost_monthly"] == {
        ids(currency="USD", scale="1x"): 24.0,
        ids(currency="USD", scale="10x"): 240.0,
        ids(currency="USD", scale="100x"): 2400.0,
    }
    assert series["golive_agent_cost_monthly_limit"] == {ids(currency="USD"): 4000.0}
    assert series["golive_agent_requests_per_day"] == {ids(source="declared"): 2000.0}
    assert "golive_agent_observed_cost_monthly" not in series  # no Prometheus read
    # The review: due 30 days after it was held, as status.review says.
    assert series["golive_agent_review_due_timestamp_seconds"] == {
        ids(): (reviewed + timedelta(days=30)).timestamp()
    }
    assert status["review"]["nextDue"] == stamp(reviewed + timedelta(days=30))
    assert "golive_agent_review_blocked_timestamp_seconds" not in series  # review_due not loaded
    # Only the active exception that targets this agent.
    assert series["golive_agent_exception_expiry_timestamp_seconds"] == {
        ids(exception="load-test"): tomorrow.timestamp()
    }


def test_the_series_follow_the_verdict_and_go_with_the_agent() -> None:
    reconciler, _, state = reconcile(FakeEngine([DENY]), example_agent(), [])
    assert scrape()["golive_agent_verdict"][ids(result="blocked")] == 1.0
    reconciler.decider.policies.current.engine.violations = []
    reconciler.enqueue_all()  # what a policy reload does: nothing decided before is reused
    asyncio.run(reconciler.reconcile(KEY))
    series = scrape()
    assert series["golive_agent_verdict"][ids(result="admitted")] == 1.0
    assert series["golive_agent_verdict"][ids(result="blocked")] == 0.0
    assert "golive_policy_agents" not in series  # nothing reported any more

    del state.agents[KEY]
    asyncio.run(reconciler.reconcile(KEY))
    series = scrape()
    assert not any(name.startswith("golive_agent_") for name in series), series


def test_an_undecided_agent_is_unknown_and_a_lost_lease_forgets_every_agent() -> None:
    reconcile(FakeEngine(error=EngineUnavailable("opa down")), example_agent(), [])
    assert scrape()["golive_agent_verdict"][ids(result="unknown")] == 1.0
    metrics.forget_agents()
    assert "golive_agent_verdict" not in scrape()


def test_observed_numbers_come_from_status_observed() -> None:
    agent = read_agent(example_agent())
    decision = decide([], {}, [], "fake", "")
    status = {
        "cost": {"currency": "EUR", "monthlyLimit": "100", "monthly1x": "12.5"},
        "observed": {"requestsPerDay": "8640", "monthlyRunRate": "51.8400"},
    }
    facts = metrics.agent_facts(agent, decision, status, [], datetime.now(UTC))
    assert facts.requests_per_day == {"declared": 2000.0, "observed": 8640.0}
    assert facts.observed_monthly == 51.84
    assert facts.monthly == {"1x": 12.5}
    assert (facts.currency, facts.limit) == ("EUR", 100.0)


def test_webhook_outcomes_and_every_label_value_exists_from_the_start() -> None:
    assert review_outcome(AdmissionVerdict(True, "")) == "allowed"
    assert review_outcome(AdmissionVerdict(False, "", code=403)) == "denied"
    assert review_outcome(AdmissionVerdict(False, "", code=400)) == "invalid"
    assert review_outcome(AdmissionVerdict(False, "", code=503)) == "error"
    series = scrape()
    outcomes = {dict(labels)["outcome"] for labels in series["golive_webhook_reviews_total"]}
    assert outcomes == {"allowed", "denied", "invalid", "error"}
    decided = {tuple(sorted(dict(k).values())) for k in series["golive_decisions_total"]}
    assert ("admission", "unknown") in decided and ("blocked", "reconcile") in decided
    before = series["golive_webhook_reviews_total"][(("outcome", "error"),)]
    metrics.record_review("error")
    assert scrape()["golive_webhook_reviews_total"][(("outcome", "error"),)] == before + 1
