"""The owned Deployment, built from an admitted AgentDeployment (pure)."""

from __future__ import annotations

import copy
from typing import Any

from controller.domain.api import (
    ADMITTED_GENERATION,
    AGENT_KIND,
    AGENT_LABEL,
    API_VERSION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    POLICY_DIGEST,
)


def selector_labels(agent_name: str) -> dict[str, str]:
    # Immutable once the Deployment exists, so it holds only the agent's name.
    return {AGENT_LABEL: agent_name}


def recommended_labels(agent_name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": agent_name,
        "app.kubernetes.io/instance": agent_name,
        "app.kubernetes.io/component": "agent",
        MANAGED_BY_LABEL: MANAGED_BY,
        **selector_labels(agent_name),
    }


def owner_reference(agent: dict[str, Any]) -> dict[str, Any]:
    meta = agent["metadata"]
    return {
        "apiVersion": API_VERSION,
        "kind": AGENT_KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_deployment(agent: dict[str, Any], digest: str) -> dict[str, Any]:
    """The Deployment for the agent's current generation, as a server-side-apply body."""
    meta = agent["metadata"]
    spec = agent.get("spec") or {}
    name = meta["name"]
    labels = recommended_labels(name)
    template = copy.deepcopy(spec.get("template") or {})
    template_meta = template.setdefault("metadata", {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(name)},
        "template": template,
    }
    if spec.get("replicas") is not None:
        deployment_spec["replicas"] = spec["replicas"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": labels,
            "annotations": {
                ADMITTED_GENERATION: str(meta["generation"]),
                POLICY_DIGEST: digest,
            },
            "ownerReferences": [owner_reference(agent)],
        },
        "spec": deployment_spec,
    }


def admitted_generation(deployment: dict[str, Any] | None) -> int | None:
    """The agent generation a Deployment runs; the Deployment itself is the record of truth."""
    if not deployment:
        return None
    raw = ((deployment.get("metadata") or {}).get("annotations") or {}).get(ADMITTED_GENERATION)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def deployment_availability(deployment: dict[str, Any] | None) -> tuple[str, str, str]:
    """(status, reason, message) for the Ready condition, from the Deployment's own status."""
    if not deployment:
        return "False", "DeploymentNotFound", "no Deployment is running for this agent"
    status = deployment.get("status") or {}
    generation = (deployment.get("metadata") or {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return "False", "RolloutInProgress", "the Deployment controller has not seen the update"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Available":
            if cond.get("status") == "True":
                ready = status.get("availableReplicas", 0)
                return "True", "DeploymentAvailable", f"{ready} replicas available"
            return "False", "DeploymentUnavailable", str(cond.get("message", "not available"))
    return "False", "RolloutInProgress", "waiting for the Deployment to become available"
