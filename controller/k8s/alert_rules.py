"""Does the cluster serve the Prometheus Operator's PrometheusRule? (API discovery, no RBAC).

The operator asks once at start, before any decision, so that it never decides an agent's
alerts as "nowhere to look" (a visible skip) in a cluster that has the CRD; kopf's watch of
CustomResourceDefinitions tells it when the CRD appears or goes later.
"""

from __future__ import annotations

import json
import logging

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from controller.domain.alert_rules import GROUP, PLURAL, VERSION

log = logging.getLogger("golive.k8s")


def prometheus_rules_served(api_client: client.ApiClient) -> bool:
    """True when /apis/monitoring.coreos.com/v1 lists prometheusrules; False on 404 (the
    group is not served). Other failures raise ApiException or OSError (the caller decides)."""
    path = f"/apis/{GROUP}/{VERSION}"
    _, url, headers, _, _ = api_client.param_serialize(
        "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
    )
    response = api_client.call_api("GET", url, header_params=headers)
    data: bytes = response.read()
    if response.status == 404:
        return False
    if not 200 <= response.status <= 299:
        raise ApiException.from_response(
            http_resp=response, body=data.decode("utf-8", "replace"), data=None
        )
    resources = json.loads(data).get("resources") or []
    return any(isinstance(r, dict) and r.get("name") == PLURAL for r in resources)
