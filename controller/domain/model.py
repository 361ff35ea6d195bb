"""Typed views of the golive custom resources, read from the dicts the API server returns.

Each view keeps the raw dict (`raw`) because Rego must see the object exactly as written; the
typed fields are only the ones Python itself reads. An AgentDeployment is read leniently (its
checklist is Rego's to judge); an AgentException strictly, because Python acts on it (what it
waives, until when): its parse errors name the field path, what was expected and what was
found, so the CLI and the operator can show a sentence a person can act on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.domain.api import API_VERSION
from controller.domain.errors import _MISSING, SpecError
from controller.domain.moments import parse_timestamp


def _get(obj: Mapping[str, Any], key: str) -> object:
    return obj.get(key, _MISSING)


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(path, "an object", value)
    return value


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


def _mapping_or_empty(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class AgentDeployment:
    """One AgentDeployment as golive passes it along.

    It is read once where it enters golive (the admission request, the operator's watch cache,
    a file given to `golive check`) and that one value goes to the decision, the policy input,
    the read of Prometheus, the Deployment it gates and its status.

    It never refuses an object: the checklist is judged by Rego, which must see the agent
    exactly as written, malformed fields included (a missing owner is a finding with its field,
    not a parse error). So `raw` keeps the object, and the typed fields are only the ones
    Python itself acts on, each with a safe value when the object does not say: names are ""
    when absent, `owner_email` and `contract_name` None unless they are non-empty strings,
    `spec` and `status` empty unless they are objects. Budgets and models are read in one place,
    `project_cost` (controller/domain/cost.py), which turns a malformed one into a finding.
    """

    raw: Mapping[str, Any]
    name: str
    namespace: str
    generation: int | None  # None in a file (the API server sets it; it starts at 1)
    uid: str | None
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    owner_email: str | None
    contract_name: str | None

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    @property
    def current_generation(self) -> int:
        """metadata.generation, 1 when absent (the first generation the API server gives)."""
        return self.generation or 1


def read_agent(obj: Mapping[str, Any], namespace: str | None = None) -> AgentDeployment:
    """The typed view of an AgentDeployment (see the class); `namespace` fills in an absent
    metadata.namespace (a file, where `kubectl apply` would use the current namespace)."""
    meta = _mapping_or_empty(obj.get("metadata"))
    spec = _mapping_or_empty(obj.get("spec"))
    generation = meta.get("generation")
    owner = _mapping_or_empty(spec.get("owner"))
    contract_ref = _mapping_or_empty(spec.get("contractRef"))
    return AgentDeployment(
        raw=obj,
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or namespace or ""),
        generation=generation
        if isinstance(generation, int) and not isinstance(generation, bool)
        else None,
        uid=_text_or_none(meta.get("uid")),
        spec=spec,
        status=_mapping_or_empty(obj.get("status")),
        owner_email=_text_or_none(owner.get("email")),
        contract_name=_text_or_none(contract_ref.get("name")),
    )


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
