"""Moments as Kubernetes writes them: RFC 3339 in UTC to the second, `Z` suffix. One place for
reading and writing them (status, reviews, exceptions, the policy input, `golive check --at`)."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.domain.errors import SpecError


def format_timestamp(moment: datetime) -> str:
    """UTC, second precision, `Z` suffix: the form Kubernetes writes (`2026-12-01T00:00:00Z`)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: golive compares only time-zone-aware moments")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: object, path: str) -> datetime:
    """RFC 3339 with `Z` or an offset, as Kubernetes writes them; naive times are refused."""
    if not isinstance(value, str):
        raise SpecError(path, 'an RFC 3339 timestamp like "2026-12-01T00:00:00Z"', value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SpecError(path, 'an RFC 3339 timestamp like "2026-12-01T00:00:00Z"', value) from None
    if moment.tzinfo is None:
        raise SpecError(path, "a timestamp with a time zone (Z or +hh:mm)", value)
    return moment
