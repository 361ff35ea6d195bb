"""What a Prometheus observes of each running agent, and the `observed` block Rego sees (pure).

The label convention: golive's pods carry `golive.dev/agent: <agent name>` (the Deployment's
selector label, present since the first release, so no pod template changes and no agent rolls
on upgrade). Prometheus' usual Kubernetes relabelling maps it to the series label `agent`
(`__meta_kubernetes_pod_label_golive_dev_agent` -> `agent`) and the pod's namespace to
`namespace` (`__meta_kubernetes_namespace` -> `namespace`); docs/observed.md has the scrape job.
Every query groups by those two labels, so one query per measure answers for every agent: the
number of queries per poll does not grow with the number of agents (only with the number of
distinct metric names the agents configure, usually one per measure).

Metric names default to OpenTelemetry's GenAI semantic conventions as the Prometheus exporter
writes them: requests are `gen_ai_client_operation_duration_seconds_count` (the operation
duration histogram's count), failed requests are the same series with an `error_type` label
(OTel's `error.type`), and cost is `gen_ai_client_cost_usd_total`, a counter of money spent
(no OTel convention yet; golive's, in the same namespace). An agent may name its own under
`spec.monitoring.metrics`.

Numbers are rounded to three significant digits when observed, so that a poll whose traffic
moved by a few requests changes neither the status nor a verdict; money is compared with the
budget in exact decimal arithmetic, as in controller/domain/cost.py.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from controller.domain.alert_rules import declared_alerts
from controller.domain.cost import DAYS_PER_MONTH, format_amount, project_cost
from controller.domain.model import AgentDeployment
from controller.domain.moments import format_timestamp

AGENT_LABEL = "agent"  # the series label that names the agent
NAMESPACE_LABEL = "namespace"
SECONDS_PER_DAY = 86_400
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
WINDOW = re.compile(r"^[1-9][0-9]*(ms|s|m|h|d)$")

DEFAULT_REQUESTS = "gen_ai_client_operation_duration_seconds_count"
DEFAULT_ERROR_LABEL = "error_type"
DEFAULT_COST = "gen_ai_client_cost_usd_total"

# The policies that judge `input.observed`; each is reported `skipped` when it cannot judge.
LIVE_POLICY = "golive.observability.live"
ALERTS_LOADED_POLICY = "golive.observability.alerts_loaded"
ALERTS_QUIET_POLICY = "golive.observability.alerts_quiet"
BUDGET_POLICY = "golive.economics.observed_budget"
BUDGET_10X_POLICY = "golive.economics.observed_budget_at_scale"
DEMO_SCALE_POLICY = "golive.economics.demo_scale"
OBSERVED_POLICIES = (
    LIVE_POLICY,
    ALERTS_LOADED_POLICY,
    ALERTS_QUIET_POLICY,
    BUDGET_POLICY,
    BUDGET_10X_POLICY,
    DEMO_SCALE_POLICY,
)
TRAFFIC_POLICIES = (BUDGET_POLICY, BUDGET_10X_POLICY, DEMO_SCALE_POLICY)

ALERT_STATES = ("inactive", "pending", "firing")


class ObservationError(ValueError):
    """A Prometheus answer golive cannot read; the message names what was wrong."""


def round3(value: float) -> float:
    """Three significant digits (0.012345 -> 0.0123, 123456 -> 123000)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, 2 - math.floor(math.log10(abs(value))))


def decimal3(value: float) -> Decimal:
    return Decimal(repr(round3(value)))


# --- what an agent asks to be observed with ---------------------------------------------------


@dataclass(frozen=True)
class MetricNames:
    requests: str = DEFAULT_REQUESTS
    errors: str | None = None  # None: the requests series with an error_type label
    cost: str = DEFAULT_COST


def metric_names(spec: object) -> MetricNames:
    """spec.monitoring.metrics, defaults for what is not set; a name that is not a Prometheus
    metric name is ignored here (the CRD schema refuses it; a policy reports it in check)."""
    monitoring = spec.get("monitoring") if isinstance(spec, Mapping) else None
    metrics = monitoring.get("metrics") if isinstance(monitoring, Mapping) else None
    if not isinstance(metrics, Mapping):
        return MetricNames()

    def name(key: str) -> str | None:
        value = metrics.get(key)
        return value if isinstance(value, str) and METRIC_NAME.match(value) else None

    return MetricNames(
        requests=name("requests") or DEFAULT_REQUESTS,
        errors=name("errors"),
        cost=name("cost") or DEFAULT_COST,
    )


# --- the queries of one poll ------------------------------------------------------------------

AgentKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class Query:
    measure: str  # up | requests | errors | cost
    metric: str  # the metric name it reads (for messages)
    promql: str


def _by_agent(expr: str) -> str:
    return f"sum by ({NAMESPACE_LABEL}, {AGENT_LABEL}) ({expr})"


def _selector(metric: str, extra: str = "") -> str:
    return f'{metric}{{{AGENT_LABEL}!=""{extra}}}'


def poll_queries(names: Iterable[MetricNames], window: str) -> list[Query]:
    """One query per measure and distinct metric name, each grouped by agent."""
    if not WINDOW.match(window):
        raise ValueError(f"window: expected a Prometheus duration such as 5m or 1h, got {window!r}")
    queries = [Query("up", "up", _by_agent(_selector("up")))]
    seen: set[tuple[str, str]] = set()
    for n in names:
        wanted = [("requests", n.requests), ("cost", n.cost)]
        wanted.append(("errors", n.errors) if n.errors else ("errors", f"{n.requests}/error"))
        for measure, metric in wanted:
            if (measure, metric) in seen:
                continue
            seen.add((measure, metric))
            if measure == "errors" and metric.endswith("/error"):
                selector = _selector(n.requests, f',{DEFAULT_ERROR_LABEL}!=""')
            else:
                selector = _selector(metric)
            queries.append(Query(measure, metric, _by_agent(f"rate({selector}[{window}])")))
    return queries


def error_metric(names: MetricNames) -> str:
    return names.errors or f"{names.requests}/error"


def parse_vector(answer: object, promql: str) -> dict[AgentKey, float]:
    """`data.result` of an instant query grouped by agent; NaN and infinities are dropped (a
    0/0 is no observation), anything that is not a Prometheus vector is an ObservationError."""
    data = answer.get("data") if isinstance(answer, Mapping) else None
    if not isinstance(data, Mapping) or data.get("resultType") != "vector":
        raise ObservationError(f"query {promql!r}: expected a vector result, got {answer!r:.200}")
    out: dict[AgentKey, float] = {}
    for sample in data.get("result") or []:
        labels = sample.get("metric") if isinstance(sample, Mapping) else None
        value = sample.get("value") if isinstance(sample, Mapping) else None
        if not isinstance(labels, Mapping) or not isinstance(value, list) or len(value) != 2:
            raise ObservationError(f"query {promql!r}: a sample is not [time, value]: {sample!r}")
        try:
            number = float(value[1])
        except (TypeError, ValueError):
            raise ObservationError(
                f"query {promql!r}: value {value[1]!r} is not a number"
            ) from None
        namespace, agent = labels.get(NAMESPACE_LABEL), labels.get(AGENT_LABEL)
        if isinstance(namespace, str) and isinstance(agent, str) and math.isfinite(number):
            out[(namespace, agent)] = number
    return out


# --- alerting rules as Prometheus loaded them ---------------------------------------------------


@dataclass(frozen=True)
class LoadedAlert:
    """One alerting rule Prometheus evaluates, with the labels and state of each instance."""

    name: str
    instances: tuple[tuple[Mapping[str, str], str], ...]  # (labels, pending|firing)

    @functools.cached_property
    def _by_agent(self) -> tuple[bool, dict[tuple[str | None, str], str]]:
        """(whether instances carry the agent label, the worst state per (namespace, agent)),
        built once per read: a fleet of thousands asks every rule once per agent."""
        labelled = any(AGENT_LABEL in labels for labels, _ in self.instances)
        states: dict[tuple[str | None, str], str] = {}
        for labels, state in self.instances:
            if AGENT_LABEL not in labels:
                continue
            key = (labels.get(NAMESPACE_LABEL), labels[AGENT_LABEL])
            if states.get(key) != "firing":
                states[key] = state
        return labelled, states

    def state_for(self, namespace: str, agent: str) -> str:
        """The rule's state for one agent: its instances labelled with that agent when any
        instance carries the agent label, else all of them (an alert written for one agent)."""
        labelled, states = self._by_agent
        mine: set[str | None]
        if not labelled:
            mine = {s for _, s in self.instances}
        else:
            mine = {states.get((namespace, agent)), states.get((None, agent))}
        if "firing" in mine:
            return "firing"
        return "pending" if "pending" in mine else "inactive"


