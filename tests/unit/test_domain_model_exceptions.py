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
from controller.domain.model import (
    AgentException,
    parse_agent_contract,
    parse_agent_deployment,
    parse_agent_exception,
)
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


def test_parse_agent_keeps_raw_and_reads_what_python_needs() -> None:
    raw = agent(
        owner={"name": "Dana Ruiz", "email": "dana.ruiz@example.com"},
        contractRef={"name": "invoice-triage-v3"},
        budget={"currency": "USD", "monthlyLimit": "4000", "costPerRequest": "0.0004",
                "expectedDailyRequests": 2000},
    )  # fmt: skip
    parsed = parse_agent_deployment(raw)
    assert parsed.raw is raw
    assert parsed.meta.name == "invoice-triage" and parsed.meta.generation == 4
    assert parsed.contract_name == "invoice-triage-v3"
    assert parsed.budget is not None and parsed.budget.expected_daily_requests == 2000
    assert parsed.owner is not None and parsed.owner.email == "dana.ruiz@example.com"


def test_absent_optional_fields_are_none_not_errors() -> None:
    parsed = parse_agent_deployment(agent())
    assert (parsed.owner, parsed.contract_name, parsed.budget) == (None, None, None)


def test_spec_error_names_path_expected_and_found() -> None:
    with pytest.raises(SpecError) as caught:
        parse_agent_deployment(agent(budget={"monthlyLimit": 4000.5}))
    assert str(caught.value) == (
        'spec.budget.monthlyLimit: expected a decimal string like "4000", found 4000.5 (number)'
    )
    assert caught.value.path == "spec.budget.monthlyLimit"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.update(kind="Deployment"), 'kind: expected "AgentDeployment"'),
        (lambda o: o["metadata"].pop("name"), "metadata.name: expected a non-empty string, found "
                                             "nothing (the field is missing)"),
        (lambda o: o.update(spec=[]), "spec: expected an object, found an array"),
        (lambda o: o["spec"].update(contractRef={"name": ""}), "spec.contractRef.name"),
        (lambda o: o["spec"].update(owner="dana"), 'spec.owner: expected an object, found "dana"'),
        (lambda o: o["spec"].update(budget={"expectedDailyRequests": True}),
         "spec.budget.expectedDailyRequests: expected a non-negative integer, found true"),
    ],
)  # fmt: skip
def test_spec_errors(mutate: Any, message: str) -> None:
    raw = agent()
    mutate(raw)
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_agent_deployment(raw)


def test_namespace_may_come_from_the_caller() -> None:
    raw = agent()
    del raw["metadata"]["namespace"]
    with pytest.raises(SpecError, match=r"metadata\.namespace"):
        parse_agent_deployment(raw)
    assert parse_agent_deployment(raw, default_namespace="ops").meta.namespace == "ops"


def test_contract_parses() -> None:
    contract = parse_agent_contract(
        {"apiVersion": "golive.dev/v1alpha1", "kind": "AgentContract",
         "metadata": {"name": "c", "namespace": "n"}, "spec": {"version": "3"}}
    )  # fmt: skip
    assert contract.version == "3"


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
