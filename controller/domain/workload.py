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
from controller.domain.model import AgentDeployment


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


def owner_reference(agent: AgentDeployment) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": AGENT_KIND,
        "name": agent.name,
        "uid": agent.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_deployment(agent: AgentDeployment, digest: str) -> dict[str, Any]:
    """The Deployment for the agent's current generation, as a server-side-apply body."""
    spec = agent.spec
    name = agent.name
    labels = recommended_labels(name)
    template = copy.deepcopy(spec.get("template") or {})
    template_meta = template.setdefault("metadata", {})
    template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(name)},
        "template": template,
    }
    for key in ("replicas", "progressDeadlineSeconds"):
        if spec.get(key) is not None:
            deployment_spec[key] = spec[key]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": agent.namespace,
            "labels": labels,
            "annotations": {
                ADMITTED_GENERATION: str(agent.current_generation),
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
    """(status, reason, message) for the Ready condition, from the Deployment's own status.

    Ready is True only when the rollout of the generation the Deployment carries is complete
    (every replica updated and available, as `kubectl rollout status` judges it); the message
    always names that generation, so a blocked newer one reads as "generation N runs".
    """
    if not deployment:
        return "False", "DeploymentNotFound", "no Deployment is running for this agent"
    running = admitted_generation(deployment)
    label = f"generation {running}" if running is not None else "the Deployment"
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    if status.get("observedGeneration", 0) < (deployment.get("metadata") or {}).get(
        "generation", 0
    ):
        return (
            "False",
            "RolloutInProgress",
            f"{label}: the Deployment controller has not seen it yet",
        )
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = conditions.get("Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        detail = progressing.get("message", "no progress")
        return "False", "RolloutStalled", f"{label} did not roll out in time: {detail}"
    wanted = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    available = int(status.get("availableReplicas", 0))
    counts = f"{updated}/{wanted} updated, {available}/{wanted} available"
    if updated < wanted or available < wanted or int(status.get("replicas", 0)) > wanted:
        available_condition = conditions.get("Available") or {}
        if available_condition.get("status") == "False":
            return "False", "DeploymentUnavailable", f"{label} rolling out ({counts})"
        return "False", "RolloutInProgress", f"{label} rolling out ({counts})"
    return "True", "DeploymentAvailable", f"{label} runs: {available}/{wanted} replicas available"


def unready_pods_summary(pods: list[dict[str, Any]]) -> str:
    """Why the agent's pods are not Ready, in the scheduler's and kubelet's own words.

    Groups pods by the first reason found (unschedulable, a waiting or crashing container, not
    ready), most common first: "2 pods Pending: 0/1 nodes are available: ...".
    """
    reasons: dict[str, int] = {}
    for pod in pods:
        reason = _unready_reason(pod)
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    parts = [
        f"{count} pod{'s' if count != 1 else ''} {reason}"
        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    return "; ".join(parts)


def _unready_reason(pod: dict[str, Any]) -> str | None:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return None
    status = pod.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if (conditions.get("Ready") or {}).get("status") == "True":
        return None
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") == "False":
        return f"Pending: {scheduled.get('message') or scheduled.get('reason') or 'not scheduled'}"
    for container in (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    ):
        state = container.get("state") or {}
        waiting = state.get("waiting") or state.get("terminated")
        if waiting and waiting.get("reason"):
            detail = f": {waiting['message']}" if waiting.get("message") else ""
            return f"waiting on {container.get('name')}: {waiting['reason']}{detail}"
    return f"{status.get('phase', 'Pending')}, not Ready"
