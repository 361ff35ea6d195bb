"""From raw engine findings to one Decision (design.md, "The decision").

`decide` is the only place where enforcement, exceptions and admission meet, so the webhook,
the reconcile gate and `golive check` cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from controller.domain.exceptions import waived_policies
from controller.domain.model import AgentException
from controller.domain.policy_metadata import PolicyInfo

# skipped: a check that could not run (e.g. no PrometheusRule CRD to look alerts up in), said
# so instead of passing silently; like Kyverno's `skip` result, it never blocks.
ViolationEnforcement = Literal["deny", "warn", "dryrun", "excepted", "skipped"]

NO_METADATA_NOTE = "(golive: this policy has no METADATA, so the finding is treated as deny)"


class Result(StrEnum):
    ADMITTED = "admitted"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


class Reason(StrEnum):
    COMPLIANT = "Compliant"  # admitted, nothing reported
    ADMITTED_WITH_FINDINGS = "AdmittedWithFindings"  # admitted; warn/dryrun/excepted reported
    VIOLATIONS = "Violations"  # blocked by at least one deny
    ENGINE_UNAVAILABLE = "EngineUnavailable"  # unknown: engine unreachable or timed out
    POLICY_ERROR = "PolicyError"  # unknown: a module fails to compile/evaluate or crashed


@dataclass(frozen=True, order=True)
class RawViolation:
    """One entry of `data.golive_entrypoint.violations`, as the engine returned it."""

    policy: str
    field: str
    msg: str


@dataclass(frozen=True, order=True)
class Violation:
    policy: str
    field: str
    message: str
    enforcement: ViolationEnforcement

    def to_dict(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "field": self.field,
            "message": self.message,
            "enforcement": self.enforcement,
        }


@dataclass(frozen=True)
class Decision:
    result: Result
    reason: Reason
    message: str
    violations: tuple[Violation, ...]
    engine: str
    digest: str
    cost: Mapping[str, Any] | None = None

    @property
    def admitted(self) -> bool:
        return self.result is Result.ADMITTED

    def count(self, enforcement: ViolationEnforcement) -> int:
        return sum(1 for violation in self.violations if violation.enforcement == enforcement)

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result.value,
            "reason": self.reason.value,
            "message": self.message,
            "violations": [violation.to_dict() for violation in self.violations],
            "engine": self.engine,
            "digest": self.digest,
            "cost": None if self.cost is None else dict(self.cost),
        }


def _summary(violations: tuple[Violation, ...], blocked: bool) -> str:
    if not violations:
        return "all go-live checks pass"
    counts = {
        enforcement: sum(1 for violation in violations if violation.enforcement == enforcement)
        for enforcement in ("deny", "warn", "dryrun", "excepted", "skipped")
    }
    tally = ", ".join(f"{count} {name}" for name, count in counts.items() if count)
    if blocked:
        first = next(violation for violation in violations if violation.enforcement == "deny")
        return f"blocked by {tally}; first: {first.policy}: {first.field}: {first.message}"
    return f"admitted with {tally}"


def decide(
    raw_violations: Iterable[RawViolation],
    policies_metadata: Mapping[str, PolicyInfo],
    active_exceptions: Iterable[AgentException],
    engine: str,
    digest: str,
    cost: Mapping[str, Any] | None = None,
) -> Decision:
    """Apply enforcement and exceptions to the engine's findings.

    - enforcement comes from the policy's METADATA; a policy without METADATA counts as deny
      (and the message says so): a finding we cannot classify must not slip through;
    - a policy listed by an active exception becomes `excepted` (still reported);
    - admitted iff no `deny` remains; violations are de-duplicated and sorted by
      (policy, field, message) so status updates are stable.
    """
    waived = waived_policies(active_exceptions)
    violations: set[Violation] = set()
    for raw in raw_violations:
        info = policies_metadata.get(raw.policy)
        message = raw.msg if info is not None else f"{raw.msg} {NO_METADATA_NOTE}"
        enforcement: ViolationEnforcement = "deny" if info is None else info.enforcement
        if raw.policy in waived:
            enforcement = "excepted"
        violations.add(Violation(raw.policy, raw.field, message, enforcement))
    ordered = tuple(sorted(violations, key=lambda v: (v.policy, v.field, v.message, v.enforcement)))
    blocked = any(violation.enforcement == "deny" for violation in ordered)
    if blocked:
        result, reason = Result.BLOCKED, Reason.VIOLATIONS
    elif ordered:
        result, reason = Result.ADMITTED, Reason.ADMITTED_WITH_FINDINGS
    else:
        result, reason = Result.ADMITTED, Reason.COMPLIANT
    return Decision(result, reason, _summary(ordered, blocked), ordered, engine, digest, cost)


def with_skipped(decision: Decision, skipped: Iterable[Violation]) -> Decision:
    """The decision with findings of checks that could not run (enforcement `skipped`) added:
    reported, never blocking; an undecided decision stays as it is (it reports nothing)."""
    added = {v for v in skipped if v.enforcement == "skipped"}
    if decision.result is Result.UNKNOWN or not added:
        return decision
    ordered = tuple(
        sorted(
            set(decision.violations) | added,
            key=lambda v: (v.policy, v.field, v.message, v.enforcement),
        )
    )
    blocked = decision.result is Result.BLOCKED
    reason = Reason.VIOLATIONS if blocked else Reason.ADMITTED_WITH_FINDINGS
    return Decision(
        decision.result,
        reason,
        _summary(ordered, blocked),
        ordered,
        decision.engine,
        decision.digest,
        decision.cost,
    )


def unknown(
    reason: Literal[Reason.ENGINE_UNAVAILABLE, Reason.POLICY_ERROR],
    message: str,
    engine: str,
    digest: str,
    cost: Mapping[str, Any] | None = None,
) -> Decision:
    """A decision that could not be made. Never an admit: callers treat unknown as not admitted."""
    return Decision(Result.UNKNOWN, reason, message, (), engine, digest, cost)
