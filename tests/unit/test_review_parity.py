"""The review moments Python computes (controller/domain/review.py: status, timers) are the ones
at which the real Rego policies, on the embedded engine, change their verdict, to the second;
and Python refuses exactly the review dates Rego refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.domain.contract import resolve_contract
from controller.domain.errors import SpecError
from controller.domain.model import read_agent
from controller.domain.moments import format_timestamp
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.domain.review import (
    DUE_POLICY,
    REMINDER_POLICY,
    ReviewSchedule,
    parse_review_time,
    review_parameters,
    review_schedule,
)
from controller.engine.bundle import PolicyBundle, load_bundle_dir
from controller.engine.embedded import EmbeddedEngine

POLICIES = Path(__file__).resolve().parents[2] / "policies"
LEE = {"name": "Lee Park", "email": "lee.park@example.com"}
SECOND = timedelta(seconds=1)


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    return load_bundle_dir(POLICIES)


@pytest.fixture(scope="module")
def engine(bundle: PolicyBundle) -> Iterator[EmbeddedEngine]:
    with EmbeddedEngine(bundle) as loaded:
        yield loaded


def agent(governance: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
        "spec": {"governance": governance},
    }


def findings(
    engine: EmbeddedEngine, governance: dict[str, Any], now: datetime
) -> set[tuple[str, str]]:
    """(policy, field) of the review policies' findings at `now`."""
    policy_input = build_policy_input(
        read_agent(agent(governance)),
        resolve_contract(None, None),
        [],
        PolicyContext(Operation.CHECK, now),
    )
    return {
        (v.policy, v.field)
        for v in engine.evaluate(policy_input)
        if v.policy in (DUE_POLICY, REMINDER_POLICY)
    }


OVERDUE = (DUE_POLICY, "spec.governance.lastReview.at")
REMINDED = (REMINDER_POLICY, "spec.governance.lastReview.at")


def check_boundaries(engine: EmbeddedEngine, governance: dict[str, Any], s: ReviewSchedule) -> None:
    assert s.warn_from is not None and s.blocked_from is not None
    assert REMINDED not in findings(engine, governance, s.warn_from - SECOND)
    assert REMINDED in findings(engine, governance, s.warn_from)
    assert OVERDUE not in findings(engine, governance, s.blocked_from - SECOND)
    assert OVERDUE in findings(engine, governance, s.blocked_from)


def test_the_parameters_python_reads_are_the_shipped_ones(bundle: PolicyBundle) -> None:
    params = review_parameters(bundle.policies)
    assert (params.grace_days, params.warn_days) == (7, 3)


@pytest.mark.parametrize("cadence", ["weekly", "monthly", "quarterly"])
@pytest.mark.parametrize("at", ["2026-11-30", "2028-02-29", "2026-12-31T23:30:00-05:00"])
def test_rego_changes_its_verdict_at_the_moments_python_schedules(
    engine: EmbeddedEngine, bundle: PolicyBundle, cadence: str, at: str
) -> None:
    governance = {"reviewCadence": cadence, "lastReview": {"at": at, "by": LEE}}
    schedule = review_schedule({"governance": governance}, review_parameters(bundle.policies))
    assert schedule is not None
    check_boundaries(engine, governance, schedule)


def test_the_due_date_in_the_message_is_the_one_in_status(
    engine: EmbeddedEngine, bundle: PolicyBundle
) -> None:
    governance = {"reviewCadence": "monthly", "lastReview": {"at": "2026-10-01", "by": LEE}}
    schedule = review_schedule({"governance": governance}, review_parameters(bundle.policies))
    assert schedule is not None and schedule.blocked_from is not None
    policy_input = build_policy_input(
        read_agent(agent(governance)),
        resolve_contract(None, None),
        [],
        PolicyContext(Operation.CHECK, schedule.blocked_from),
    )
    messages = [v.msg for v in engine.evaluate(policy_input) if v.policy == DUE_POLICY]
    assert messages == [
        f"the last review (2026-10-01, cadence monthly) was due again on "
        f"{format_timestamp(schedule.due)}; overdue past the 7-day grace period since "
        f"{format_timestamp(schedule.blocked_from)}: hold the review and record it in "
        "spec.governance.lastReview"
    ]


