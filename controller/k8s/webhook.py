"""The ValidatingWebhookConfiguration for AgentDeployments, as `golive run --webhook-register`
writes it (local runs, the demo, the e2e tests). In a cluster installed with the chart, Helm owns
an equivalent object (charts/golive/templates/webhook.yaml) and the operator writes nothing.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Any

from kubernetes import client

from controller.domain.api import AGENTS, FIELD_MANAGER, GROUP, VERSION

log = logging.getLogger("golive.k8s")

CONFIG_NAME = "golive"
WEBHOOK_NAME = f"{AGENTS}.{GROUP}"
WEBHOOK_PATH = "/validate"
FAILURE_POLICIES = ("Fail", "Ignore")
DEFAULT_TIMEOUT_SECONDS = 5


def webhook_configuration(
    url: str,
    ca_pem: bytes,
    *,
    exempt_namespaces: Sequence[str],
    failure_policy: str = "Fail",
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
    name: str = CONFIG_NAME,
) -> dict[str, Any]:
    """The configuration for a webhook reached by URL (the API server dials it directly).

    - sideEffects None: the webhook writes nothing, so dry-run requests are sent to it too;
    - failurePolicy governs only a webhook that cannot be reached or answers garbage: a
      decision golive could not make (engine down, broken policies) is always a denial;
    - the namespaceSelector exempts golive's own namespace and kube-system, so a broken
      webhook never locks out the components that repair it (the label is set by the API
      server on every namespace).
    """
    if failure_policy not in FAILURE_POLICIES:
        raise ValueError(f"failurePolicy: expected Fail or Ignore, got {failure_policy!r}")
    if not 1 <= timeout_seconds <= 30:
        raise ValueError(f"timeoutSeconds: expected 1..30, got {timeout_seconds}")
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": "golive",
                "app.kubernetes.io/managed-by": "golive-operator",
            },
        },
        "webhooks": [
            {
                "name": WEBHOOK_NAME,
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "timeoutSeconds": timeout_seconds,
                "failurePolicy": failure_policy,
                "matchPolicy": "Equivalent",
                "clientConfig": {
                    "url": url,
                    "caBundle": base64.b64encode(ca_pem).decode("ascii"),
                },
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "NotIn",
                            "values": sorted(set(exempt_namespaces)),
                        }
                    ]
                },
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "apiVersions": [VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": [AGENTS],
                        "scope": "Namespaced",
                    }
                ],
            }
        ],
    }


def register(api_client: client.ApiClient, body: dict[str, Any]) -> None:
    """Create or update the configuration (server-side apply: other managers' fields stay).

    The operator never deletes it, also not on shutdown: with failurePolicy Fail, an operator
    that is down must keep AgentDeployments out, not let them in unchecked.
    """
    api = client.AdmissionregistrationV1Api(api_client)
    api.patch_validating_webhook_configuration(
        body["metadata"]["name"],
        body,
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    log.info(
        "registered ValidatingWebhookConfiguration %s -> %s",
        body["metadata"]["name"],
        body["webhooks"][0]["clientConfig"]["url"],
    )
