"""Which AgentExceptions are active for an agent, and when that set next changes.

Expiry is decided here, in Python, so the operator knows when to re-decide an agent (a timer
at the next expiry); Rego only ever sees the active exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def owner_approved(
    active: Iterable[AgentException], owner_email: str | None
) -> tuple[list[AgentException], list[AgentException]]:
    """(waiving, refused): an exception whose approver is the owner of the agent it targets
    waives nothing for that agent, signed or not (four eyes, for every exception)."""
    owner = owner_email.strip().lower() if isinstance(owner_email, str) else None
    waiving, refused = [], []
    for exception in active:
        if owner and exception.approver.email.strip().lower() == owner:
            refused.append(exception)
        else:
            waiving.append(exception)
    return waiving, refused


@dataclass(frozen=True)
class ApplicableExceptions:
    """The AgentExceptions that matter to one decision, filtered once: `waiving` are active for
    the agent and approved by someone other than its owner; `refused` are active but approved
    by the owner (they waive nothing, and the policy input says why)."""

    waiving: tuple[AgentException, ...]
    refused: tuple[AgentException, ...]

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
) -> ApplicableExceptions:
    waiving, refused = owner_approved(
        active_exceptions(exceptions, agent_name, namespace, now), owner_email
    )
    return ApplicableExceptions(tuple(waiving), tuple(refused))
