"""What the operator knows of the cluster, kept current by watch events (no polling, no GETs
on the hot path)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from controller.engine.verdict import contract_name

Key = tuple[str, str]  # (namespace, name)


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def slim(body: dict[str, Any]) -> dict[str, Any]:
    """The object without what golive never reads: managedFields and kubectl's copy of the
    manifest are most of an object's size (bench: ~25 KB of ~40 KB per agent)."""
    meta = dict(body.get("metadata") or {})
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {**body, "metadata": meta}


def key_of(body: dict[str, Any]) -> Key:
    meta = body.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


@dataclass
class ClusterState:
    agents: dict[Key, dict[str, Any]] = field(default_factory=dict)
    contracts: dict[Key, dict[str, Any]] = field(default_factory=dict)
    exceptions: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # namespace -> name -> object
    deployments: dict[Key, dict[str, Any]] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def put(self, store: dict[Key, dict[str, Any]], body: dict[str, Any], deleted: bool) -> Key:
        key = key_of(body)
        if deleted:
            store.pop(key, None)
        else:
            store[key] = slim(body)
        return key

    def put_exception(self, body: dict[str, Any], deleted: bool) -> Key:
        namespace, name = key_of(body)
        if deleted:
            self.exceptions[namespace].pop(name, None)
        else:
            self.exceptions[namespace][name] = slim(body)
        return namespace, name

    def contract(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.contracts.get((namespace, name))

    def agents_using_contract(self, namespace: str, contract: str) -> list[Key]:
        return [
            key
            for key, agent in self.agents.items()
            if key[0] == namespace and contract_name(agent) == contract
        ]

    def agents_targeted_by(self, exception: dict[str, Any]) -> list[Key]:
        namespace = key_of(exception)[0]
        targets = (exception.get("spec") or {}).get("targets") or []
        return [(namespace, str(t)) for t in targets if (namespace, str(t)) in self.agents]

    def namespace_exceptions(self, namespace: str) -> list[dict[str, Any]]:
        return list(self.exceptions.get(namespace, {}).values())
