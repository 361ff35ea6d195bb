"""Model parsing errors and exception activity (expiry edges, `Z` timestamps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from controller.domain.errors import SpecError
from controller.domain.exceptions import (
    active_exceptions,
    exceptions_input,
    next_expiry,
    waived_policies,
)
from controller.domain.model import AgentException, parse_agent_exception, read_agent
from controller.domain.moments import format_timestamp


def agent(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "invoice-triage", "namespace": "finance", "generation": 4},
        "spec": spec,
    }


def exception(
    name: str, expires: str, targets: list[str] | None = None, ns: str = "finance"
) -> AgentException:
    return parse_agent_exception(
        {
            "apiVersion": "golive.dev/v1alpha1",
            "kind": "AgentException",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "targets": targets or ["invoice-triage"],
                "policies": ["golive.economics.budget_at_scale"],
                "reason": "load test",
                "approver": {"name": "Sam Ortiz", "email": "sam.ortiz@example.com"},
                "ticket": "FIN-1234",
                "expiresAt": expires,
            },
        }
    )


def test_read_agent_keeps_raw_and_reads_what_python_acts_on() -> None:
    raw = agent(
        owner={"name": "Dana Ruiz", "email": "dana.ruiz@example.com"},
        contractRef={"name": "invoice-triage-v3"},
    )
    raw["metadata"]["uid"] = "u-1"
    raw["status"] = {"observedGeneration": 3}
    read = read_agent(raw)
    assert read.raw is raw and read.spec is raw["spec"]
    assert (read.name, read.namespace, read.key) == (
        "invoice-triage",
        "finance",
        ("finance", "invoice-triage"),
    )
    assert (read.generation, read.current_generation, read.uid) == (4, 4, "u-1")
    assert read.contract_name == "invoice-triage-v3"
    assert read.owner_email == "dana.ruiz@example.com"
    assert read.status == {"observedGeneration": 3}


def test_read_agent_never_refuses_what_rego_judges() -> None:
    """A malformed spec is Rego's finding (with its field), so the view gives safe values."""
    raw = agent(owner="dana", contractRef={"name": ""}, budget={"monthlyLimit": 4000.5})
    read = read_agent(raw)
    assert (read.owner_email, read.contract_name) == (None, None)
    assert read.spec["budget"] == {"monthlyLimit": 4000.5}  # as written, for Rego
    for broken in ({"spec": []}, {"metadata": "x", "spec": None}, {}):
        read = read_agent(broken)
        assert (read.name, read.namespace, read.spec, read.status) == ("", "", {}, {})
        assert (read.generation, read.current_generation) == (None, 1)


@pytest.mark.parametrize("generation", [True, "4", 4.0])
def test_read_agent_takes_only_an_integer_generation(generation: object) -> None:
    raw = agent()
    raw["metadata"]["generation"] = generation
    assert read_agent(raw).generation is None


def test_namespace_may_come_from_the_caller() -> None:
    raw = agent()
    del raw["metadata"]["namespace"]
    assert read_agent(raw).namespace == ""
    assert read_agent(raw, namespace="ops").namespace == "ops"
    assert read_agent(agent(), namespace="ops").namespace == "finance"  # the object's wins


def test_exception_spec_error_names_path_expected_and_found() -> None:
    raw = exception("x", "2026-12-01T00:00:00Z").raw
    broken = {**raw, "spec": {**raw["spec"], "targets": "invoice-triage"}}
    with pytest.raises(SpecError) as caught:
        parse_agent_exception(broken)
    assert str(caught.value) == (
        'spec.targets: expected a non-empty array of strings, found "invoice-triage" (string)'
    )
    assert caught.value.path == "spec.targets"


def test_z_timestamps_parse_as_utc() -> None:
    parsed = exception("x", "2026-12-01T00:00:00Z")
    assert parsed.expires_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert format_timestamp(parsed.expires_at) == "2026-12-01T00:00:00Z"


def test_offset_timestamps_are_normalised_to_z() -> None:
    parsed = exception("x", "2026-12-01T02:00:00+02:00")
    assert format_timestamp(parsed.expires_at) == "2026-12-01T00:00:00Z"


@pytest.mark.parametrize("value", ["2026-12-01T00:00:00", "tomorrow", 1764547200])
def test_naive_or_bad_timestamps_are_refused(value: object) -> None:
    with pytest.raises(SpecError, match=r"spec\.expiresAt"):
        exception("x", value)  # type: ignore[arg-type]


EXPIRY = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "active"),
    [
        (EXPIRY - timedelta(microseconds=1), True),
        (EXPIRY, False),  # now < expiresAt: at the instant itself it is expired
        (EXPIRY + timedelta(seconds=1), False),
        (datetime(2026, 12, 1, 0, 59, 59, tzinfo=timezone(timedelta(hours=1))), True),
    ],
)
def test_expiry_edges(now: datetime, active: bool) -> None:
    found = active_exceptions([exception("x", "2026-12-01T00:00:00Z")], "invoice-triage",
                              "finance", now)  # fmt: skip
    assert bool(found) is active


def test_only_same_namespace_and_listed_targets() -> None:
    now = EXPIRY - timedelta(days=1)
    candidates = [
        exception("other-ns", "2026-12-01T00:00:00Z", ns="sales"),
        exception("other-agent", "2026-12-01T00:00:00Z", targets=["support-bot"]),
        exception("b-mine", "2026-12-03T00:00:00Z"),
        exception("a-mine", "2026-12-02T00:00:00Z", targets=["support-bot", "invoice-triage"]),
    ]
    found = active_exceptions(candidates, "invoice-triage", "finance", now)
    assert [e.meta.name for e in found] == ["a-mine", "b-mine"]  # sorted by name
    assert next_expiry(candidates, "invoice-triage", "finance", now) == datetime(
        2026, 12, 2, tzinfo=UTC
    )
    assert waived_policies(found) == {"golive.economics.budget_at_scale"}
    assert exceptions_input(found)[0] == {
        "name": "a-mine",
        "policies": ["golive.economics.budget_at_scale"],
        "expiresAt": "2026-12-02T00:00:00Z",
    }


def test_next_expiry_none_when_nothing_active() -> None:
    assert next_expiry([exception("x", "2026-12-01T00:00:00Z")], "invoice-triage", "finance",
                       EXPIRY) is None  # fmt: skip


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        active_exceptions([], "a", "b", datetime(2026, 1, 1))
