"""Alert facts handed to Rego: does each alert an agent names exist as an alerting rule?

The Prometheus Operator's `PrometheusRule` (monitoring.coreos.com/v1) holds Prometheus rule
groups; an alert exists when some group has a rule `alert: <name>`. golive resolves the alerts
an agent declares (`spec.monitoring.alerts`) against the PrometheusRules of the agent's
namespace (or of the one namespace the platform team configures) and hands Rego what it found;
`golive.observability.alerts_exist` judges. Pure: the caller supplies the rules (the operator's
watch cache, or files given to `golive check`).

A PrometheusRule the Prometheus Operator would reject (it validates each object with
Prometheus' rule parser and skips the whole object on any error) defines no alert here either:
its error, naming the field, is handed to Rego so the violation says why the alert is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from controller.domain.errors import describe_value

GROUP = "monitoring.coreos.com"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "PrometheusRule"
PLURAL = "prometheusrules"
CRD_NAME = f"{PLURAL}.{GROUP}"

# The policy that judges these facts; the skipped finding is reported under its id.
ALERTS_POLICY = "golive.observability.alerts_exist"
ALERTS_FIELD = "spec.monitoring.alerts"


class AlertResolution(StrEnum):
    RESOLVED = "resolved"  # looked up; `found` says where each declared alert is defined
    SKIPPED = "skipped"  # admission: PrometheusRules are other objects, checked at the gate
    UNAVAILABLE = "unavailable"  # nowhere to look: no PrometheusRule CRD, no rule files given


@dataclass(frozen=True)
class AlertingRule:
    alert: str
    group: str


@dataclass(frozen=True)
class RuleFile:
    """One PrometheusRule as golive reads it: its alerting rules, or why it is rejected.

    A rejected object (error set) defines nothing, as for the Prometheus Operator; `alerts`
    then lists the alert names that could still be read, so a message can say which object
    would have defined a missing alert.
    """

    namespace: str
    name: str
    alerts: tuple[AlertingRule, ...]
    error: str | None = None

    @property
    def alert_names(self) -> frozenset[str]:
        return frozenset(rule.alert for rule in self.alerts)


class _Problems:
    """The first problem found in an object (its path, what was expected, what was found)."""

    def __init__(self) -> None:
        self.first: str | None = None

    def add(self, path: str, expected: str, found: object = None, missing: bool = False) -> None:
        if self.first is None:
            shown = "nothing (the field is missing)" if missing else describe_value(found)
            if len(path) > 200:  # label keys are free-form: keep messages within status bounds
                path = path[:197] + "..."
            self.first = f"{path}: expected {expected}, found {shown}"


def _label_map(value: object, path: str, problems: _Problems) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        problems.add(path, "an object of strings", value)
        return
    for key, item in value.items():
        if not isinstance(item, str):
            problems.add(f"{path}.{key}", "a string", item)


def _rule(
    rule: object, path: str, group: str, alerts: list[AlertingRule], problems: _Problems
) -> None:
    if not isinstance(rule, Mapping):
        problems.add(path, "an object (a rule with alert or record, and expr)", rule)
        return
    alert, record = rule.get("alert"), rule.get("record")
    for key, value in (("alert", alert), ("record", record)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.add(f"{path}.{key}", "a non-empty string", value)
    has_alert = isinstance(alert, str) and alert.strip() != ""
    has_record = isinstance(record, str) and record.strip() != ""
    if alert is None and record is None:
        problems.add(
            path, "one of alert or record (a rule is an alerting or a recording rule)", missing=True
        )
    elif has_alert and has_record:
        problems.add(
            f"{path}.record", "no record in an alerting rule (set alert or record)", record
        )
    expr = rule.get("expr")
    if expr is None:
        problems.add(f"{path}.expr", "a PromQL expression", missing=True)
    elif isinstance(expr, bool) or not isinstance(expr, str | int) or str(expr).strip() == "":
        problems.add(f"{path}.expr", "a PromQL expression (a non-empty string)", expr)
    _label_map(rule.get("labels"), f"{path}.labels", problems)
    _label_map(rule.get("annotations"), f"{path}.annotations", problems)
    if has_record and not has_alert:
        for key in ("annotations", "for", "keep_firing_for"):
            if rule.get(key) is not None:
                problems.add(f"{path}.{key}", f"no {key} in a recording rule", rule.get(key))
    if has_alert and isinstance(alert, str):
        alerts.append(AlertingRule(alert, group))


def _group(
    group: object, path: str, seen: set[str], alerts: list[AlertingRule], problems: _Problems
) -> None:
    if not isinstance(group, Mapping):
        problems.add(path, "an object (a rule group with name and rules)", group)
        return
    name = group.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{path}.name", "a non-empty string", name, missing="name" not in group)
        name = ""
    elif name in seen:
        problems.add(f"{path}.name", "a group name not used twice in one PrometheusRule", name)
    seen.add(name)
    rules = group.get("rules")
    if rules is None:
        return  # a group without rules is valid (and defines nothing)
    if not isinstance(rules, list):
        problems.add(f"{path}.rules", "an array of rules", rules)
        return
    for index, rule in enumerate(rules):
        _rule(rule, f"{path}.rules[{index}]", name, alerts, problems)


def read_prometheus_rule(obj: Mapping[str, Any], default_namespace: str = "default") -> RuleFile:
    """Read one PrometheusRule. Never raises: a malformed object comes back with `error` set
    (the first problem, naming its field) and defines no alert."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = meta.get("name")
    name = name if isinstance(name, str) else ""
    namespace = meta.get("namespace")
    namespace = namespace if isinstance(namespace, str) and namespace else default_namespace
    problems = _Problems()
    alerts: list[AlertingRule] = []
    if obj.get("apiVersion") != API_VERSION or obj.get("kind") != KIND:
        problems.add(
            "apiVersion/kind", f"{API_VERSION} {KIND}", f"{obj.get('apiVersion')} {obj.get('kind')}"
        )
    if not name:
        problems.add(
            "metadata.name", "a non-empty string", meta.get("name"), missing="name" not in meta
        )
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        problems.add("spec", "an object with groups", spec, missing="spec" not in obj)
    else:
        groups = spec.get("groups")
        if groups is not None and not isinstance(groups, list):
            problems.add("spec.groups", "an array of rule groups", groups)
        seen: set[str] = set()
        for index, group in enumerate(groups if isinstance(groups, list) else []):
            _group(group, f"spec.groups[{index}]", seen, alerts, problems)
    return RuleFile(namespace, name, tuple(alerts), problems.first)


