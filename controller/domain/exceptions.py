"""Which AgentExceptions are active for an agent, and when that set next changes.

Expiry is decided here, in Python, so the operator knows when to re-decide an agent (a timer
at the next expiry); Rego only ever sees the active exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.domain.model import AgentException
from controller.domain.moments import format_timestamp


def _applies(exception: AgentException, agent_name: str, namespace: str) -> bool:
    return exception.meta.namespace == namespace and agent_name in exception.targets


def active_exceptions(
    exceptions: Iterable[AgentException], agent_name: str, namespace: str, now: datetime
) -> list[AgentException]:
    """Exceptions in the agent's namespace that target it and have not expired (now < expiresAt).

    At exactly `expiresAt` the exception is already inactive. Sorted by name for determinism.
    """
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    active = [
        exception
        for exception in exceptions
        if _applies(exception, agent_name, namespace) and now < exception.expires_at
    ]
    return sorted(active, key=lambda exception: exception.meta.name)


def next_expiry(
    exceptions: Iterable[AgentException], agent_name: str, namespace: str, now: datetime
) -> datetime | None:
    """The earliest moment an active exception for this agent expires, or None.

    The operator schedules a re-decision then, so a waiver never outlives its expiry.
    """
    active = active_exceptions(exceptions, agent_name, namespace, now)
    return min((exception.expires_at for exception in active), default=None)


def waived_policies(active: Iterable[AgentException]) -> frozenset[str]:
    return frozenset(policy for exception in active for policy in exception.policies)


def exceptions_input(active: Iterable[AgentException]) -> list[dict[str, Any]]:
    """The `exceptions` block of the policy input."""
    return [
        {
            "name": exception.meta.name,
            "policies": list(exception.policies),
            "expiresAt": format_timestamp(exception.expires_at),
        }
        for exception in active
    ]


# Finds the owner's email of an agent by (namespace, name); None when unknown.
OwnerLookup = Callable[[str, str], str | None]


def _email(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def owned_target(
    exception: AgentException,
    agent_name: str,
    owner_email: str | None,
    owners: OwnerLookup | None,
) -> str | None:
    """The target agent this exception's approver owns, if any: such an exception waives
    nothing at all, signed or not (four eyes: nobody waives a rule for a set of agents that
    holds one of their own). The agent decided is checked with its own spec's owner, the other
    targets through `owners` (the operator's cache, the files given to `golive check`)."""
    approver = _email(exception.approver.email)
    if approver is None:
        return None
    if _email(owner_email) == approver:
        return agent_name
    if owners is not None:
        for target in exception.targets:
            if (
                target != agent_name
                and _email(owners(exception.meta.namespace, target)) == approver
            ):
                return target
    return None


def owner_approved(
    active: Iterable[AgentException],
    owner_email: str | None,
    agent_name: str = "",
    owners: OwnerLookup | None = None,
) -> tuple[list[AgentException], list[tuple[AgentException, str]]]:
    """(waiving, refused): an exception whose approver owns one of the agents it targets waives
    nothing, signed or not; `refused` pairs it with the target its approver owns."""
    waiving, refused = [], []
    for exception in active:
        owned = owned_target(exception, agent_name, owner_email, owners)
        if owned is None:
            waiving.append(exception)
        else:
            refused.append((exception, owned))
    return waiving, refused


@dataclass(frozen=True)
class ApplicableExceptions:
    """The AgentExceptions that matter to one decision, filtered once: `waiving` are active for
    the agent and approved by someone who owns none of their targets; `refused` are active but
    approved by the owner of one of their targets, paired with that target (they waive nothing,
    and the policy input says why)."""

    waiving: tuple[AgentException, ...]
    refused: tuple[tuple[AgentException, str], ...]

    @property
    def next_expiry(self) -> datetime | None:
        """When a waiver expires by itself: the agent is decided again then."""
        return min((e.expires_at for e in self.waiving), default=None)


def applicable_exceptions(
    exceptions: Iterable[AgentException],
    agent_name: str,
    namespace: str,
    owner_email: str | None,
    now: datetime,
    owners: OwnerLookup | None = None,
) -> ApplicableExceptions:
    waiving, refused = owner_approved(
        active_exceptions(exceptions, agent_name, namespace, now), owner_email, agent_name, owners
    )
    return ApplicableExceptions(tuple(waiving), tuple(refused))
