"""Typed views of the golive custom resources, parsed from the dicts the API server returns.

Each view keeps the raw dict (`raw`) because Rego must see the object exactly as written; the
typed fields are only the ones Python itself reads (names, contract ref, exception facts).
Parsing errors name the field path, what was expected and what was found, so the CLI and the
operator can show a sentence a person can act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.domain.api import API_VERSION
from controller.domain.errors import _MISSING, SpecError
from controller.domain.moments import parse_timestamp

# Money is a decimal string in the API (design.md): floats would make budgets inexact.
DECIMAL_STRING = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def _get(obj: Mapping[str, Any], key: str) -> object:
    return obj.get(key, _MISSING)


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(path, "an object", value)
    return value


def _optional_object(value: object, path: str) -> Mapping[str, Any] | None:
    if value is _MISSING or value is None:
        return None
    return _object(value, path)


def _string(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(path, "a non-empty string", value)
    return value


def _optional_string(value: object, path: str) -> str | None:
    if value is _MISSING or value is None:
        return None
    return _string(value, path)


def _string_map(value: object, path: str) -> dict[str, str]:
    if value is _MISSING or value is None:
        return {}
    obj = _object(value, path)
    for key, item in obj.items():
        if not isinstance(item, str):
            raise SpecError(f"{path}.{key}", "a string", item)
    return dict(obj)


def _string_list(value: object, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise SpecError(path, "a non-empty array of strings", value)
    return tuple(_string(item, f"{path}[{index}]") for index, item in enumerate(value))


def _decimal_string(value: object, path: str) -> str:
    if not isinstance(value, str) or not DECIMAL_STRING.match(value):
        raise SpecError(path, 'a decimal string like "4000"', value)
    return value


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class ObjectMeta:
    name: str
    namespace: str
    generation: int | None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


# The layers of an agent's model landscape (spec.models[].role); a rules layer is code, not a
# model call, so it costs nothing per request and declares no costPerRequest.
MODEL_ROLES = ("reasoning", "judge", "classifier", "rules")
COSTLESS_ROLES = frozenset({"rules"})


@dataclass(frozen=True)
class Model:
    """One entry of spec.models: a model the agent calls, its role and its cost per request."""

    name: str
    role: str
    cost_per_request: str | None  # None for a rules layer (it costs nothing per request)


@dataclass(frozen=True)
class Budget:
    """The budget as declared; every field may be absent (a Rego rule judges absence)."""

    currency: str | None
    monthly_limit: str | None
    cost_per_request: str | None
    expected_daily_requests: int | None


def spec_of(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """An object's spec, or an empty mapping when it has none (or not a mapping)."""
    spec = raw.get("spec")
    return spec if isinstance(spec, Mapping) else {}


@dataclass(frozen=True)
class AgentDeployment:
    meta: ObjectMeta
    owner: Person | None
    contract_name: str | None
    budget: Budget | None
    raw: Mapping[str, Any]
    models: tuple[Model, ...] = ()

    @property
    def spec(self) -> Mapping[str, Any]:
        return spec_of(self.raw)


@dataclass(frozen=True)
class AgentContract:
    meta: ObjectMeta
    version: str | None
    raw: Mapping[str, Any]

    @property
    def spec(self) -> Mapping[str, Any]:
        return spec_of(self.raw)


@dataclass(frozen=True)
class AgentException:
    meta: ObjectMeta
    targets: tuple[str, ...]
    policies: tuple[str, ...]
    reason: str
    approver: Person
    ticket: str | None
    expires_at: datetime
    raw: Mapping[str, Any]


def _parse_meta(obj: Mapping[str, Any], kind: str, default_namespace: str | None) -> ObjectMeta:
    if obj.get("kind") != kind:
        raise SpecError("kind", json.dumps(kind), _get(obj, "kind"))
    if obj.get("apiVersion") != API_VERSION:
        raise SpecError("apiVersion", json.dumps(API_VERSION), _get(obj, "apiVersion"))
    meta = _object(_get(obj, "metadata"), "metadata")
    name = _string(_get(meta, "name"), "metadata.name")
    namespace = _optional_string(_get(meta, "namespace"), "metadata.namespace")
    namespace = namespace or default_namespace
    if namespace is None:
        raise SpecError("metadata.namespace", "a namespace (the resource is namespaced)")
    generation = meta.get("generation")
    if generation is not None and (not isinstance(generation, int) or isinstance(generation, bool)):
        raise SpecError("metadata.generation", "an integer", generation)
    return ObjectMeta(
        name=name,
        namespace=namespace,
        generation=generation,
        labels=_string_map(_get(meta, "labels"), "metadata.labels"),
        annotations=_string_map(_get(meta, "annotations"), "metadata.annotations"),
    )


def _parse_person(value: object, path: str) -> Person:
    obj = _object(value, path)
    return Person(
        name=_string(_get(obj, "name"), f"{path}.name"),
        email=_string(_get(obj, "email"), f"{path}.email"),
    )


