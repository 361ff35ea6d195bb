"""The AgentDeployment status golive writes: conditions, violations, policy, cost (pure).

Kubernetes condition rules: one entry per type, `lastTransitionTime` moves only when `status`
moves, and `observedGeneration` says which spec the condition speaks of. The status is built
whole and compared with what is stored, so an unchanged decision writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from controller.domain.decision import Decision, Result
from controller.domain.moments import format_timestamp
from controller.domain.observed import ObservedFacts, observed_condition, observed_status

MAX_VIOLATIONS = 20  # bounded: status lives in etcd and is read by every `kubectl get`
CONDITION_TYPES = ("PolicyCompliant", "Admitted", "Ready", "Observed")


def condition(
    type_: str, status: str, reason: str, message: str, generation: int
) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message[:1024],
        "observedGeneration": generation,
    }


def policy_compliant(decision: Decision, generation: int) -> dict[str, Any]:
    if decision.result is Result.UNKNOWN:
        return condition(
            "PolicyCompliant", "Unknown", decision.reason.value, decision.message, generation
        )
    if decision.count("deny"):
        return condition("PolicyCompliant", "False", "Violations", decision.message, generation)
    return condition("PolicyCompliant", "True", decision.reason.value, decision.message, generation)


def admitted(decision: Decision, generation: int, running_generation: int | None) -> dict[str, Any]:
    keeps = (
        f"; generation {running_generation} keeps running"
        if running_generation is not None and running_generation != generation
        else ""
    )
    if decision.result is Result.UNKNOWN:
        message = f"no decision, nothing changed: {decision.message}{keeps}"
        return condition("Admitted", "Unknown", decision.reason.value, message, generation)
    if decision.result is Result.BLOCKED:
        return condition("Admitted", "False", "Blocked", decision.message + keeps, generation)
    findings = [v.enforcement for v in decision.violations]
    message = f"generation {generation} admitted"
    if findings:
        message += " with " + ", ".join(f"{findings.count(e)} {e}" for e in sorted(set(findings)))
    return condition("Admitted", "True", "Admitted", message, generation)


def ready(availability: tuple[str, str, str], generation: int) -> dict[str, Any]:
    status, reason, message = availability
    return condition("Ready", status, reason, message, generation)


def with_transition_times(
    conditions: Sequence[dict[str, Any]], previous: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Carry lastTransitionTime over from the stored condition when the status did not move."""
    before = {c.get("type"): c for c in previous}
    out = []
    for cond in conditions:
        old = before.get(cond["type"])
        if (
            old is not None
            and old.get("status") == cond["status"]
            and old.get("lastTransitionTime")
        ):
            stamp = old["lastTransitionTime"]
        else:
            stamp = format_timestamp(now)
        out.append({**cond, "lastTransitionTime": stamp})
    return out


def build_status(
    *,
    generation: int,
    decision: Decision,
    running_generation: int | None,
    availability: tuple[str, str, str],
    previous: Mapping[str, Any] | None,
    now: datetime,
    review: Mapping[str, str] | None = None,
    observed: ObservedFacts | None = None,
) -> dict[str, Any]:
    """The whole desired status for one reconcile.

    review: `status.review` (controller/domain/review.py `review_status`), shown when given.
    observed: what Prometheus observes (`status.observed` and the `Observed` condition);
        None without a Prometheus, and then neither is written.
    """
    previous = previous or {}
    wanted = [
        policy_compliant(decision, generation),
        admitted(decision, generation, running_generation),
        ready(availability, generation),
    ]
    observed_cond = observed_condition(observed)
    if observed_cond is not None:
        wanted.append(condition("Observed", *observed_cond, generation))
    conditions = with_transition_times(wanted, previous.get("conditions") or [], now)
    violations = [v.to_dict() for v in decision.violations]
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": conditions,
        "violations": violations[:MAX_VIOLATIONS],
        "violationsOmitted": max(0, len(violations) - MAX_VIOLATIONS),
        "policy": {"engine": decision.engine},
    }
    if decision.digest:  # empty when no policy set could be loaded at all
        status["policy"]["digest"] = decision.digest
    if running_generation is not None:
        status["admittedGeneration"] = running_generation
    cost = status_cost(decision.cost)
    if cost:
        status["cost"] = cost
    if review:
        status["review"] = dict(review)
    if observed is not None:
        observed_block = observed_status(observed)
        if observed_block is None:
            # Prometheus could not be read: the last observation stays, with its own time.
            observed_block = previous.get("observed")
        if observed_block is not None:
            old = dict(previous.get("observed") or {})
            stamp = old.pop("observedAt", None)
            block = dict(observed_block)
            block.pop("observedAt", None)
            # observedAt moves only when what is observed moves: a steady agent writes nothing.
            moved = not stamp or old != block
            block["observedAt"] = format_timestamp(observed.fleet.at) if moved else stamp
            status["observed"] = block
    # decidedAt moves only when the decision itself changes, so a no-op reconcile writes nothing.
    old_policy = previous.get("policy") or {}
    unchanged = same_decision(previous, status)
    status["policy"]["decidedAt"] = (
        old_policy.get("decidedAt")
        if unchanged and old_policy.get("decidedAt")
        else format_timestamp(now)
    )
    return status


MODEL_COST_KEYS = ("name", "role", "costPerRequest", "monthly1x", "monthly10x", "monthly100x")


def status_cost(cost: Mapping[str, Any] | None) -> dict[str, Any]:
    """The status cost block; with spec.models declared, also the cost per request and the split
    per model (an agent without models gets exactly the block it got before models existed)."""
    if not cost or not cost.get("declared"):
        return {}
    keys = ("currency", "monthly1x", "monthly10x", "monthly100x", "monthlyLimit")
    block: dict[str, Any] = {k: str(cost[k]) for k in keys if cost.get(k) is not None}
    models = cost.get("models")
    if isinstance(models, list) and models:
        if cost.get("costPerRequest") is not None:
            block["costPerRequest"] = str(cost["costPerRequest"])
        block["models"] = [
            {k: str(m[k]) for k in MODEL_COST_KEYS if m.get(k) is not None}
            for m in models
            if isinstance(m, Mapping)
        ]
    return block


def _comparable(status: Mapping[str, Any]) -> dict[str, Any]:
    policy = dict(status.get("policy") or {})
    policy.pop("decidedAt", None)
    return {**status, "policy": policy}


def same_decision(previous: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    return _comparable(previous) == _comparable(desired)


def status_changed(previous: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    return dict(previous or {}) != dict(desired)
