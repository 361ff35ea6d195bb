"""Engine + bundle + domain in one call: what the webhook, the reconciler and the CLI run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller.domain.decision import Decision, Reason, decide, unknown
from controller.domain.model import AgentException
from controller.domain.policy_metadata import PolicyInfo
from controller.engine.protocol import Engine, EngineUnavailable, PolicyError


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
