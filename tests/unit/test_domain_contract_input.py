"""Contract resolution facts and the policy input shape (design.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from controller.domain.contract import Resolution, resolve_contract, schema_errors
from controller.domain.model import parse_agent_exception, read_agent
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def contract(input_schema: object, output_schema: object) -> dict[str, Any]:
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentContract",
        "metadata": {"name": "invoice-triage-v3", "namespace": "finance"},
        "spec": {"version": "3", "inputSchema": input_schema, "outputSchema": output_schema},
    }


def test_resolutions() -> None:
    assert resolve_contract(None, None).resolution is Resolution.UNDECLARED
    assert resolve_contract("c", None).resolution is Resolution.MISSING
    skipped = resolve_contract("c", contract({}, {}), lookup_skipped=True)
    assert skipped.resolution is Resolution.SKIPPED and skipped.spec is None
    found = resolve_contract("c", contract({"type": "object"}, {"type": "object"}))
    assert found.resolution is Resolution.FOUND and found.schema_errors == ()
    assert found.to_input()["spec"]["version"] == "3"


def test_schema_errors_name_the_schema_and_path() -> None:
    bad = resolve_contract(
        "c", contract({"type": "objekt"}, {"properties": {"total": {"minimum": "zero"}}})
    )
    assert bad.resolution is Resolution.FOUND
    assert any(e.startswith("inputSchema.type: ") for e in bad.schema_errors), bad.schema_errors
    assert any(e.startswith("outputSchema.properties.total.minimum: ") for e in bad.schema_errors)


def test_schema_missing_or_not_a_schema() -> None:
    assert schema_errors("inputSchema", None) == ["inputSchema: missing"]
    assert schema_errors("inputSchema", "object")[0].startswith("inputSchema: expected a JSON")
    assert schema_errors("inputSchema", True) == []


def test_schema_dialect_from_dollar_schema() -> None:
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}
    assert schema_errors("inputSchema", draft7) == []
    unknown = {"$schema": "https://example.com/my-dialect", "type": "object"}
    assert schema_errors("inputSchema", unknown) == [
        "inputSchema.$schema: unknown meta-schema 'https://example.com/my-dialect'"
    ]


def _agent() -> dict[str, Any]:
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {
            "name": "invoice-triage",
            "namespace": "finance",
            "labels": {"team": "ap"},
            "uid": "1234",
            "managedFields": [{"manager": "kubectl"}],
        },
        "spec": {
            "budget": {"currency": "USD", "monthlyLimit": "4000", "costPerRequest": "0.0004",
                       "expectedDailyRequests": 2000},
            "replicas": 2,
        },
    }  # fmt: skip


def _exception(name: str, expires: str, target: str = "invoice-triage") -> Any:
    return parse_agent_exception(
        {"apiVersion": "golive.dev/v1alpha1", "kind": "AgentException",
         "metadata": {"name": name, "namespace": "finance"},
         "spec": {"targets": [target], "policies": ["golive.economics.budget_at_scale"],
                  "reason": "r", "approver": {"name": "S O", "email": "s@example.com"},
                  "expiresAt": expires}}
    )  # fmt: skip


def test_policy_input_has_exactly_the_design_shape() -> None:
    agent = _agent()
    policy_input = build_policy_input(
        read_agent(agent),
        resolve_contract(None, None),
        [
            _exception("active", "2026-12-01T00:00:00Z"),
            _exception("expired", "2026-11-25T17:00:00Z"),
            _exception("other", "2026-12-01T00:00:00Z", target="support-bot"),
        ],
        PolicyContext(Operation.UPDATE, NOW, {"golive.dev/tier": "prod"}),
    )
    assert set(policy_input) == {
        "agent", "contract", "cost", "exceptions", "alertRules", "context", "signoffs",
    }  # fmt: skip
    assert policy_input["alertRules"] == {
        "resolution": "unavailable", "namespace": None, "found": {}, "rejected": [],
        "reason": "no PrometheusRules were given to look the alerts up in",
    }  # fmt: skip
    assert policy_input["agent"] == {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "invoice-triage", "namespace": "finance",
                     "labels": {"team": "ap"}, "annotations": {}},
        "spec": agent["spec"],
    }  # fmt: skip
    assert policy_input["contract"] == {
        "name": None, "resolution": "undeclared", "spec": None, "schemaErrors": [],
    }  # fmt: skip
    assert policy_input["cost"]["monthly100x"] == "2400.00"
    assert policy_input["exceptions"] == [
        {"name": "active", "policies": ["golive.economics.budget_at_scale"],
         "expiresAt": "2026-12-01T00:00:00Z"}
    ]  # fmt: skip
    assert policy_input["context"] == {
        "operation": "UPDATE",
        "namespaceLabels": {"golive.dev/tier": "prod"},
        "now": "2026-11-25T17:00:00Z",
    }


def test_policy_input_is_a_copy_the_caller_cannot_change() -> None:
    agent = _agent()
    policy_input = build_policy_input(
        read_agent(agent), resolve_contract(None, None), [], PolicyContext(Operation.CHECK, NOW)
    )
    agent["spec"]["replicas"] = 99
    assert policy_input["agent"]["spec"]["replicas"] == 2


def test_missing_spec_gives_undeclared_cost_not_a_crash() -> None:
    agent = _agent()
    del agent["spec"]
    policy_input = build_policy_input(
        read_agent(agent), resolve_contract(None, None), [], PolicyContext(Operation.CREATE, NOW)
    )
    assert policy_input["agent"]["spec"] is None
    assert policy_input["cost"]["declared"] is False
