"""Test objects built from examples/invoice-triage.yaml (a compliant agent and its contract)."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import yaml

from kit.controlplane import REPO, ControlPlane, HarnessError

EXAMPLE = REPO / "examples" / "invoice-triage.yaml"


def _example(kind: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d and d.get("kind") == kind]
    return copy.deepcopy(docs[0])


def _place(obj: dict[str, Any], namespace: str, name: str) -> dict[str, Any]:
    obj["metadata"] = {"name": name, "namespace": namespace}
    return obj


def contract(namespace: str, name: str = "invoice-triage-v3") -> dict[str, Any]:
    return _place(_example("AgentContract"), namespace, name)


def agent(
    namespace: str, name: str = "invoice-triage", contract_name: str = "invoice-triage-v3"
) -> dict[str, Any]:
    obj = _place(_example("AgentDeployment"), namespace, name)
    obj["spec"]["contractRef"] = {"name": contract_name}
    return obj


def exception(
    namespace: str, name: str, target: str, policy: str, expires_at: str
) -> dict[str, Any]:
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentException",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "targets": [target],
            "policies": [policy],
            "reason": "load test this week, budget reviewed by finance",
            "approver": {"name": "Sam Ortiz", "email": "sam.ortiz@example.com"},
            "ticket": "FIN-1234",
            "expiresAt": expires_at,
        },
    }


def apply(cluster: ControlPlane, *objects: dict[str, Any]) -> None:
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}),
    )


def get(
    cluster: ControlPlane, kind: str, namespace: str, name: str, *flags: str
) -> dict[str, Any] | None:
    """The object as JSON, or None when it does not exist; `flags` go to kubectl get."""
    proc = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json", *flags, check=False)
    if proc.returncode != 0:
        if "NotFound" in proc.stderr:
            return None
        raise HarnessError(proc.stderr)
    return dict(json.loads(proc.stdout))


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == type_:
            return dict(cond)
    return {}


def wait_for(check: Any, timeout: float = 30.0, what: str = "a condition") -> Any:
    """Poll `check()` until it returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def wait_event(
    cluster: Any, namespace: str, reason: str, text: str = "", timeout: float = 15.0
) -> list[str]:
    """The messages of the namespace's events with this reason, once one contains `text`.
    golive writes events off the reconcile path (controller/k8s/events.py), so one may show a
    moment after the status that caused it."""

    def check() -> list[str] | None:
        out = cluster.kubectl(
            "get", "events", "-n", namespace, "--field-selector", f"reason={reason}", "-o", "json"
        )
        messages = [str(e.get("message", "")) for e in json.loads(out.stdout)["items"]]
        return messages if any(text in m for m in messages) else None

    found: list[str] = wait_for(check, timeout, f"a {reason} event containing {text!r}")
    return found


def wait_admitted(
    cluster: ControlPlane,
    namespace: str,
    name: str,
    status: str,
    generation: int | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        obj = get(cluster, "agd", namespace, name)
        cond = condition(obj, "Admitted")
        gen = generation or (obj or {}).get("metadata", {}).get("generation")
        if cond.get("status") == status and cond.get("observedGeneration") == gen:
            return obj
        return None

    return dict(wait_for(check, timeout, f"{namespace}/{name} Admitted={status}"))