def is_prometheus_rule(obj: Mapping[str, Any]) -> bool:
    api = str(obj.get("apiVersion", ""))
    return api.split("/")[0] == GROUP and obj.get("kind") == KIND


MAX_REJECTED = 3

# --- where an agent's alerts are looked up -----------------------------------------------------

# The PrometheusRules of one namespace.
RulesIn = Callable[[str], Iterable[RuleFile]]


@dataclass(frozen=True)
class AlertRules:
    """Where alerts are looked up for a decision: built by each caller (reconcile gate:
    its watch cache; webhook: deferred; `golive check`: the files it was given)."""

    resolution: AlertResolution
    rules_in: RulesIn | None = None
    # The platform's namespace for alerting rules; None: the agent's own namespace.
    namespace: str | None = None
    # Why there is nowhere to look (unavailable): said in the skipped finding.
    reason: str = ""

    @staticmethod
    def lookup(rules_in: RulesIn, namespace: str | None = None) -> AlertRules:
        return AlertRules(AlertResolution.RESOLVED, rules_in, namespace or None)

    @staticmethod
    def deferred() -> AlertRules:
        return AlertRules(AlertResolution.SKIPPED)

    @staticmethod
    def unavailable(reason: str) -> AlertRules:
        return AlertRules(AlertResolution.UNAVAILABLE, reason=reason)


