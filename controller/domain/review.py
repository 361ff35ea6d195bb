"""When an agent's checklist review falls due (pure; the Rego rules judge, this schedules).

An agent records its last review in `spec.governance.lastReview` (`at`: a date or an RFC 3339
time to the second; `by`: a person). The next one is due `CADENCE_DAYS[reviewCadence]` days
later. Two policies judge it at their decision time (`time.now_ns()`):
`golive.governance.review_reminder` warns from `warnDays` before the due date, and
`golive.governance.review_due` denies from `graceDays` after it. Both numbers are custom fields
of those policies' METADATA, so they travel with the rules to every place that decides (webhook,
reconcile gate, `golive check`, both engines) and cannot disagree with them.

This module computes the same moments in Python so that the operator can re-decide the agent
when one passes (as at an exception's expiry) and show the due date in status. The arithmetic
is the Rego library's (`policies/lib/review`), kept equal by tests that evaluate both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from controller.domain.errors import SpecError
from controller.domain.moments import format_timestamp
from controller.domain.policy_metadata import PolicyInfo, day_parameter

# Days from one review to the next: a month is 30 days (as in the budget projection), a
# quarter 90, so a due date never depends on the month the review was held in.
CADENCE_DAYS: Mapping[str, int] = {"weekly": 7, "monthly": 30, "quarterly": 90}

DUE_POLICY = "golive.governance.review_due"
REMINDER_POLICY = "golive.governance.review_reminder"
GRACE_DAYS = "graceDays"  # custom field of DUE_POLICY's METADATA
WARN_DAYS = "warnDays"  # custom field of REMINDER_POLICY's METADATA

LAST_REVIEW = "spec.governance.lastReview"
CADENCE_FIELD = "spec.governance.reviewCadence"
AT_EXPECTED = (
    "a date YYYY-MM-DD or an RFC 3339 time to the second, "
    'e.g. "2026-11-30" or "2026-11-30T14:00:00Z"'
)

# The CRD's pattern and the Rego library's (policies/lib/review): a day, or a moment to the
# second with Z or an offset. Matched whole (fullmatch), ASCII digits only.
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]"
DATE_PATTERN = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}")
TIME_PATTERN = re.compile(
    rf"[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}T{_CLOCK}:[0-5][0-9](Z|[+-]{_CLOCK})"
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = range(-(2**63), 2**63)


def _in_opa_range(moment: datetime) -> bool:
    """OPA's time builtins count nanoseconds in an int64 (1677-09-21 to 2262-04-11): a moment
    outside is no date to the Rego rules, so it is none here either."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 10**9 in _INT64


def parse_review_time(value: object, path: str = f"{LAST_REVIEW}.at") -> datetime:
    """A date means 00:00 UTC that day; a time keeps its offset. Raises SpecError naming path."""
    if isinstance(value, str):
        moment: datetime | None = None
        try:
            if DATE_PATTERN.fullmatch(value):
                day = date.fromisoformat(value)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            elif TIME_PATTERN.fullmatch(value):
                moment = datetime.fromisoformat(value)
        except ValueError:
            pass  # e.g. 2026-02-30: the pattern admits it, the calendar does not
        if moment is not None and _in_opa_range(moment):
            return moment
    raise SpecError(path, AT_EXPECTED, value)


@dataclass(frozen=True)
class ReviewParameters:
    """The day counts of the loaded review policies; None when that policy is not loaded."""

    grace_days: int | None = None
    warn_days: int | None = None


def review_parameters(policies: Mapping[str, PolicyInfo]) -> ReviewParameters:
    """Read graceDays/warnDays from the loaded policies' METADATA (checked at load time).

    A policy that is loaded without its parameter reads it as 0, as the Rego library does.
    """

    def days(policy: str, name: str) -> int | None:
        info = policies.get(policy)
        if info is None:
            return None
        value = info.custom.get(name)
        return 0 if value is None else day_parameter(value, name)

    return ReviewParameters(days(DUE_POLICY, GRACE_DAYS), days(REMINDER_POLICY, WARN_DAYS))


