"""Every call golive makes to the Kubernetes API (sync client; callers use threads).

Writes are few and deliberate: server-side apply of the owned Deployment, merge patches of the
AgentDeployment status subresource (never its spec: Argo CD must see no drift), Events (queued,
written off the reconcile path by controller/k8s/events.py), and server-side apply of the agent's
OpenReports Report when the cluster serves them.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from controller.domain.api import AGENTS, API_VERSION, FIELD_MANAGER, GROUP, VERSION
from controller.domain.report import GROUP as REPORTS_GROUP
from controller.domain.report import PLURAL as REPORTS
from controller.domain.report import VERSION as REPORTS_VERSION
from controller.k8s.events import Event, EventRecorder, WriteRefused, involved_object

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
    """The operator's writes, as plain requests through the shared ApiClient (its
    configuration, auth, TLS and connection pool).

    Not through AppsV1Api/CoreV1Api/CustomObjectsApi: importing those generated modules costs
    ~35 MB of RSS (bench: the operator's idle RSS), and each call validates its arguments and
    turns the response into client models, none of which golive reads.
    """

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.recorder = EventRecorder(self.create_event, self.patch_event)

    def _request(
        self,
        method: str,
        path: str,
        body: Any,
        content_type: str,
        query: list[tuple[str, str]] | None = None,
    ) -> bytes:
        """One call; the response body (raw JSON), or ApiException for a non-2xx status."""
        _, url, headers, serialized, _ = self.api_client.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(method, url, header_params=headers, body=serialized)
        data: bytes = response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(
                http_resp=response, body=data.decode("utf-8", "replace"), data=None
            )
        return data

    def apply_deployment(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply: golive owns the fields it sets, others (an HPA) keep theirs.

        Returns the Deployment as the API server's JSON, parsed once.
        """
        meta = body["metadata"]
        data = self._request(
            "PATCH",
            f"/apis/apps/v1/namespaces/{quote(meta['namespace'])}/deployments/"
            f"{quote(meta['name'])}",
            dict(body),
            "application/apply-patch+yaml",
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        )
        result: dict[str, Any] = json.loads(data)
        return result

    def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """The pods matching a label selector in one namespace (read only when a rollout stalls)."""
        data = self._request(
            "GET",
            f"/api/v1/namespaces/{quote(namespace)}/pods",
            None,
            "application/json",
            query=[("labelSelector", label_selector)],
        )
        items: list[dict[str, Any]] = json.loads(data).get("items") or []
        return items

    def list_configmaps(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        """The ConfigMaps matching a label selector in one namespace (the allowed signers, read
        once at start so that no decision is made before they are known)."""
        data = self._request(
            "GET",
            f"/api/v1/namespaces/{quote(namespace)}/configmaps",
            None,
            "application/json",
            query=[("labelSelector", label_selector)],
        )
        items: list[dict[str, Any]] = json.loads(data).get("items") or []
        return items

    def patch_agent_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Replace golive's status fields through the status subresource only.

        A merge patch replaces lists whole, which is what conditions and violations need: the
        status is always computed in full. The updated object it returns is not parsed.
        """
        self._request(
            "PATCH",
            f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{AGENTS}/{quote(name)}/status",
            {"status": dict(status)},
            "application/merge-patch+json",
            # Named like golive's Deployment applies, so managedFields says who wrote the status.
            query=[("fieldManager", FIELD_MANAGER)],
        )

    def apply_report(self, body: Mapping[str, Any]) -> None:
        """Server-side apply of an agent's OpenReports Report (creates or updates it; golive
        owns the fields it sets). The updated object it returns is not parsed."""
        meta = body["metadata"]
        self._request(
            "PATCH",
            f"/apis/{REPORTS_GROUP}/{REPORTS_VERSION}/namespaces/{quote(meta['namespace'])}/"
            f"{REPORTS}/{quote(meta['name'])}",
            dict(body),
            "application/apply-patch+yaml",
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        )

    def list_reports(self, label_selector: str, page: int = 500) -> list[dict[str, Any]] | None:
        """Every OpenReports Report matching the selector, in all namespaces, a page at a time;
        None when the cluster does not serve Reports (no CRD: 404)."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("labelSelector", label_selector), ("limit", str(page))]
            if token:
                query.append(("continue", token))
            try:
                data = self._request(
                    "GET", f"/apis/{REPORTS_GROUP}/{REPORTS_VERSION}/{REPORTS}", None,
                    "application/json", query=query,
                )  # fmt: skip
            except ApiException as error:
                if error.status == 404:
                    return None
                raise
            listing = json.loads(data)
            items += listing.get("items") or []
            token = (listing.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def emit_event(
        self, agent: Mapping[str, Any], event_type: str, reason: str, message: str
    ) -> bool:
        """Record a core/v1 Event on an AgentDeployment: queued, written by the recorder's one
        thread with client-go's correlation (controller/k8s/events.py); never blocks, never
        fatal. False when the queue was full and the event was dropped."""
        return self.recorder.record(
            Event(
                involved=involved_object(agent, API_VERSION, "AgentDeployment"),
                type=event_type,
                reason=reason,
                message=message,
                component=COMPONENT,
                instance=os.environ.get("HOSTNAME", COMPONENT),
            )
        )

    def _event_write(self, method: str, path: str, body: Any, content_type: str) -> None:
        try:
            self._request(method, path, body, content_type)
        except ApiException as error:
            raise WriteRefused(int(error.status or 0), str(error.reason)) from None

    def create_event(self, namespace: str, body: dict[str, Any]) -> None:
        self._event_write(
            "POST", f"/api/v1/namespaces/{quote(namespace)}/events", body, "application/json"
        )

    def patch_event(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        self._event_write(
            "PATCH",
            f"/api/v1/namespaces/{quote(namespace)}/events/{quote(name)}",
            body,
            "application/merge-patch+json",
        )
