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
from controller.domain.exceptions import (
    ApplicableExceptions,
    applicable_exceptions,
    exceptions_input,
)
from controller.domain.model import AgentDeployment, AgentException
from controller.domain.moments import format_timestamp
from controller.domain.observed import ObservedFacts, observed_input
from controller.domain.signoffs import AllowedSigners, signoffs_input


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


def agent_input(agent: AgentDeployment) -> dict[str, Any]:
    """The `agent` block: the object as written, minus server-side noise (managedFields, uid...).

    Rego sees spec exactly as written; only identity metadata is kept so that inputs are small
    and the same manifest gives the same input in the CLI, the webhook and the reconciler.
    """
    raw = agent.raw
    metadata = raw.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    spec = raw.get("spec")
    return {
        "apiVersion": raw.get("apiVersion"),
        "kind": raw.get("kind"),
        "metadata": {
            "name": metadata.get("name"),
            "namespace": metadata.get("namespace"),
            "labels": _mapping(metadata.get("labels")),
            "annotations": _mapping(metadata.get("annotations")),
        },
        "spec": copy.deepcopy(spec) if spec is not None else None,
    }


def build_policy_input(
    agent: AgentDeployment,
    contract: ContractResolution,
    exceptions: Iterable[AgentException] | ApplicableExceptions,
    context: PolicyContext,
    alert_rules: AlertRulesResolution | None = None,
    observed: ObservedFacts | None = None,
    signers: AllowedSigners | None = None,
) -> dict[str, Any]:
    """Build the input document for `data.golive_entrypoint.violations`.

    agent: the AgentDeployment as read where it entered golive (its namespace must be set).
    contract: from `resolve_contract`.
    alert_rules: from `resolve_alert_rules`; None: nowhere to look alerts up (`unavailable`).
    exceptions: AgentExceptions of the namespace, or the ones already filtered for this
        decision (`applicable_exceptions`): only the ones active for this agent at
        `context.now` are handed to Rego (filtering here guarantees the design's promise),
        less those approved by the agent's owner (they waive nothing: `signoffs`).
    signers: the allowed signers the sign-offs are verified against; None: none configured.
    observed: what a Prometheus observes of the agent; None (no Prometheus) or a failed read
        leaves `observed` out, and the observed checks are reported skipped by the caller.
    """
    if not isinstance(exceptions, ApplicableExceptions):
        exceptions = applicable_exceptions(
            exceptions, agent.name, agent.namespace, agent.owner_email, context.now
        )
    waiving, refused = exceptions.waiving, exceptions.refused
    document = {
        "agent": agent_input(agent),
        "contract": contract.to_input(),
        "cost": project_cost(agent.spec.get("budget"), agent.spec.get("models")).to_input(),
        "exceptions": exceptions_input(waiving),
        "alertRules": (alert_rules or _NO_ALERT_RULES).to_input(),
        "context": {
            "operation": context.operation.value,
            "namespaceLabels": dict(context.namespace_labels),
            "now": format_timestamp(context.now),
        },
        "signoffs": signoffs_input(
            agent.raw,
            [(e.raw, granted_at(e, context.now)) for e in waiving],
            [(e.meta.name, refusal_reason(e, agent.name, owned)) for e, owned in refused],
            signers,
        ),
    }
    observed_block = observed_input(observed, agent.spec) if observed is not None else None
    if observed_block is not None:
        document["observed"] = observed_block
    return document


def granted_at(exception: AgentException, now: datetime) -> str:
    """When an exception was granted, for its maximum lifetime: when the API server created it
    (metadata.creationTimestamp), else (a file given to `golive check`) the decision time."""
    metadata = exception.raw.get("metadata")
    created = metadata.get("creationTimestamp") if isinstance(metadata, Mapping) else None
    return created if isinstance(created, str) else format_timestamp(now)


def refusal_reason(exception: AgentException, agent_name: object, owned: str) -> str:
    approver = exception.approver
    if owned == agent_name:
        return (
            f"AgentException {exception.meta.name!r} waives nothing for {agent_name}: its "
            f"approver {approver.name} <{approver.email}> is the agent's owner; an exception is "
            "approved by a person other than the owner"
        )
    return (
        f"AgentException {exception.meta.name!r} waives nothing for {agent_name}: its approver "
        f"{approver.name} <{approver.email}> owns {owned}, another of its targets; an exception "
        "is approved by a person who owns none of the agents it waives for"
    )