def parse_rules(answer: object) -> dict[str, list[LoadedAlert]]:
    """`/api/v1/rules?type=alert`: alerting rules by name (a name may be in several groups)."""
    data = answer.get("data") if isinstance(answer, Mapping) else None
    groups = data.get("groups") if isinstance(data, Mapping) else None
    if not isinstance(groups, list):
        raise ObservationError(f"/api/v1/rules: expected data.groups, got {answer!r:.200}")
    rules: dict[str, list[LoadedAlert]] = {}
    for group in groups:
        for rule in (group.get("rules") or []) if isinstance(group, Mapping) else []:
            if not isinstance(rule, Mapping) or rule.get("type") != "alerting":
                continue
            name = rule.get("name")
            if not isinstance(name, str):
                continue
            instances = tuple(
                (dict(a.get("labels") or {}), str(a.get("state")))
                for a in rule.get("alerts") or []
                if isinstance(a, Mapping) and a.get("state") in ("pending", "firing")
            )
            rules.setdefault(name, []).append(LoadedAlert(name, instances))
    return rules


# --- one poll's answer for the whole fleet ------------------------------------------------------


@dataclass(frozen=True)
class FleetObservation:
    """Everything one poll read. `error` set: Prometheus could not be read (every observed check
    is then skipped, saying why). `stale` set: the latest read failed with that error and this
    is the last good read, still decided on (the operator keeps it for --prometheus-stale-after,
    so a short outage neither admits nor blocks anything)."""

    at: datetime
    source: str  # the Prometheus URL, for messages
    window: str
    error: str | None = None
    up: Mapping[AgentKey, float] = field(default_factory=dict)
    # (measure, metric name) -> per agent rate per second
    rates: Mapping[tuple[str, str], Mapping[AgentKey, float]] = field(default_factory=dict)
    alerts: Mapping[str, list[LoadedAlert]] = field(default_factory=dict)
    stale: str | None = None

    @classmethod
    def failed(cls, at: datetime, source: str, window: str, error: str) -> FleetObservation:
        return cls(at, source, window, error)


@dataclass(frozen=True)
class AgentObservation:
    """One agent's facts, rounded; None where Prometheus has no series to tell."""

    scraped: bool
    targets_up: int
    requests_per_day: float | None
    error_ratio: float | None
    cost_per_request: Decimal | None
    cost_source: str | None  # counter | estimate
    monthly_run_rate: Decimal | None
    alerts: Mapping[str, tuple[bool, str]]  # declared alert -> (loaded, state)
    problems: tuple[str, ...]  # a measure that could not be read for this agent, and why


def observe_agent(
    fleet: FleetObservation, namespace: str, name: str, spec: object
) -> AgentObservation:
    key = (namespace, name)
    names = metric_names(spec)
    problems: list[str] = []
    up = fleet.up.get(key)
    scraped = up is not None and up > 0
    request_rate = fleet.rates.get(("requests", names.requests), {}).get(key)
    error_rate = fleet.rates.get(("errors", error_metric(names)), {}).get(key)
    cost_rate = fleet.rates.get(("cost", names.cost), {}).get(key)
    if scraped and request_rate is None:
        problems.append(
            f"metric {names.requests} has no series with {AGENT_LABEL}={name!r} and "
            f"{NAMESPACE_LABEL}={namespace!r} (set spec.monitoring.metrics.requests to the "
            "counter of requests the agent exports)"
        )
    requests_per_day = round3(request_rate * SECONDS_PER_DAY) if request_rate is not None else None
    error_ratio = None
    if request_rate:
        error_ratio = round3(min(1.0, (error_rate or 0.0) / request_rate))
    declared = project_cost(
        spec.get("budget") if isinstance(spec, Mapping) else None,
        spec.get("models") if isinstance(spec, Mapping) else None,
    ).per_request
    cost_per_request: Decimal | None = None
    cost_source = None
    run_rate: Decimal | None = None
    if cost_rate is not None:
        cost_source = "counter"
        run_rate = decimal3(cost_rate * SECONDS_PER_DAY * DAYS_PER_MONTH)
        if request_rate:
            cost_per_request = decimal3(cost_rate / request_rate)
    elif requests_per_day is not None and declared is not None:
        cost_source = "estimate"
        cost_per_request = declared
        run_rate = decimal3(float(Decimal(repr(requests_per_day)) * DAYS_PER_MONTH * declared))
    alerts: dict[str, tuple[bool, str]] = {}
    for alert in declared_alerts(spec):
        loaded = fleet.alerts.get(alert, [])
        states = {rule.state_for(namespace, name) for rule in loaded}
        state = next((s for s in ("firing", "pending") if s in states), "inactive")
        alerts[alert] = (bool(loaded), state)
    return AgentObservation(
        scraped=scraped,
        targets_up=int(up or 0),
        requests_per_day=requests_per_day,
        error_ratio=error_ratio,
        cost_per_request=cost_per_request,
        cost_source=cost_source,
        monthly_run_rate=run_rate,
        alerts=alerts,
        problems=tuple(problems),
    )


