"""Contract resolution facts handed to Rego: found / missing / skipped / undeclared.

Meta-schema validation of the contract's two JSON Schemas is computation (no I/O: the
meta-schemas ship inside jsonschema-specifications), so it lives in the pure domain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import relevance
from jsonschema.validators import validator_for

SCHEMA_FIELDS = ("inputSchema", "outputSchema")


class Resolution(StrEnum):
    FOUND = "found"  # declared and fetched; spec attached
    MISSING = "missing"  # declared, not found in the namespace
    SKIPPED = "skipped"  # admission: existence is enforced by the reconcile gate instead
    UNDECLARED = "undeclared"  # no spec.contractRef


@dataclass(frozen=True)
class ContractResolution:
    name: str | None
    resolution: Resolution
    spec: Mapping[str, Any] | None
    schema_errors: tuple[str, ...]

    def to_input(self) -> dict[str, Any]:
        """The `contract` block of the policy input."""
        return {
            "name": self.name,
            "resolution": self.resolution.value,
            "spec": None if self.spec is None else dict(self.spec),
            "schemaErrors": list(self.schema_errors),
        }


def _path(parts: Any) -> str:
    rendered = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
    return rendered.lstrip(".")


def schema_errors(field: str, schema: object) -> list[str]:
    """Every meta-schema violation of one contract schema, as `field[.path]: message`.

    Cached on the schema's canonical JSON: meta-validation costs milliseconds and the same
    contract is checked on every reconcile of every agent that uses it (bench: 11% of the
    operator's time).
    """
    if isinstance(schema, Mapping):
        try:
            canonical = json.dumps(schema, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):
            return _schema_errors(field, schema)
        return list(_schema_errors_cached(field, canonical))
    return _schema_errors(field, schema)


@lru_cache(maxsize=512)
def _schema_errors_cached(field: str, canonical: str) -> tuple[str, ...]:
    return tuple(_schema_errors(field, json.loads(canonical)))


def _schema_errors(field: str, schema: object) -> list[str]:
    if schema is None:
        return [f"{field}: missing"]
    if not isinstance(schema, Mapping | bool):
        return [f"{field}: expected a JSON Schema (an object or a boolean)"]
    if isinstance(schema, bool):
        return []
    validator_class: Any = Draft202012Validator
    if "$schema" in schema:
        validator_class = validator_for(schema, default=None)
        if validator_class is None:
            return [f"{field}.$schema: unknown meta-schema {schema['$schema']!r}"]
    meta_validator = validator_class(validator_class.META_SCHEMA)
    errors = sorted(meta_validator.iter_errors(schema), key=relevance)
    messages = []
    for error in errors:
        where = _path(error.absolute_path)
        messages.append(f"{field}{'.' + where if where else ''}: {error.message}")
    return sorted(set(messages))


def resolve_contract(
    contract_name: str | None,
    contract: Mapping[str, Any] | None,
    *,
    lookup_skipped: bool = False,
) -> ContractResolution:
    """Resolve the contract facts for one agent.

    contract_name: `spec.contractRef.name` of the agent, or None when not declared.
    contract: the fetched AgentContract object (the whole resource), or None if not found.
    lookup_skipped: True at admission, where the contract may legitimately arrive later
        (GitOps tools apply objects in any order); the reconcile gate enforces existence.
    """
    if contract_name is None:
        return ContractResolution(None, Resolution.UNDECLARED, None, ())
    if lookup_skipped:
        return ContractResolution(contract_name, Resolution.SKIPPED, None, ())
    if contract is None:
        return ContractResolution(contract_name, Resolution.MISSING, None, ())
    spec = contract.get("spec")
    if not isinstance(spec, Mapping):
        return ContractResolution(contract_name, Resolution.FOUND, {}, ("spec: missing",))
    errors = [
        message for field in SCHEMA_FIELDS for message in schema_errors(field, spec.get(field))
    ]
    return ContractResolution(contract_name, Resolution.FOUND, spec, tuple(errors))
