"""Prometheus metrics of the operator and the webhook."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from controller.domain.decision import Decision

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