# --- handed to Rego ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedFacts:
    """What the policy input's `observed` block is made of for one agent and one decision.

    rolled_out_at: when the running generation's rollout completed (Ready True), None when
        unknown (nothing runs, or `golive check`, which sees files, not the cluster).
    new_generation: the decision is about a generation that does not run yet (a rollout would
        follow an admit): what `alerts_quiet` and `observed_budget` hold back.
    """

    fleet: FleetObservation
    agent: AgentObservation | None
    rolled_out_at: datetime | None
    new_generation: bool
    generation: int | None = None  # metadata.generation of the agent decided (None in files)


def observed_facts(
    fleet: FleetObservation | None,
    agent: AgentDeployment,
    *,
    rolled_out_at: datetime | None,
    new_generation: bool,
) -> ObservedFacts | None:
    """None without a Prometheus (the observed checks are off)."""
    if fleet is None:
        return None
    observation = (
        None if fleet.error else observe_agent(fleet, agent.namespace, agent.name, agent.spec)
    )
    return ObservedFacts(fleet, observation, rolled_out_at, new_generation, agent.generation)


def _money(amount: Decimal | None) -> str | None:
    return format_amount(amount) if amount is not None else None


def observed_input(facts: ObservedFacts, spec: object) -> dict[str, Any] | None:
    """The `observed` block of the policy input; None (absent) when Prometheus could not be read.

    Budget comparisons are made here in exact decimals (`withinLimit`, `within10x`); Rego gets
    the amounts as strings for its messages, like `cost.*`.
    """
    a = facts.agent
    if a is None:
        return None
    cost = project_cost(
        spec.get("budget") if isinstance(spec, Mapping) else None,
        spec.get("models") if isinstance(spec, Mapping) else None,
    )
    limit = Decimal(cost.monthly_limit) if cost.monthly_limit is not None else None
    run_rate = a.monthly_run_rate
    budget: dict[str, Any] = {
        "currency": cost.currency,
        "monthlyLimit": cost.monthly_limit,
        "monthlyRunRate": _money(run_rate),
        "monthlyRunRate10x": _money(run_rate * 10) if run_rate is not None else None,
        "withinLimit": None if run_rate is None or limit is None else run_rate <= limit,
        "within10x": None if run_rate is None or limit is None else run_rate * 10 <= limit,
        "declaredCostPerRequest": _money(cost.per_request),
    }
    return {
        "source": "prometheus",
        "generation": facts.generation,
        "at": format_timestamp(facts.fleet.at),
        "window": facts.fleet.window,
        "scraped": a.scraped,
        "targetsUp": a.targets_up,
        "rolledOutAt": format_timestamp(facts.rolled_out_at) if facts.rolled_out_at else None,
        "newGeneration": facts.new_generation,
        "requestsPerDay": a.requests_per_day,
        "errorRatio": a.error_ratio,
        "costPerRequest": _money(a.cost_per_request),
        "costSource": a.cost_source,
        "budget": budget,
        "alerts": {
            name: {"loaded": loaded, "state": state} for name, (loaded, state) in a.alerts.items()
        },
        "problems": list(a.problems),
    }


def skipped_observed(
    facts: ObservedFacts | None, loaded_policies: Iterable[str]
) -> list[tuple[str, str, str]]:
    """(policy, field, message) for each observed check that could not judge this agent: all of
    them while Prometheus cannot be read, the traffic ones when a metric has no series."""
    if facts is None:
        return []
    loaded = set(loaded_policies)
    if facts.fleet.error is not None:
        message = (
            f"not checked: Prometheus at {facts.fleet.source} could not be read "
            f"({facts.fleet.error}); no verdict depends on it until it answers again"
        )
        return [(p, "spec.monitoring", message) for p in OBSERVED_POLICIES if p in loaded]
    problems = facts.agent.problems if facts.agent is not None else ()
    if not problems:
        return []
    message = "not checked: " + "; ".join(problems)
    return [(p, "spec.monitoring.metrics", message) for p in TRAFFIC_POLICIES if p in loaded]


# --- status ------------------------------------------------------------------------------------


