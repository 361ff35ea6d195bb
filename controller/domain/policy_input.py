"""The policy input every Rego rule sees (design.md, "The policy input").

One builder for the webhook, the reconcile loop and `golive check`, so the three can never
disagree about what a rule was shown.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from controller.domain.alert_rules import (
    NO_RULE_SOURCE,
    AlertRulesResolution,
    resolve_alert_rules,
)
from controller.domain.contract import ContractResolution
from controller.domain.cost import project_cost
from controller.domain.exceptions import active_exceptions, exceptions_input, format_timestamp
from controller.domain.model import AgentException
from controller.domain.observed import ObservedFacts, observed_input


class Operation(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    RECONCILE = "RECONCILE"
    CHECK = "CHECK"


@dataclass(frozen=True)
class PolicyContext:
    operation: Operation
    now: datetime  # time-zone aware
    namespace_labels: Mapping[str, str] = field(default_factory=dict)


_NO_ALERT_RULES = resolve_alert_rules(None, "", NO_RULE_SOURCE)


def _mapping(value: object) -> dict[str, Any]:
    return copy.deepcopy(dict(value)) if isinstance(value, Mapping) else {}


def agent_input(agent: Mapping[str, Any]) -> dict[str, Any]:
    """The `agent` block: the object as written, minus server-side noise (managedFields, uid...).

    Rego sees spec exactly as written; only identity metadata is kept so that inputs are small
    and the same manifest gives the same input in the CLI, the webhook and the reconciler.
    """
    metadata = agent.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    spec = agent.get("spec")
    return {
        "apiVersion": agent.get("apiVersion"),
        "kind": agent.get("kind"),
        "metadata": {
            "name": metadata.get("name"),
            "namespace": metadata.get("namespace"),
            "labels": _mapping(metadata.get("labels")),
            "annotations": _mapping(metadata.get("annotations")),
        },
        "spec": copy.deepcopy(spec) if spec is not None else None,
    }


def build_policy_input(
    agent: Mapping[str, Any],
    contract: ContractResolution,
    exceptions: Iterable[AgentException],
    context: PolicyContext,
    alert_rules: AlertRulesResolution | None = None,
    observed: ObservedFacts | None = None,
) -> dict[str, Any]:
    """Build the input document for `data.golive_entrypoint.violations`.

    agent: the AgentDeployment as written (a dict; its namespace must be set).
    contract: from `resolve_contract`.
    alert_rules: from `resolve_alert_rules`; None: nowhere to look alerts up (`unavailable`).
    exceptions: AgentExceptions of the namespace; only the ones active for this agent at
        `context.now` are handed to Rego (filtering here guarantees the design's promise).
    observed: what a Prometheus observes of the agent; None (no Prometheus) or a failed read
        leaves `observed` out, and the observed checks are reported skipped by the caller.
    """
    block = agent_input(agent)
    name = block["metadata"]["name"]
    namespace = block["metadata"]["namespace"]
    active = (
        active_exceptions(exceptions, name, namespace, context.now)
        if isinstance(name, str) and isinstance(namespace, str)
        else []
    )
    spec = block["spec"] if isinstance(block["spec"], Mapping) else {}
    document = {
        "agent": block,
        "contract": contract.to_input(),
        "cost": project_cost(spec.get("budget"), spec.get("models")).to_input(),
        "exceptions": exceptions_input(active),
        "alertRules": (alert_rules or _NO_ALERT_RULES).to_input(),
        "context": {
            "operation": context.operation.value,
            "namespaceLabels": dict(context.namespace_labels),
            "now": format_timestamp(context.now),
        },
    }
    observed_block = observed_input(observed, spec) if observed is not None else None
    if observed_block is not None:
        document["observed"] = observed_block
    return document
