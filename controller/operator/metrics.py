"""Prometheus metrics of the operator and the webhook."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from controller.domain.decision import Decision, Result
from controller.domain.errors import SpecError
from controller.domain.exceptions import active_exceptions
from controller.domain.fleet import LibraryState
from controller.domain.model import AgentDeployment
from controller.domain.moments import parse_timestamp
from controller.engine.decision_pipeline import parse_exceptions

DECISIONS = Counter(
    "golive_decisions_total", "Decisions made, by caller and result.", ["source", "result"]
)
VIOLATIONS = Counter(
    "golive_violations_total",
    "Violations found, by policy and enforcement.",
    ["source", "policy", "enforcement"],
)
EVALUATION_SECONDS = Histogram(
    "golive_evaluation_seconds",
    "Time to decide one AgentDeployment (policy input, engine, decision).",
    ["source", "engine"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DECISIONS_REUSED = Counter(
    "golive_decisions_reused_total",
    "Reconciles that reused the agent's last decision: only its Deployment's rollout moved, "
    "nothing the decision reads changed (not counted in golive_decisions_total).",
)
RECONCILE_ERRORS = Counter(
    "golive_reconcile_errors_total", "Reconciles that failed and were retried.", ["stage"]
)
DEPLOYMENT_WRITES = Counter(
    "golive_deployment_applies_total", "Owned Deployments created or updated (admitted changes)."
)
STATUS_WRITES = Counter(
    "golive_status_writes_total", "Status patches of AgentDeployments (changed status only)."
)
REPORT_WRITES = Counter(
    "golive_report_writes_total",
    "OpenReports Reports written (server-side apply; only when a result changed).",
)
FENCED_WRITES = Counter(
    "golive_fenced_writes_total",
    "Writes not made because this replica stopped leading while a reconcile was in flight.",
)
EVENTS = Counter(
    "golive_events_total",
    "Events recorded, by outcome: created, patched (a repeat: count + 1), filtered (spam "
    "filter), dropped (queue full), refused (by the API server), failed (retries exhausted).",
    ["outcome"],
)
QUEUE_DEPTH = Gauge("golive_workqueue_depth", "AgentDeployments waiting to be reconciled.")
POLICY_LOADED = Gauge("golive_policy_loaded", "1 when a policy set is loaded and usable.")
LEADER = Gauge("golive_leader", "1 when this replica holds the lease and reconciles.")


def record_event(outcome: str) -> None:
    EVENTS.labels(outcome).inc()


def record_decision(source: str, decision: Decision) -> None:
    DECISIONS.labels(source, decision.result.value).inc()
    for v in decision.violations:
        VIOLATIONS.labels(source, v.policy, v.enforcement).inc()


PROMETHEUS_POLLS = Counter(
    "golive_prometheus_polls_total",
    "Reads of Prometheus (all agents at once), by result (ok or error).",
    ["result"],
)
PROMETHEUS_POLL_SECONDS = Histogram(
    "golive_prometheus_poll_seconds",
    "Time to read every measure of every agent from Prometheus.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PROMETHEUS_QUERIES = Counter(
    "golive_prometheus_queries_total", "HTTP API requests sent to Prometheus by the polls."
)
OBSERVED_REDECISIONS = Counter(
    "golive_observed_redecisions_total",
    "Agents queued because what Prometheus observes of them moved.",
)


# --- per agent: what the dashboard and golive's own alerts read ---------------------------------
#
# One series per agent per measure (labels namespace and agent; the verdict has three, one per
# result, 0 or 1, as kube-state-metrics does for phases), plus one per active exception of an
# agent: at 1,000 agents about 12,000 series. Findings are counted per namespace and policy,
# not per agent (`golive_policy_agents`), so the library's size, not the fleet's, bounds them.
# The reconciler records an agent after each decision (`record_agent`), forgets it when it is
# deleted (`forget_agent`), and the replica forgets them all when it stops leading
# (`forget_agents`): only the leader decides, so only the leader exports them, never stale
# copies on a follower. They are built at scrape time from the recorded facts (a Collector),
# so a series that no longer applies (a policy no longer reported, an exception expired or
# gone) simply is not exported any more.

RESULTS = tuple(result.value for result in Result)
SCALES = ("1x", "10x", "100x")
WEBHOOK_OUTCOMES = ("allowed", "denied", "invalid", "error")

WEBHOOK_REVIEWS = Counter(
    "golive_webhook_reviews_total",
    "Admission reviews answered by the webhook, by outcome: allowed, denied (a blocked agent), "
    "invalid (a request golive does not review: wrong path, not an AdmissionReview, another "
    "resource or operation, a malformed object) or error (golive could not decide: engine "
    "unavailable, policies not loaded, an internal failure).",
    ["outcome"],
)
# Every label value exists from the start, so rates and alerts read 0 rather than nothing.
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_REVIEWS.labels(_outcome)
for _stage in ("api", "internal"):
    RECONCILE_ERRORS.labels(_stage)
for _source in ("reconcile", "admission", "admission-dryrun"):
    for _result in RESULTS:
        DECISIONS.labels(_source, _result)


def record_review(outcome: str) -> None:
    WEBHOOK_REVIEWS.labels(outcome).inc()


@dataclass(frozen=True)
class AgentFacts:
    """What one agent exports, taken from its decision and the status written for it."""

    result: str
    findings: frozenset[tuple[str, str]]  # (policy, enforcement) reported for the agent
    currency: str
    monthly: Mapping[str, float]  # scale (1x, 10x, 100x) -> projected monthly cost
    limit: float | None
    requests_per_day: Mapping[str, float]  # declared, observed
    observed_monthly: float | None  # the observed run-rate
    review_due: float | None  # Unix seconds
    review_blocked_from: float | None
    exceptions: Mapping[str, float]  # active exception -> expiresAt, Unix seconds


def _number(value: object) -> float | None:
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None


def _moment(value: object) -> float | None:
    try:
        return parse_timestamp(value, "status").timestamp() if value else None
    except SpecError:
        return None


def agent_facts(
    agent: AgentDeployment,
    decision: Decision,
    status: Mapping[str, Any],
    exceptions: Iterable[Mapping[str, Any]],
    now: datetime,
) -> AgentFacts:
    """exceptions: the AgentExceptions of the agent's namespace (the active ones targeting the
    agent are exported with their expiry)."""
    cost = status.get("cost") or {}
    monthly = {s: v for s in SCALES if (v := _number(cost.get(f"monthly{s}"))) is not None}
    requests: dict[str, float] = {}
    budget = agent.spec.get("budget")
    daily = budget.get("expectedDailyRequests") if isinstance(budget, Mapping) else None
    if isinstance(daily, int) and not isinstance(daily, bool):
        requests["declared"] = float(daily)
    observed = status.get("observed") or {}
    if (seen := _number(observed.get("requestsPerDay"))) is not None:
        requests["observed"] = seen
    review = status.get("review") or {}
    active = active_exceptions(parse_exceptions(exceptions), agent.name, agent.namespace, now)
    return AgentFacts(
        result=decision.result.value,
        findings=frozenset((v.policy, v.enforcement) for v in decision.violations),
        currency=str(cost.get("currency") or ""),
        monthly=monthly,
        limit=_number(cost.get("monthlyLimit")),
        requests_per_day=requests,
        observed_monthly=_number(observed.get("monthlyRunRate")),
        review_due=_moment(review.get("nextDue")),
        review_blocked_from=_moment(review.get("blockedFrom")),
        exceptions={e.meta.name: e.expires_at.timestamp() for e in active},
    )


class AgentCollector(Collector):
    """The per-agent series, built from the facts recorded by the reconciler at each scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._agents: dict[tuple[str, str], AgentFacts] = {}

    def record(self, key: tuple[str, str], facts: AgentFacts) -> None:
        with self._lock:
            self._agents[key] = facts

    def forget(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._agents.pop(key, None)

    def forget_all(self) -> None:
        with self._lock:
            self._agents.clear()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            agents = sorted(self._agents.items())
        ids = ["namespace", "agent"]
        verdict = GaugeMetricFamily(
            "golive_agent_verdict",
            "1 for the agent's current verdict (result admitted, blocked or unknown), 0 for the "
            "others.",
            labels=[*ids, "result"],
        )
        policy = GaugeMetricFamily(
            "golive_policy_agents",
            "Agents with at least one finding of the policy, by namespace and enforcement "
            "(deny, warn, dryrun, excepted, skipped).",
            labels=["namespace", "policy", "enforcement"],
        )
        cost = GaugeMetricFamily(
            "golive_agent_cost_monthly",
            "The agent's projected monthly cost at 1x, 10x and 100x its expected daily requests, "
            "in the budget's currency.",
            labels=[*ids, "currency", "scale"],
        )
        limit = GaugeMetricFamily(
            "golive_agent_cost_monthly_limit",
            "The agent's declared monthly budget limit (spec.budget.monthlyLimit).",
            labels=[*ids, "currency"],
        )
        observed_cost = GaugeMetricFamily(
            "golive_agent_observed_cost_monthly",
            "The agent's monthly run-rate observed in Prometheus (status.observed.monthlyRunRate).",
            labels=[*ids, "currency"],
        )
        requests = GaugeMetricFamily(
            "golive_agent_requests_per_day",
            "Requests a day: declared (spec.budget.expectedDailyRequests) and observed in "
            "Prometheus (status.observed.requestsPerDay).",
            labels=[*ids, "source"],
        )
        review_due = GaugeMetricFamily(
            "golive_agent_review_due_timestamp_seconds",
            "When the agent's next checklist review is due (status.review.nextDue), Unix time.",
            labels=ids,
        )
        review_blocked = GaugeMetricFamily(
            "golive_agent_review_blocked_timestamp_seconds",
            "When an overdue review blocks the agent (status.review.blockedFrom), Unix time.",
            labels=ids,
        )
        expiry = GaugeMetricFamily(
            "golive_agent_exception_expiry_timestamp_seconds",
            "When an active AgentException targeting the agent expires (spec.expiresAt), Unix "
            "time.",
            labels=[*ids, "exception"],
        )
        per_policy: dict[tuple[str, str, str], int] = {}
        for (namespace, name), facts in agents:
            for result in RESULTS:
                verdict.add_metric([namespace, name, result], 1.0 if facts.result == result else 0)
            for policy_name, enforcement in facts.findings:
                found = (namespace, policy_name, enforcement)
                per_policy[found] = per_policy.get(found, 0) + 1
            for scale, amount in facts.monthly.items():
                cost.add_metric([namespace, name, facts.currency, scale], amount)
            if facts.limit is not None:
                limit.add_metric([namespace, name, facts.currency], facts.limit)
            if facts.observed_monthly is not None:
                observed_cost.add_metric([namespace, name, facts.currency], facts.observed_monthly)
            for source, value in facts.requests_per_day.items():
                requests.add_metric([namespace, name, source], value)
            if facts.review_due is not None:
                review_due.add_metric([namespace, name], facts.review_due)
            if facts.review_blocked_from is not None:
                review_blocked.add_metric([namespace, name], facts.review_blocked_from)
            for exception, expires in sorted(facts.exceptions.items()):
                expiry.add_metric([namespace, name, exception], expires)
        for (namespace, policy_name, enforcement), count in sorted(per_policy.items()):
            policy.add_metric([namespace, policy_name, enforcement], count)
        yield from (verdict, policy, cost, limit, observed_cost, requests)
        yield from (review_due, review_blocked, expiry)


AGENTS = AgentCollector()
REGISTRY.register(AGENTS)


def record_agent(
    agent: AgentDeployment,
    decision: Decision,
    status: Mapping[str, Any],
    exceptions: Iterable[Mapping[str, Any]],
    now: datetime,
) -> None:
    AGENTS.record(agent.key, agent_facts(agent, decision, status, exceptions, now))


def forget_agent(key: tuple[str, str]) -> None:
    AGENTS.forget(key)


def forget_agents() -> None:
    AGENTS.forget_all()


# --- the library this replica enforces, for one view of a fleet ----------------------------------
#
# An info-style series (value 1, facts in labels, as kube-state-metrics' *_info and the
# Prometheus docs' "target labels" advice have it): the cluster's name is a label of this one
# series, not of every series golive exports, and queries join it where they need a cluster
# (`* on (job, instance) group_left (cluster) golive_policy_info`). Every replica exports it
# (each loads the library and answers the webhook); it is read at scrape time, so a reload or
# a hand edit shows at the next scrape.


class LibraryCollector(Collector):
    """golive_policy_info{cluster, digest, expected_digest} and golive_policy_drift."""

    def __init__(self) -> None:
        self._source: tuple[str, Callable[[], LibraryState]] | None = None

    def watch(self, cluster: str, state: Callable[[], LibraryState]) -> None:
        """Export what `state` answers at each scrape, as the library of cluster `cluster`."""
        self._source = (cluster, state)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self._source is None:
            return
        cluster, read = self._source
        state = read()
        info = GaugeMetricFamily(
            "golive_policy_info",
            "1, labelled with the cluster's name (--cluster-name), the digest of the policy "
            "library this replica enforces (empty while none is usable) and the digest its "
            "policy ConfigMaps declare (annotation golive.dev/policy-digest; empty when none "
            "or several).",
            labels=["cluster", "digest", "expected_digest"],
        )
        info.add_metric([cluster, state.loaded, state.expected], 1)
        drift = GaugeMetricFamily(
            "golive_policy_drift",
            "1 when the library enforced is not the one the policy ConfigMaps declare (a hand "
            "edit, a ConfigMap added or deleted by hand, a sync stopped half-way), else 0; "
            "also 0 when no ConfigMap declares a digest (nothing to compare with).",
        )
        drift.add_metric([], 1 if state.drifted else 0)
        yield from (info, drift)


LIBRARY = LibraryCollector()
REGISTRY.register(LIBRARY)