def observed_status(facts: ObservedFacts | None) -> dict[str, Any] | None:
    """`status.observed` (without `observedAt`, which the status builder adds when it moves)."""
    if facts is None or facts.agent is None:
        return None
    a = facts.agent
    block: dict[str, Any] = {"scraped": a.scraped}
    if a.requests_per_day is not None:
        block["requestsPerDay"] = _number(a.requests_per_day)
    if a.error_ratio is not None:
        block["errorRatio"] = _number(a.error_ratio)
    if a.cost_per_request is not None:
        block["costPerRequest"] = format_amount(a.cost_per_request)
    if a.monthly_run_rate is not None:
        block["monthlyRunRate"] = format_amount(a.monthly_run_rate)
    if a.cost_source is not None:
        block["costSource"] = a.cost_source
    block["firingAlerts"] = sorted(n for n, (_, s) in a.alerts.items() if s == "firing")
    block["unloadedAlerts"] = sorted(n for n, (loaded, _) in a.alerts.items() if not loaded)
    return block


def _number(value: float) -> str:
    """A number as status text: no exponent, no trailing zeros (1.23e-05 -> 0.0000123)."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def observed_condition(facts: ObservedFacts | None) -> tuple[str, str, str] | None:
    """(status, reason, message) of the `Observed` condition; None without a Prometheus."""
    if facts is None:
        return None
    if facts.agent is None:
        return (
            "Unknown",
            "PrometheusUnavailable",
            f"Prometheus at {facts.fleet.source} could not be read: {facts.fleet.error}",
        )
    a = facts.agent
    if facts.fleet.stale is not None:
        return (
            "Unknown",
            "PrometheusUnavailable",
            f"Prometheus at {facts.fleet.source} could not be read: {facts.fleet.stale}; "
            f"deciding on its last read, at {format_timestamp(facts.fleet.at)}",
        )
    if not a.scraped:
        return (
            "False",
            "NotScraped",
            f"no target of Prometheus at {facts.fleet.source} is up with labels "
            f"{AGENT_LABEL} and {NAMESPACE_LABEL} of this agent",
        )
    parts = [f"{a.targets_up} target(s) up"]
    if a.requests_per_day is not None:
        parts.append(f"{_number(a.requests_per_day)} requests/day")
    if a.error_ratio is not None:
        parts.append(f"error ratio {_number(a.error_ratio)}")
    if a.monthly_run_rate is not None:
        parts.append(f"run-rate {format_amount(a.monthly_run_rate)}/month ({a.cost_source})")
    firing = sorted(n for n, (_, s) in a.alerts.items() if s == "firing")
    if firing:
        parts.append("firing: " + ", ".join(firing))
    return ("True", "Scraped", "; ".join(parts))


# --- when a new read of Prometheus calls for a new decision -------------------------------------

RELATIVE_MOVE = 0.1  # a number that moved by more than this share is re-decided (and shown)


def _moved(old: float | Decimal | None, new: float | Decimal | None) -> bool:
    if old is None or new is None:
        return old is not new
    old_f, new_f = float(old), float(new)
    if old_f == 0:
        return new_f != 0
    return abs(new_f - old_f) / abs(old_f) > RELATIVE_MOVE


def needs_decision(
    before: AgentObservation | None,
    after: AgentObservation | None,
    limit: Decimal | None,
) -> bool:
    """Whether a new observation of one agent may move its verdict or its shown numbers: a
    discrete fact changed (scraped, an alert loaded or its state, the run-rate crossing the limit
    at 1x or 10x, a metric that lost its series) or a number moved by more than 10%. Small moves
    wait for the next audit, so a steady fleet is not re-decided on every poll."""
    if (before is None) != (after is None):
        return True
    if before is None or after is None:
        return False
    if (before.scraped, before.alerts, before.problems, before.cost_source) != (
        after.scraped,
        after.alerts,
        after.problems,
        after.cost_source,
    ):
        return True
    if limit is not None:
        for scale in (1, 10):
            old, new = before.monthly_run_rate, after.monthly_run_rate
            if (old is not None and old * scale > limit) != (
                new is not None and new * scale > limit
            ):
                return True
    return any(
        _moved(old, new)
        for old, new in (
            (before.requests_per_day, after.requests_per_day),
            (before.error_ratio, after.error_ratio),
            (before.cost_per_request, after.cost_per_request),
            (before.monthly_run_rate, after.monthly_run_rate),
        )
    )


def monthly_limit(spec: object) -> Decimal | None:
    budget = spec.get("budget") if isinstance(spec, Mapping) else None
    raw = budget.get("monthlyLimit") if isinstance(budget, Mapping) else None
    try:
        return Decimal(raw) if isinstance(raw, str) else None
    except ArithmeticError:
        return None