def test_a_future_review_is_denied_until_its_moment(engine: EmbeddedEngine) -> None:
    governance = {
        "reviewCadence": "weekly",
        "lastReview": {"at": "2026-12-10T08:00:00Z", "by": LEE},
    }
    at = parse_review_time("2026-12-10T08:00:00Z")
    assert OVERDUE in findings(engine, governance, at - SECOND)
    assert findings(engine, governance, at) == set()


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
offsets = st.sampled_from(["Z", "+00:00", "+02:00", "-05:30", "+14:00", "-12:00"])


@settings(max_examples=60, deadline=None)
@given(
    moment=moments,
    offset=offsets,
    as_date=st.booleans(),
    cadence=st.sampled_from(["weekly", "monthly", "quarterly"]),
)
def test_generated_reviews_fall_due_at_the_same_second(
    engine: EmbeddedEngine,
    bundle: PolicyBundle,
    moment: datetime,
    offset: str,
    as_date: bool,
    cadence: str,
) -> None:
    if as_date:
        at = moment.strftime("%Y-%m-%d")
    else:
        shift = (
            timedelta()
            if offset in ("Z", "+00:00")
            else datetime.fromisoformat(f"2000-01-01T00:00:00{offset}").utcoffset()
        )
        assert shift is not None
        at = (moment + shift).strftime("%Y-%m-%dT%H:%M:%S") + offset
    governance = {"reviewCadence": cadence, "lastReview": {"at": at, "by": LEE}}
    schedule = review_schedule({"governance": governance}, review_parameters(bundle.policies))
    assert schedule is not None
    check_boundaries(engine, governance, schedule)


CANDIDATES = [
    "2026-11-30", "2026-02-29", "2028-02-29", "2026-02-30", "2026-04-31", "2026-13-01",
    "2026-00-10", "2026-11-00", "0999-01-01", "1000-01-01", "2026-11-30T00:00:00Z",
    "1677-09-21", "1677-09-22", "1677-09-21T23:59:59-00:30", "2262-04-11", "2262-04-12",
    "2262-04-11T23:47:16Z", "2262-04-11T23:47:17Z", "2262-04-12T01:00:00+02:00",
    "2026-11-30T23:59:59+23:59", "2026-11-30T24:00:00Z", "2026-11-30T23:60:00Z",
    "2026-11-30T23:59:60Z", "2026-11-30T12:00:00+24:00", "2026-11-30T12:00:00-00:60",
    "2026-11-30T12:00:00.5Z", "2026-11-30T12:00Z", "2026-11-30 12:00:00Z", "2026-11-30t12:00:00z",
    "2026-11-30T12:00:00", "2026-11-30\n", " 2026-11-30", "20261130", "30.11.2026", "",
]  # fmt: skip


@pytest.mark.parametrize("at", CANDIDATES)
def test_python_refuses_exactly_the_dates_rego_refuses(engine: EmbeddedEngine, at: str) -> None:
    governance = {"reviewCadence": "weekly", "lastReview": {"at": at, "by": LEE}}
    now = datetime(2262, 4, 11, tzinfo=UTC)  # (almost) every valid date has passed
    policy_input = build_policy_input(
        read_agent(agent(governance)),
        resolve_contract(None, None),
        [],
        PolicyContext(Operation.CHECK, now),
    )
    rego_refuses = any(
        v.policy == DUE_POLICY and ("is not a date" in v.msg or "has no date" in v.msg)
        for v in engine.evaluate(policy_input)
    )
    try:
        parse_review_time(at)
        python_refuses = False
    except SpecError:
        python_refuses = True
    assert python_refuses == rego_refuses, at
