"""What the operator knows of the cluster, kept current by watch events (no polling, no GETs
on the hot path).

Each store keeps only the fields golive reads, not whole objects (the watch bodies carry
managedFields, kubectl's last-applied copy, the Deployment's full pod template...):

- agents: apiVersion, kind, the metadata golive reads (name, namespace, uid, generation,
  resourceVersion, labels, annotations), spec (the policy input), status (the reconciler
  compares it with the status it computes, and `is_own_write` with the one it wrote);
- contracts: apiVersion, kind, name, namespace, spec (`resolve_contract` reads spec);
- exceptions: apiVersion, kind, the metadata `parse_agent_exception` reads, spec;
- deployments: name, namespace, generation, the admitted-generation annotation, spec.replicas,
  and of the status what `deployment_availability` reads (the replica counts, the Available
  condition, a stalled Progressing one) - see controller/domain/workload.py.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.domain.alert_rules import RuleFile, declared_alerts, read_prometheus_rule
from controller.domain.api import ADMITTED_GENERATION
from controller.domain.model import AgentDeployment, read_agent
from controller.domain.moments import parse_timestamp
from controller.domain.observed import FleetObservation, ObservedFacts, observed_facts
from controller.domain.workload import admitted_generation

Key = tuple[str, str]  # (namespace, name)


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_IDENTITY = ("name", "namespace")
_AGENT_META = ("name", "namespace", "uid", "generation", "resourceVersion")
# creationTimestamp: an exception's maximum lifetime runs from it (exception_lifetime).
_EXCEPTION_META = ("name", "namespace", "generation", "creationTimestamp")


_INTERN_MAX = 128  # longer strings are rarely repeated across objects


def _compact(value: Any) -> Any:
    """A copy whose keys and short strings are interned: every cached agent repeats the same
    keys and most values (condition types, reasons, schema keywords), which json.loads makes
    anew for each object. Halves the caches' Python memory (bench agent 8.5 -> 4.4 KB)."""
    if isinstance(value, dict):
        return {(sys.intern(k) if isinstance(k, str) else k): _compact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, str) and len(value) <= _INTERN_MAX:
        return sys.intern(value)
    return value


def compact(value: Any) -> Any:
    try:
        return _compact(value)
    except RecursionError:  # an object nested deeper than the interpreter's limit: kept as is
        return value


