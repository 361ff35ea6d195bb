"""decide(): enforcement, exceptions, admission, ordering; unknown()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.domain.decision import (
    NO_METADATA_NOTE,
    RawViolation,
    Reason,
    Result,
    Violation,
    decide,
    unknown,
)
from controller.domain.model import AgentException, ObjectMeta, Person
from controller.domain.policy_metadata import Enforcement, PolicyInfo


def info(policy_id: str, enforcement: Enforcement) -> PolicyInfo:
    return PolicyInfo(policy_id, "t", "", enforcement, "high", "x", policy_id, "m.rego")


POLICIES = {
    "golive.a.deny": info("golive.a.deny", "deny"),
    "golive.b.warn": info("golive.b.warn", "warn"),
    "golive.c.dryrun": info("golive.c.dryrun", "dryrun"),
}


def waiver(*policies: str) -> AgentException:
    return AgentException(
        meta=ObjectMeta("w", "ns", None),
        targets=("agent",),
        policies=policies,
        reason="r",
        approver=Person("S", "s@example.com"),
        ticket=None,
        expires_at=datetime.now(UTC) + timedelta(days=1),
        raw={},
    )


def run(raw: list[RawViolation], exceptions: list[AgentException] | None = None):  # type: ignore[no-untyped-def]
    return decide(raw, POLICIES, exceptions or [], "embedded", "sha256:abc", {"declared": True})


def test_no_violations_admits_as_compliant() -> None:
    decision = run([])
    assert (decision.result, decision.reason, decision.admitted) == (
        Result.ADMITTED, Reason.COMPLIANT, True,
    )  # fmt: skip
    assert decision.engine == "embedded" and decision.digest == "sha256:abc"
    assert decision.cost == {"declared": True}


def test_deny_blocks() -> None:
    decision = run([RawViolation("golive.a.deny", "spec.owner", "no owner")])
    assert decision.result is Result.BLOCKED and decision.reason is Reason.VIOLATIONS
    assert decision.violations == (Violation("golive.a.deny", "spec.owner", "no owner", "deny"),)
    assert "spec.owner: no owner" in decision.message


def test_warn_and_dryrun_admit_and_are_reported() -> None:
    decision = run(
        [RawViolation("golive.b.warn", "f", "w"), RawViolation("golive.c.dryrun", "f", "d")]
    )
    assert decision.result is Result.ADMITTED
    assert decision.reason is Reason.ADMITTED_WITH_FINDINGS
    assert [v.enforcement for v in decision.violations] == ["warn", "dryrun"]
    assert decision.message == "admitted with 1 warn, 1 dryrun"


def test_active_exception_excepts_only_its_policies() -> None:
    raw = [RawViolation("golive.a.deny", "f", "m"), RawViolation("golive.b.warn", "f", "w")]
    decision = run(raw, [waiver("golive.a.deny")])
    assert decision.admitted
    assert [(v.policy, v.enforcement) for v in decision.violations] == [
        ("golive.a.deny", "excepted"), ("golive.b.warn", "warn"),
    ]  # fmt: skip
    blocked = run(raw, [waiver("golive.b.warn")])
    assert blocked.result is Result.BLOCKED


def test_policy_without_metadata_counts_as_deny_and_says_so() -> None:
    decision = run([RawViolation("golive.mystery.rule", "spec", "odd")])
    assert decision.result is Result.BLOCKED
    assert decision.violations[0].enforcement == "deny"
    assert decision.violations[0].message == f"odd {NO_METADATA_NOTE}"


def test_sorted_and_deduplicated() -> None:
    raw = [
        RawViolation("golive.b.warn", "b", "2"),
        RawViolation("golive.a.deny", "z", "1"),
        RawViolation("golive.a.deny", "a", "9"),
        RawViolation("golive.a.deny", "a", "9"),
    ]
    decision = run(raw)
    assert [(v.policy, v.field) for v in decision.violations] == [
        ("golive.a.deny", "a"), ("golive.a.deny", "z"), ("golive.b.warn", "b"),
    ]  # fmt: skip
    assert run(list(reversed(raw))) == decision


def test_unknown_is_never_admitted() -> None:
    for reason in (Reason.ENGINE_UNAVAILABLE, Reason.POLICY_ERROR):
        decision = unknown(reason, "boom", "remote", "sha256:abc")
        assert decision.result is Result.UNKNOWN and not decision.admitted
        assert decision.to_dict()["reason"] == reason.value
        assert decision.violations == ()
