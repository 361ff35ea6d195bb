"""The one decision path: webhook, reconcile and `golive check` all call `decide_agent`.

It takes the agent as read where it entered golive (`read_agent`) and the other objects as the
API server (or a file) holds them, so every caller shows Rego the same input for the same
objects; only `context.operation` and whether the contract lookup is
deferred (admission) differ between callers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from controller.domain.alert_rules import (
    ALERTS_FIELD,
    ALERTS_POLICY,
    NO_RULE_SOURCE,
    AlertRules,
    resolve_alert_rules,
    skipped_finding,
)
from controller.domain.contract import resolve_contract
from controller.domain.decision import Decision, Reason, Violation, decide, unknown, with_skipped
from controller.domain.errors import SpecError
from controller.domain.exceptions import OwnerLookup, applicable_exceptions
from controller.domain.model import AgentDeployment, AgentException, parse_agent_exception
from controller.domain.observed import ObservedFacts, skipped_observed
from controller.domain.policy_input import PolicyContext, build_policy_input
from controller.domain.policy_metadata import PolicyInfo
from controller.domain.signoffs import UNWAIVABLE, AllowedSigners
from controller.engine.bundle import PolicyBundle
from controller.engine.protocol import Engine, EngineError, EngineUnavailable, PolicyError


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    # When an active exception for this agent expires: the agent must be re-decided then.
    recheck_at: datetime | None
    policy_input: Mapping[str, Any]


@dataclass
class PolicySet:
    """An engine and the bundle it was loaded with (the bundle carries the METADATA)."""

    engine: Engine
    bundle: PolicyBundle

    @property
    def usable(self) -> bool:
        return not isinstance(self.engine, UnusableEngine)


class UnusableEngine:
    """What decides while no policies can be loaded (a broken module, an unreachable OPA, not
    loaded yet): every evaluation raises the recorded failure, so every decision is Unknown with
    its reason, never an admit."""

    def __init__(self, name: str, failure: EngineError) -> None:
        self.name = name
        self.digest = ""  # no policies: status shows no digest
        self.failure = failure

    def evaluate(self, policy_input: Mapping[str, Any]) -> list[Any]:
        raise self.failure

    def close(self) -> None:
        pass


def unusable_policy_set(engine_kind: str, failure: EngineError) -> PolicySet:
    return PolicySet(UnusableEngine(engine_kind, failure), PolicyBundle({}, {}, ""))


def parse_exceptions(objects: Iterable[Mapping[str, Any]]) -> list[AgentException]:
    """Exceptions that parse; a malformed one waives nothing (the CRD schema rejects most)."""
    parsed = []
    for obj in objects:
        try:
            parsed.append(parse_agent_exception(obj))
        except SpecError:
            continue
    return parsed


def evaluate_decision(
    engine: Engine,
    policies: Mapping[str, PolicyInfo],
    policy_input: Mapping[str, Any],
    active_exceptions: Iterable[AgentException],
) -> Decision:
    """Evaluate and decide. Engine failures become `unknown` decisions, never admits.

    policies: `bundle.policies` of the bundle the engine was loaded with.
    active_exceptions: the same list that was handed to `build_policy_input`.
    """
    cost = policy_input.get("cost")
    cost_block = cost if isinstance(cost, Mapping) else None
    name, digest = engine.name, engine.digest
    try:
        raw = engine.evaluate(policy_input)
    except EngineUnavailable as error:
        return unknown(Reason.ENGINE_UNAVAILABLE, str(error), name, digest, cost_block)
    except PolicyError as error:
        return unknown(Reason.POLICY_ERROR, str(error), name, digest, cost_block)
    return decide(raw, policies, active_exceptions, name, digest, cost_block)


# Finds an AgentContract by (namespace, name); None when there is none.
ContractLookup = Callable[[str, str], Mapping[str, Any] | None]


def decide_agent(
    policy_set: PolicySet,
    agent: AgentDeployment,
    *,
    contracts: ContractLookup | None,
    exceptions: Iterable[Mapping[str, Any]],
    context: PolicyContext,
    alert_rules: AlertRules = NO_RULE_SOURCE,
    observed: ObservedFacts | None = None,
    signers: AllowedSigners | None = None,
    owners: OwnerLookup | None = None,
) -> Verdict:
    """Decide one AgentDeployment.

    contracts: looks up the AgentContract that spec.contractRef names, in the agent's
        namespace; None defers the lookup (admission: GitOps may apply the contract later, and
        the reconcile gate enforces its existence).
    exceptions: AgentException objects of the agent's namespace (inactive ones are filtered).
    alert_rules: where the alerts of spec.monitoring.alerts are looked up (PrometheusRules);
        deferred at admission, unavailable (a visible `skipped` finding) when there is nowhere
        to look.
    observed: what a Prometheus observes of the running agent (controller/domain/observed.py);
        None without a Prometheus. A failed read or a metric with no series makes the observed
        checks `skipped` findings that say why: an outage neither admits nor blocks.
    signers: the allowed signers that sign-offs are verified against (None: none configured,
        so no signature verifies).
    owners: the owner's email of another agent by (namespace, name), so that an exception
        whose approver owns any of its targets waives nothing; None: only this agent's owner
        is known.
    """
    applicable = applicable_exceptions(  # filtered once for the input and the decision
        parse_exceptions(exceptions),
        agent.name,
        agent.namespace,
        agent.owner_email,
        context.now,
        owners,
    )
    wanted = agent.contract_name
    found = contracts(agent.namespace, wanted) if contracts is not None and wanted else None
    try:
        resolution = resolve_contract(wanted, found, lookup_skipped=contracts is None)
        alerts = resolve_alert_rules(agent.spec, agent.namespace, alert_rules)
        policy_input = build_policy_input(
            agent, resolution, applicable, context, alerts, observed, signers=signers
        )
    except RecursionError:
        # Nested deeper than Python copies (spec.template and contract schemas are free-form):
        # no decision, never an admit, rather than an exception out of every caller.
        engine = policy_set.engine
        message = "the agent or its contract is nested too deeply to be decided"
        decision = unknown(Reason.POLICY_ERROR, message, engine.name, engine.digest)
        return Verdict(decision, None, {})
    # No exception waives the rules that judge sign-offs (that would make forged waivers good).
    waiving = [
        replace(e, policies=tuple(p for p in e.policies if p not in UNWAIVABLE))
        for e in applicable.waiving
    ]
    decision = evaluate_decision(
        policy_set.engine, policy_set.bundle.policies, policy_input, waiving
    )
    skipped_checks = [
        Violation(policy, field, message, "skipped")
        for policy, field, message in skipped_observed(observed, policy_set.bundle.policies)
    ]
    skipped = skipped_finding(alerts, agent.spec)
    if skipped is not None and ALERTS_POLICY in policy_set.bundle.policies:
        skipped_checks.insert(0, Violation(ALERTS_POLICY, ALERTS_FIELD, skipped, "skipped"))
    if skipped_checks:
        # Said, not silently passed: the check could not run (Kyverno's `skip` result).
        decision = with_skipped(decision, skipped_checks)
    return Verdict(decision, applicable.next_expiry, policy_input)
