"""Every call golive makes to the Kubernetes API (sync client; callers use threads).

Writes are few and deliberate: server-side apply of the owned Deployment, merge patches of the
AgentDeployment status subresource (never its spec: Argo CD must see no drift), and Events.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from controller.domain.api import AGENTS, API_VERSION, FIELD_MANAGER, GROUP, VERSION

COMPONENT = "golive-operator"

log = logging.getLogger("golive.k8s")


def make_api_client(kubeconfig: str | None = None, pool_size: int = 32) -> client.ApiClient:
    """From --kubeconfig, $KUBECONFIG, ~/.kube/config, or the in-cluster service account."""
    configuration = client.Configuration()
    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path or not os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_kube_config(config_file=path, client_configuration=configuration)
    else:
        config.load_incluster_config(client_configuration=configuration)
    # Reconcile workers share the client; one connection each avoids pool churn.
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)


def bearer_token(configuration: client.Configuration) -> tuple[str | None, str | None]:
    """(scheme, token) from a client configuration, as kopf needs them for its own session."""
    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    parts = header.split(" ", 1) if header else []
    if not parts:
        return None, None
    return (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


class KubeIO:
    """The operator's writes and the few reads not served by its watch caches."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.apps = client.AppsV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def apply_deployment(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply: golive owns the fields it sets, others (an HPA) keep theirs."""
        meta = body["metadata"]
        result = self.apps.patch_namespaced_deployment(
            meta["name"],
            meta["namespace"],
            dict(body),
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
        )
        return dict(self.api_client.sanitize_for_serialization(result))

    def patch_agent_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Replace golive's status fields through the status subresource only.

        A merge patch replaces lists whole, which is what conditions and violations need: the
        status is always computed in full.
        """
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, AGENTS, name, {"status": dict(status)}
        )

    def emit_event(
        self, agent: Mapping[str, Any], event_type: str, reason: str, message: str
    ) -> None:
        """A core/v1 Event on the AgentDeployment; failures are logged, never fatal."""
        meta = agent["metadata"]
        now = dt.datetime.now(dt.UTC)
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{meta['name']}.", namespace=meta["namespace"]
            ),
            involved_object=client.V1ObjectReference(
                api_version=API_VERSION,
                kind="AgentDeployment",
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
                resource_version=meta.get("resourceVersion"),
            ),
            type=event_type,
            reason=reason,
            message=message[:1024],
            first_timestamp=now,
            last_timestamp=now,
            count=1,
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            reporting_instance=os.environ.get("HOSTNAME", COMPONENT),
        )
        try:
            self.core.create_namespaced_event(meta["namespace"], event)
        except ApiException as error:
            log.warning(
                "event %s for %s/%s not recorded: %s",
                reason,
                meta["namespace"],
                meta["name"],
                error.reason,
            )