def _meta(body: Mapping[str, Any], fields: tuple[str, ...], maps: bool) -> dict[str, Any]:
    meta = body.get("metadata") or {}
    kept = {k: meta[k] for k in fields if k in meta}
    if maps:
        labels = meta.get("labels")
        if labels:
            kept["labels"] = dict(labels)
        annotations = meta.get("annotations")
        if annotations:
            kept["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return kept


def _typed(body: Mapping[str, Any], meta: dict[str, Any], **rest: Any) -> dict[str, Any]:
    kept: dict[str, Any] = {"apiVersion": body.get("apiVersion"), "kind": body.get("kind")}
    kept["metadata"] = meta
    for name, value in rest.items():
        if value is not None:
            kept[name] = value
    return kept


def slim_agent(body: Mapping[str, Any]) -> dict[str, Any]:
    return _typed(
        body,
        _meta(body, _AGENT_META, maps=True),
        spec=compact(body.get("spec")),
        status=compact(body.get("status")),
    )


def slim_contract(body: Mapping[str, Any]) -> dict[str, Any]:
    return _typed(body, _meta(body, _IDENTITY, maps=False), spec=compact(body.get("spec")))


def slim_exception(body: Mapping[str, Any]) -> dict[str, Any]:
    return _typed(body, _meta(body, _EXCEPTION_META, maps=True), spec=compact(body.get("spec")))


_DEPLOYMENT_COUNTS = ("observedGeneration", "replicas", "updatedReplicas", "availableReplicas")


def slim_deployment(body: Mapping[str, Any]) -> dict[str, Any]:
    """What `admitted_generation` and `deployment_availability` read, nothing else."""
    meta = body.get("metadata") or {}
    kept_meta = {k: meta[k] for k in (*_IDENTITY, "generation") if k in meta}
    admitted = (meta.get("annotations") or {}).get(ADMITTED_GENERATION)
    if admitted is not None:
        kept_meta["annotations"] = {ADMITTED_GENERATION: admitted}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    kept_status = {k: status[k] for k in _DEPLOYMENT_COUNTS if k in status}
    # Available as it is; Progressing only once it says the rollout is stuck (its message
    # changes with every ReplicaSet step, which would wake the reconcile for nothing).
    kept_conditions = [
        {k: c[k] for k in ("type", "status", "reason", "message") if k in c}
        for c in status.get("conditions") or []
        if c.get("type") == "Available"
        or (c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded")
    ]
    if kept_conditions:
        kept_status["conditions"] = kept_conditions
    kept_spec = {"replicas": spec["replicas"]} if "replicas" in spec else {}
    return {"metadata": kept_meta, "spec": kept_spec, "status": kept_status}


def key_of(body: Mapping[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


@dataclass
class ClusterState:
    # Read once here (`read_agent`), where they enter the operator; the reconcile gate, the
    # decision and the status all take these views.
    agents: dict[Key, AgentDeployment] = field(default_factory=dict)
    contracts: dict[Key, dict[str, Any]] = field(default_factory=dict)
    exceptions: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # namespace -> name -> object
    deployments: dict[Key, dict[str, Any]] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    # PrometheusRules (monitoring.coreos.com/v1) as their alerting rules, or why they are
    # rejected: namespace -> name -> RuleFile (no expressions, labels or annotations kept).
    alert_rules: dict[str, dict[str, RuleFile]] = field(default_factory=lambda: defaultdict(dict))
    # Whether the cluster serves PrometheusRules (their CRD exists); without, the alert check
    # is reported as skipped. True until discovery answers: never a skip by accident.
    alert_rules_served: bool = True
    # The latest read of Prometheus (None: no --prometheus-url, or not read yet).
    observation: FleetObservation | None = None
    # (namespace, contract name) -> the agents naming it: a contract event finds its agents
    # without a scan of every agent.
    _by_contract: dict[Key, set[Key]] = field(default_factory=lambda: defaultdict(set))

    def put_agent(self, body: Mapping[str, Any], deleted: bool) -> tuple[Key, AgentDeployment]:
        """Store (or drop) an agent; returns its key and what was kept."""
        key = key_of(body)
        kept = read_agent(slim_agent(body))
        old = self.agents.pop(key, None) if deleted else self.agents.get(key)
        if not deleted:
            self.agents[key] = kept
        before = old.contract_name if old is not None else None
        after = None if deleted else kept.contract_name
        if before != after:
            if before is not None:
                users = self._by_contract.get((key[0], before))
                if users is not None:
                    users.discard(key)
                    if not users:
                        del self._by_contract[(key[0], before)]
            if after is not None:
                self._by_contract[(key[0], after)].add(key)
        return key, kept

    def put_contract(self, body: Mapping[str, Any], deleted: bool) -> Key:
        key = key_of(body)
        if deleted:
            self.contracts.pop(key, None)
        else:
            self.contracts[key] = slim_contract(body)
        return key

    def put_deployment(self, body: Mapping[str, Any], deleted: bool) -> Key:
        key = key_of(body)
        if deleted:
            self.deployments.pop(key, None)
        else:
            self.deployments[key] = slim_deployment(body)
        return key

    def put_exception(self, body: Mapping[str, Any], deleted: bool) -> Key:
        namespace, name = key_of(body)
        if deleted:
            self.exceptions[namespace].pop(name, None)
        else:
            self.exceptions[namespace][name] = slim_exception(body)
        return namespace, name

    def put_alert_rule(self, body: Mapping[str, Any], deleted: bool) -> str:
        """Store (or drop) a PrometheusRule, read into its alerting rules; returns its
        namespace."""
        namespace, name = key_of(body)
        if deleted:
            self.alert_rules[namespace].pop(name, None)
            if not self.alert_rules[namespace]:
                del self.alert_rules[namespace]
        else:
            self.alert_rules[namespace][name] = read_prometheus_rule(body, namespace)
        return namespace

    def rules_in(self, namespace: str) -> list[RuleFile]:
        return list(self.alert_rules.get(namespace, {}).values())

    def agents_declaring_alerts(self, namespace: str | None = None) -> list[Key]:
        """Agents that name at least one alert, in one namespace (None: all)."""
        return sorted(
            key
            for key, agent in self.agents.items()
            if (namespace is None or key[0] == namespace) and declared_alerts(agent.spec)
        )

    def observed_facts(self, agent: AgentDeployment) -> ObservedFacts | None:
        """What Prometheus last observed of an agent, with what the cluster adds: when the
        running generation finished rolling out (Ready's transition to True) and whether the
        agent's generation is a new one (not what its Deployment runs). The webhook and the
        reconcile gate both ask here, so they decide on the same observation."""
        if self.observation is None:
            return None
        running = admitted_generation(self.deployments.get(agent.key))
        stored = self.agents.get(agent.key, agent)
        return observed_facts(
            self.observation,
            agent,
            rolled_out_at=_ready_since(stored.status),
            new_generation=running != agent.current_generation,
        )

    def owner_email(self, namespace: str, name: str) -> str | None:
        """The owner's email of a cached agent (an exception's approver may own none of its
        targets)."""
        agent = self.agents.get((namespace, name))
        return agent.owner_email if agent is not None else None

    def contract(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.contracts.get((namespace, name))

    def agents_using_contract(self, namespace: str, contract: str) -> list[Key]:
        return sorted(self._by_contract.get((namespace, contract), ()))

    def agents_targeted_by(self, exception: Mapping[str, Any]) -> list[Key]:
        namespace = key_of(exception)[0]
        targets = (exception.get("spec") or {}).get("targets") or []
        return [(namespace, str(t)) for t in targets if (namespace, str(t)) in self.agents]

    def namespace_exceptions(self, namespace: str) -> list[dict[str, Any]]:
        return list(self.exceptions.get(namespace, {}).values())


def _ready_since(status: Mapping[str, Any]) -> datetime | None:
    """When the agent's Ready condition last turned True (its rollout completed), or None."""
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready" and cond.get("status") == "True":
            try:
                return parse_timestamp(str(cond.get("lastTransitionTime")), "lastTransitionTime")
            except ValueError:
                return None
    return None
