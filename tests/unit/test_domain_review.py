"""Reviews that fall due, in Python: parsing the record, the due date, the moments the operator
re-decides at, status.review, the METADATA parameters, and every bad input named by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.check.samples import sample_time
from controller.domain.errors import SpecError
from controller.domain.policy_metadata import PolicyInfo, PolicyMetadataError, policy_info
from controller.domain.review import (
    CADENCE_DAYS,
    DUE_POLICY,
    REMINDER_POLICY,
    ReviewParameters,
    earliest,
    next_review_moment,
    parse_last_review,
    parse_review_time,
    review_parameters,
    review_schedule,
    review_status,
)

LEE = {"name": "Lee Park", "email": "lee.park@example.com"}
PARAMS = ReviewParameters(grace_days=7, warn_days=3)


def spec(cadence: Any = "monthly", at: Any = "2026-11-30", **record: Any) -> dict[str, Any]:
    return {"governance": {"reviewCadence": cadence, "lastReview": {"at": at, "by": LEE, **record}}}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- the due date -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "due"),
    [
        ("weekly", "2026-12-07T00:00:00Z"),
        ("monthly", "2026-12-30T00:00:00Z"),  # a month is 30 days, whatever the month
        ("quarterly", "2027-02-28T00:00:00Z"),
    ],
)
def test_the_next_review_is_due_one_cadence_after_the_last(cadence: str, due: str) -> None:
    schedule = review_schedule(spec(cadence), PARAMS)
    assert schedule is not None
    assert schedule.due == utc(due)
    assert schedule.due - schedule.review.reviewed_at == timedelta(days=CADENCE_DAYS[cadence])
    assert schedule.warn_from == utc(due) - timedelta(days=3)
    assert schedule.blocked_from == utc(due) + timedelta(days=7)


def test_a_date_is_midnight_utc_and_a_time_keeps_its_offset() -> None:
    assert parse_review_time("2026-11-30") == datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_review_time("2026-11-30T14:00:00+02:00") == datetime(2026, 11, 30, 12, tzinfo=UTC)
    schedule = review_schedule(spec("weekly", "2026-11-30T14:00:00+02:00"), PARAMS)
    assert schedule is not None
    assert schedule.due == datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert schedule.due.tzinfo is UTC


def test_leap_day_and_year_end() -> None:
    leap = review_schedule(spec("monthly", "2028-02-29"), PARAMS)
    assert leap is not None and leap.due == datetime(2028, 3, 30, tzinfo=UTC)
    new_year = review_schedule(spec("weekly", "2026-12-28T23:59:59Z"), PARAMS)
    assert new_year is not None and new_year.due == datetime(2027, 1, 4, 23, 59, 59, tzinfo=UTC)


def test_no_record_no_schedule() -> None:
    for no_record in ({}, {"governance": None}, {"governance": {"reviewCadence": "weekly"}},
                      {"governance": {"reviewCadence": "weekly", "lastReview": None}}):  # fmt: skip
        assert parse_last_review(no_record) is None
        assert review_schedule(no_record, PARAMS) is None
    assert next_review_moment(None, datetime.now(UTC)) is None
    assert review_status(None, datetime.now(UTC)) == {}


# --- the moments the operator re-decides at --------------------------------------------------


def test_next_moment_walks_reminder_due_and_end_of_grace() -> None:
    schedule = review_schedule(spec("weekly", "2026-11-30"), PARAMS)
    assert schedule is not None
    steps = [
        ("2026-12-01T00:00:00Z", "2026-12-04T00:00:00Z"),  # the reminder starts
        ("2026-12-04T00:00:00Z", "2026-12-07T00:00:00Z"),  # at a moment: the next one after it
        ("2026-12-05T10:00:00Z", "2026-12-07T00:00:00Z"),  # due
        ("2026-12-07T00:00:00.500000+00:00", "2026-12-14T00:00:00Z"),  # the grace period ends
    ]
    for now, expected in steps:
        assert next_review_moment(schedule, utc(now)) == utc(expected), now
    assert next_review_moment(schedule, utc("2026-12-14T00:00:00Z")) is None  # blocked: stays


def test_a_future_review_date_is_a_moment_too() -> None:
    """A review dated in the future is denied until that date: decide again then."""
    schedule = review_schedule(spec("weekly", "2026-12-10"), PARAMS)
    assert schedule is not None
    assert next_review_moment(schedule, utc("2026-12-02T10:00:00Z")) == utc("2026-12-10T00:00:00Z")


def test_without_the_policies_only_the_due_date_and_the_review_date_count() -> None:
    schedule = review_schedule(spec("weekly", "2026-11-30"), ReviewParameters())
    assert schedule is not None
    assert schedule.warn_from is None and schedule.blocked_from is None
    assert schedule.moments() == [utc("2026-11-30T00:00:00Z"), utc("2026-12-07T00:00:00Z")]


def test_earliest_ignores_none() -> None:
    a, b = utc("2026-12-01T00:00:00Z"), utc("2026-12-02T00:00:00Z")
    assert earliest([None, b, a]) == a
    assert earliest([None, None]) is None


# --- status.review ---------------------------------------------------------------------------


def test_status_shows_the_schedule_in_utc() -> None:
    schedule = review_schedule(spec("weekly", "2026-11-30T14:00:00+02:00"), PARAMS)
    assert review_status(schedule, utc("2026-12-02T00:00:00Z")) == {
        "lastReviewed": "2026-11-30T12:00:00Z",
        "cadence": "weekly",
        "nextDue": "2026-12-07T12:00:00Z",
        "blockedFrom": "2026-12-14T12:00:00Z",
    }
    no_grace = review_schedule(spec("weekly", "2026-11-30"), ReviewParameters())
    assert "blockedFrom" not in review_status(no_grace, utc("2026-12-02T00:00:00Z"))


def test_status_shows_nothing_for_a_review_dated_in_the_future() -> None:
    schedule = review_schedule(spec("weekly", "2026-12-10"), PARAMS)
    assert review_status(schedule, utc("2026-12-02T00:00:00Z")) == {}
    assert review_status(schedule, utc("2026-12-10T00:00:00Z"))["nextDue"] == "2026-12-17T00:00:00Z"


# --- bad input: a SpecError naming the field, and no schedule (review_due denies it) ---------


@pytest.mark.parametrize(
    ("bad", "field", "found"),
    [
        (spec(at="2026-02-30"), "spec.governance.lastReview.at", '"2026-02-30" (string)'),
        (spec(at="2026-13-01"), "spec.governance.lastReview.at", '"2026-13-01" (string)'),
        (spec(at="30.11.2026"), "spec.governance.lastReview.at", '"30.11.2026" (string)'),
        (spec(at="2026-11-30T14:00Z"), "spec.governance.lastReview.at", '"2026-11-30T14:00Z"'),
        (spec(at="2026-11-30t14:00:00z"), "spec.governance.lastReview.at", "(string)"),
        (spec(at="2026-11-30T24:00:00Z"), "spec.governance.lastReview.at", "(string)"),
        (spec(at="2026-11-30T23:59:60Z"), "spec.governance.lastReview.at", "(string)"),
        (spec(at="2026-11-30T14:00:00+24:00"), "spec.governance.lastReview.at", "(string)"),
        (spec(at="2026-11-30\n"), "spec.governance.lastReview.at", "(string)"),
        (spec(at="２０２６-11-30"), "spec.governance.lastReview.at", "(string)"),  # noqa: RUF001
        (spec(at="0000-01-01"), "spec.governance.lastReview.at", "(string)"),
        (spec(at=20261130), "spec.governance.lastReview.at", "20261130 (number)"),
        (spec(at=None), "spec.governance.lastReview.at", "null"),
        (spec(cadence="yearly"), "spec.governance.reviewCadence", '"yearly" (string)'),
        (spec(cadence="Weekly"), "spec.governance.reviewCadence", '"Weekly" (string)'),
        (spec(cadence=30), "spec.governance.reviewCadence", "30 (number)"),
        (spec(cadence=None), "spec.governance.reviewCadence", "null"),
        (
            {"governance": {"reviewCadence": "weekly", "lastReview": "2026-11-30"}},
            "spec.governance.lastReview",
            '"2026-11-30" (string)',
        ),
        (
            {"governance": {"reviewCadence": "weekly", "lastReview": {"by": LEE}}},
            "spec.governance.lastReview.at",
            "nothing (the field is missing)",
        ),
        (
            {"governance": {"lastReview": {"at": "2026-11-30", "by": LEE}}},
            "spec.governance.reviewCadence",
            "nothing (the field is missing)",
        ),
    ],
)
def test_bad_input_names_the_field_and_schedules_nothing(
    bad: dict[str, Any], field: str, found: str
) -> None:
    with pytest.raises(SpecError) as raised:
        parse_last_review(bad)
    assert raised.value.path == field
    assert found in raised.value.found
    assert str(raised.value).startswith(f"{field}: expected ")
    assert review_schedule(bad, PARAMS) is None


def test_what_a_date_must_look_like_is_said() -> None:
    with pytest.raises(SpecError) as raised:
        parse_review_time("yesterday")
    assert str(raised.value) == (
        "spec.governance.lastReview.at: expected a date YYYY-MM-DD or an RFC 3339 time to the "
        'second, e.g. "2026-11-30" or "2026-11-30T14:00:00Z", found "yesterday" (string)'
    )


# --- the parameters: METADATA custom fields, checked when the policy loads ----------------------


def metadata(**custom: Any) -> dict[str, Any]:
    return {
        "scope": "package",
        "title": "t",
        "custom": {"enforcement": "deny", "severity": "medium", "checklist": "review", **custom},
    }


def test_parameters_come_from_the_loaded_policies_metadata() -> None:
    due = policy_info("due.rego", DUE_POLICY, metadata(graceDays=5))
    reminder = policy_info("reminder.rego", REMINDER_POLICY, metadata(warnDays=2))
    assert review_parameters({DUE_POLICY: due, REMINDER_POLICY: reminder}) == ReviewParameters(5, 2)
    assert review_parameters({}) == ReviewParameters(None, None)
    # Loaded without the field: 0, as the Rego library reads it.
    bare = policy_info("due.rego", DUE_POLICY, metadata())
    assert review_parameters({DUE_POLICY: bare}) == ReviewParameters(0, None)


@pytest.mark.parametrize("value", [-1, 1.5, "7", True, None, 367, float("inf"), float("nan"), [7]])
@pytest.mark.parametrize("name", ["graceDays", "warnDays"])
def test_a_bad_day_count_is_refused_when_the_policy_loads(name: str, value: Any) -> None:
    with pytest.raises(PolicyMetadataError) as raised:
        policy_info("due.rego", DUE_POLICY, metadata(**{name: value}))
    assert f"METADATA custom.{name} must be a whole number of days from 0 to 366" in str(
        raised.value
    )
    assert str(raised.value).startswith("due.rego: ")


@pytest.mark.parametrize("value", [0, 7, 7.0, 366])
def test_a_whole_day_count_is_accepted(value: Any) -> None:
    info = policy_info("due.rego", DUE_POLICY, metadata(graceDays=value))
    assert isinstance(info, PolicyInfo) and info.custom["graceDays"] == value
    assert review_parameters({DUE_POLICY: info}).grace_days == int(value)


def test_the_shipped_policies_declare_their_parameters() -> None:
    root = Path(__file__).resolve().parents[2] / "policies" / "governance"
    assert "#   graceDays: 7\n" in (root / "review_due" / "policy.rego").read_text()
    assert "#   warnDays: 3\n" in (root / "review_reminder" / "policy.rego").read_text()


# --- samples that are decided at a given moment ----------------------------------------------


def test_a_sample_names_the_moment_it_is_decided_at(tmp_path: Path) -> None:
    sample = tmp_path / "a.yaml.sample"
    sample.write_text("# Allowed: ...\n# golive-sample-at: 2026-12-02T00:00:00Z\nkind: X\n")
    assert sample_time(sample) == datetime(2026, 12, 2, tzinfo=UTC)
    sample.write_text("# Allowed: ...\nkind: X\n")
    assert sample_time(sample) is None
    sample.write_text("# golive-sample-at: tomorrow\n")
    with pytest.raises(SpecError, match="golive-sample-at: expected an RFC 3339 timestamp"):
        sample_time(sample)