def _parse_budget(value: object) -> Budget | None:
    obj = _optional_object(value, "spec.budget")
    if obj is None:
        return None
    limit = _get(obj, "monthlyLimit")
    per_request = _get(obj, "costPerRequest")
    daily = _get(obj, "expectedDailyRequests")
    daily_requests: int | None = None
    if daily is not _MISSING:
        if not isinstance(daily, int) or isinstance(daily, bool) or daily < 0:
            raise SpecError("spec.budget.expectedDailyRequests", "a non-negative integer", daily)
        daily_requests = daily
    return Budget(
        currency=_optional_string(_get(obj, "currency"), "spec.budget.currency"),
        monthly_limit=None
        if limit is _MISSING
        else _decimal_string(limit, "spec.budget.monthlyLimit"),
        cost_per_request=None
        if per_request is _MISSING
        else _decimal_string(per_request, "spec.budget.costPerRequest"),
        expected_daily_requests=daily_requests,
    )


def parse_model(value: object, path: str) -> Model:
    """One spec.models entry; raises SpecError naming the field, e.g. spec.models[1].role.

    The CRD schema refuses the same shapes at the API server; this is the check for the places
    that do not run it (CEL is not evaluated offline) and for objects stored before it existed.
    """
    obj = _object(value, path)
    name = _string(_get(obj, "name"), f"{path}.name")
    role = _get(obj, "role")
    if role not in MODEL_ROLES:
        raise SpecError(f"{path}.role", "one of " + ", ".join(MODEL_ROLES), role)
    cost = _get(obj, "costPerRequest")
    if role in COSTLESS_ROLES:
        if cost is not _MISSING:
            raise SpecError(
                f"{path}.costPerRequest",
                "no costPerRequest: a rules layer costs nothing per request (put its hosting "
                "cost in spec.budget.costPerRequest)",
                cost,
            )
        return Model(name=name, role=str(role), cost_per_request=None)
    if not isinstance(cost, str) or not DECIMAL_STRING.match(cost):
        raise SpecError(
            f"{path}.costPerRequest",
            f'a non-negative decimal string like "0.0004" (the cost of one request to this '
            f"{role} model)",
            cost,
        )
    return Model(name=name, role=str(role), cost_per_request=cost)


def parse_models(value: object) -> tuple[Model, ...]:
    """spec.models (absent: no models); raises SpecError for the first entry that is malformed."""
    if value is _MISSING or value is None:
        return ()
    if not isinstance(value, list):
        raise SpecError("spec.models", "an array of models", value)
    models = tuple(parse_model(item, f"spec.models[{i}]") for i, item in enumerate(value))
    seen: set[str] = set()
    for i, model in enumerate(models):
        if model.name in seen:
            raise SpecError(
                f"spec.models[{i}].name", "a name not used by another model", model.name
            )
        seen.add(model.name)
    return models


def parse_agent_deployment(
    obj: Mapping[str, Any], default_namespace: str | None = None
) -> AgentDeployment:
    """Parse an AgentDeployment; raises SpecError for the first field Python cannot use.

    Only fields Python reads are checked here; checklist judgements (is the owner a person,
    is there a fallback) belong to Rego, which sees `raw`.
    """
    obj = _object(obj, "(the object)")
    meta = _parse_meta(obj, "AgentDeployment", default_namespace)
    spec = _object(_get(obj, "spec"), "spec")
    owner_raw = _get(spec, "owner")
    owner = None if owner_raw is _MISSING else _parse_person(owner_raw, "spec.owner")
    contract_ref = _optional_object(_get(spec, "contractRef"), "spec.contractRef")
    contract_name = None
    if contract_ref is not None:
        contract_name = _string(_get(contract_ref, "name"), "spec.contractRef.name")
    return AgentDeployment(
        meta=meta,
        owner=owner,
        contract_name=contract_name,
        budget=_parse_budget(_get(spec, "budget")),
        raw=obj,
        models=parse_models(_get(spec, "models")),
    )


def parse_agent_contract(
    obj: Mapping[str, Any], default_namespace: str | None = None
) -> AgentContract:
    obj = _object(obj, "(the object)")
    meta = _parse_meta(obj, "AgentContract", default_namespace)
    spec = _object(_get(obj, "spec"), "spec")
    version = _get(spec, "version")
    return AgentContract(
        meta=meta,
        version=None if version is _MISSING else _string(version, "spec.version"),
        raw=obj,
    )


def parse_agent_exception(
    obj: Mapping[str, Any], default_namespace: str | None = None
) -> AgentException:
    obj = _object(obj, "(the object)")
    meta = _parse_meta(obj, "AgentException", default_namespace)
    spec = _object(_get(obj, "spec"), "spec")
    return AgentException(
        meta=meta,
        targets=_string_list(_get(spec, "targets"), "spec.targets"),
        policies=_string_list(_get(spec, "policies"), "spec.policies"),
        reason=_string(_get(spec, "reason"), "spec.reason"),
        approver=_parse_person(_get(spec, "approver"), "spec.approver"),
        ticket=_optional_string(_get(spec, "ticket"), "spec.ticket"),
        expires_at=parse_timestamp(_get(spec, "expiresAt"), "spec.expiresAt"),
        raw=obj,
    )