@dataclass(frozen=True)
class LastReview:
    at: str  # as written
    reviewed_at: datetime
    cadence: str


def parse_last_review(spec: Mapping[str, Any]) -> LastReview | None:
    """The recorded review and the cadence it is scheduled by; None when none is recorded.

    Raises SpecError naming the field for a record golive cannot schedule (not an object, no
    or a malformed date, an unknown or missing cadence); the reviewer is Rego's to judge.
    """
    governance = spec.get("governance")
    if not isinstance(governance, Mapping):
        return None
    record = governance.get("lastReview")
    if record is None:
        return None
    if not isinstance(record, Mapping):
        raise SpecError(LAST_REVIEW, "an object {at, by}", record)
    if "at" not in record:
        raise SpecError(f"{LAST_REVIEW}.at", AT_EXPECTED)
    at = record["at"]
    reviewed_at = parse_review_time(at)
    if "reviewCadence" not in governance:
        raise SpecError(CADENCE_FIELD, "weekly, monthly or quarterly")
    cadence = governance["reviewCadence"]
    if not isinstance(cadence, str) or cadence not in CADENCE_DAYS:
        raise SpecError(CADENCE_FIELD, "weekly, monthly or quarterly", cadence)
    return LastReview(str(at), reviewed_at, cadence)


@dataclass(frozen=True)
class ReviewSchedule:
    """The moments that follow from one recorded review (all UTC)."""

    review: LastReview
    due: datetime
    warn_from: datetime | None  # None: no reminder policy loaded
    blocked_from: datetime | None  # None: no review_due policy loaded

    def moments(self) -> list[datetime]:
        """Every moment at which a decision about this agent can change by itself."""
        found = [self.review.reviewed_at, self.due, self.warn_from, self.blocked_from]
        return sorted(moment for moment in found if moment is not None)


def review_schedule(spec: Mapping[str, Any], parameters: ReviewParameters) -> ReviewSchedule | None:
    """The schedule of the recorded review, or None when there is none or it cannot be read
    (the review_due policy reports why, naming the field)."""
    try:
        review = parse_last_review(spec)
    except SpecError:
        return None
    if review is None:
        return None
    reviewed_at = review.reviewed_at.astimezone(UTC)
    due = reviewed_at + timedelta(days=CADENCE_DAYS[review.cadence])
    return ReviewSchedule(
        review=LastReview(review.at, reviewed_at, review.cadence),
        due=due,
        warn_from=None
        if parameters.warn_days is None
        else due - timedelta(days=parameters.warn_days),
        blocked_from=None
        if parameters.grace_days is None
        else due + timedelta(days=parameters.grace_days),
    )


def next_review_moment(schedule: ReviewSchedule | None, now: datetime) -> datetime | None:
    """The first moment after now at which the review policies may decide differently: the
    review date itself (a future date is denied until then), the reminder, the due date, the
    end of the grace period. None when nothing is scheduled."""
    if schedule is None:
        return None
    return next((moment for moment in schedule.moments() if moment > now), None)


def review_status(schedule: ReviewSchedule | None, now: datetime) -> dict[str, str]:
    """`status.review`: when the last review took place, when the next is due and when an
    overdue review blocks. Empty without a schedule, and for a review dated in the future
    (review_due denies it; there is no due date to show)."""
    if schedule is None or schedule.review.reviewed_at > now:
        return {}
    status = {
        "lastReviewed": format_timestamp(schedule.review.reviewed_at),
        "cadence": schedule.review.cadence,
        "nextDue": format_timestamp(schedule.due),
    }
    if schedule.blocked_from is not None:
        status["blockedFrom"] = format_timestamp(schedule.blocked_from)
    return status


def earliest(moments: Iterable[datetime | None]) -> datetime | None:
    """The earliest of the given moments, ignoring None."""
    return min((moment for moment in moments if moment is not None), default=None)
