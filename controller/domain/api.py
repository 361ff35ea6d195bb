"""golive's API facts, written once: group, version, kinds, resources, labels and annotations.

The CRDs in crds/ are the contract; these names must match them (tests/unit/test_crds.py reads
both).
"""

from __future__ import annotations

import re

GROUP = "golive.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

AGENT_KIND = "AgentDeployment"
CONTRACT_KIND = "AgentContract"
EXCEPTION_KIND = "AgentException"
KINDS = (AGENT_KIND, CONTRACT_KIND, EXCEPTION_KIND)

AGENTS = "agentdeployments"
CONTRACTS = "agentcontracts"
EXCEPTIONS = "agentexceptions"

# Server-side apply field manager of what golive writes.
FIELD_MANAGER = "golive"
# On owned Deployments: which agent, which generation was admitted, under which policies.
AGENT_LABEL = f"{GROUP}/agent"
ADMITTED_GENERATION = f"{GROUP}/admitted-generation"
POLICY_DIGEST = f"{GROUP}/policy-digest"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "golive"  # on owned Deployments (the operator's watch selects them by it)
# ConfigMaps with this label in the policy namespace hold the Rego library. On them,
# POLICY_DIGEST declares the digest of the whole library they belong to (domain/fleet.py).
POLICY_LABEL = f"{GROUP}/policy"
# On the Reports golive writes: the cluster that decided (`golive run --cluster-name`).
CLUSTER_LABEL = f"{GROUP}/cluster"

NAMESPACE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def namespace_name_problem(option: str, value: str | None) -> str | None:
    """Why `value` is not a namespace name (an RFC 1123 label), naming the option; None when it
    is one, or when no value is given."""
    if not value or NAMESPACE_NAME.match(value):
        return None
    return (
        f"{option}: expected a namespace name (lowercase letters, digits and '-', at most 63), "
        f"got {value!r}"
    )