NO_CRD_REASON = (
    f"the cluster has no {KIND} CRD ({API_VERSION}, the Prometheus Operator's), so there are no "
    "alerting rules to look the alerts up in"
)
NO_RULE_SOURCE = AlertRules.unavailable("no PrometheusRules were given to look the alerts up in")


def declared_alerts(agent_spec: object) -> list[str]:
    """The alert names an agent declares (non-blank strings; monitoring_declared judges the
    rest)."""
    monitoring = agent_spec.get("monitoring") if isinstance(agent_spec, Mapping) else None
    alerts = monitoring.get("alerts") if isinstance(monitoring, Mapping) else None
    if not isinstance(alerts, list):
        return []
    return [a for a in alerts if isinstance(a, str) and a.strip()]


@dataclass(frozen=True)
class AlertLocation:
    prometheus_rule: str
    group: str


@dataclass(frozen=True)
class AlertRulesResolution:
    resolution: AlertResolution
    namespace: str | None
    found: Mapping[str, tuple[AlertLocation, ...]] = field(default_factory=dict)
    # Rejected PrometheusRules that name a declared alert, or in which no alert was readable.
    rejected: tuple[RuleFile, ...] = ()
    reason: str = ""

    def to_input(self) -> dict[str, Any]:
        """The `alertRules` block of the policy input."""
        return {
            "resolution": self.resolution.value,
            "namespace": self.namespace,
            "found": {
                alert: [{"prometheusRule": at.prometheus_rule, "group": at.group} for at in places]
                for alert, places in sorted(self.found.items())
            },
            "rejected": [
                {"prometheusRule": r.name, "error": r.error, "alerts": sorted(r.alert_names)}
                for r in self.rejected
            ],
            "reason": self.reason,
        }


def resolve_alert_rules(
    agent_spec: object, agent_namespace: str, source: AlertRules
) -> AlertRulesResolution:
    """Look up each alert the agent declares in the PrometheusRules of its namespace (or the
    configured one)."""
    if source.resolution is not AlertResolution.RESOLVED or source.rules_in is None:
        resolution = (
            AlertResolution.SKIPPED
            if source.resolution is AlertResolution.SKIPPED
            else AlertResolution.UNAVAILABLE
        )
        return AlertRulesResolution(resolution, None, reason=source.reason)
    namespace = source.namespace or agent_namespace
    wanted = set(declared_alerts(agent_spec))
    found: dict[str, list[AlertLocation]] = {}
    rejected: list[RuleFile] = []
    for rule_file in sorted(source.rules_in(namespace), key=lambda r: r.name):
        if rule_file.error is not None:
            # Worth naming when it mentions a declared alert, or when nothing in it was readable.
            if rule_file.alert_names & wanted or not rule_file.alerts:
                rejected.append(rule_file)
            continue
        for rule in rule_file.alerts:
            if rule.alert in wanted:
                found.setdefault(rule.alert, []).append(AlertLocation(rule_file.name, rule.group))
    return AlertRulesResolution(
        AlertResolution.RESOLVED,
        namespace,
        {alert: tuple(places) for alert, places in found.items()},
        # The first few (by name): each is named in the messages of the missing alerts, which
        # the agent's status bounds.
        tuple(rejected[:MAX_REJECTED]),
    )


def skipped_finding(resolution: AlertRulesResolution, agent_spec: object) -> str | None:
    """The message of the skipped finding when alerts were declared but could not be looked up
    anywhere (no PrometheusRule CRD in the cluster, no rule files given to `golive check`);
    None otherwise (resolved, deferred at admission, or no alert declared)."""
    if resolution.resolution is not AlertResolution.UNAVAILABLE:
        return None
    alerts = declared_alerts(agent_spec)
    if not alerts:
        return None
    names = ", ".join(json.dumps(a) for a in alerts)
    return (
        f"not checked: {resolution.reason or 'nowhere to look the alerts up'}; "
        f"alerts {names} were not verified to exist as alerting rules"
    )
