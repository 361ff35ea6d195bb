"""kopf handlers: they only translate watch events into cache updates and queued keys.

They are coroutines on purpose: kopf runs plain functions in a thread pool, and these touch
asyncio objects (the work queue, the policy-reload event) that are only safe on the loop.
"""

from __future__ import annotations

from typing import Any

import kopf

from controller.k8s.api import bearer_token
from controller.operator.cache import key_of
from controller.operator.policies import POLICY_LABEL
from controller.operator.runtime import runtime

GROUP, VERSION = "golive.dev", "v1alpha1"


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """kopf uses the same credentials as golive's own client (--kubeconfig or in-cluster)."""
    configuration = runtime().reconciler.kube.api_client.configuration
    scheme, token = bearer_token(configuration)
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


def _deleted(event: kopf.RawEvent) -> bool:
    return event.get("type") == "DELETED"


@kopf.on.event(GROUP, VERSION, "agentdeployments")
async def agent_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    rt = runtime()
    obj = dict(body)
    key = rt.state.put(rt.state.agents, obj, _deleted(event))
    if not _deleted(event) and rt.reconciler.is_own_write(key, obj):
        return
    rt.reconciler.queue.add(key)


@kopf.on.event(GROUP, VERSION, "agentcontracts")
async def contract_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    rt = runtime()
    namespace, name = rt.state.put(rt.state.contracts, dict(body), _deleted(event))
    for key in rt.state.agents_using_contract(namespace, name):
        rt.reconciler.queue.add(key)


@kopf.on.event(GROUP, VERSION, "agentexceptions")
async def exception_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    rt = runtime()
    namespace, name = key_of(dict(body))
    before = rt.state.exceptions.get(namespace, {}).get(name)
    rt.state.put_exception(dict(body), _deleted(event))
    # Old and new targets both: an agent dropped from the list loses its waiver now.
    affected = set(rt.state.agents_targeted_by(dict(body)))
    if before is not None:
        affected |= set(rt.state.agents_targeted_by(before))
    for key in affected:
        rt.reconciler.queue.add(key)


@kopf.on.event("apps", "v1", "deployments", labels={"app.kubernetes.io/managed-by": "golive"})
async def deployment_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    rt = runtime()
    key = rt.state.put(rt.state.deployments, dict(body), _deleted(event))
    rt.reconciler.queue.add(key)  # Ready follows the Deployment's availability


@kopf.on.event("", "v1", "namespaces")
async def namespace_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    rt = runtime()
    name = body.get("metadata", {}).get("name", "")
    if _deleted(event):
        rt.state.namespace_labels.pop(name, None)
    else:
        rt.state.namespace_labels[name] = dict(body.get("metadata", {}).get("labels") or {})


@kopf.on.event("", "v1", "configmaps", labels={POLICY_LABEL: kopf.PRESENT})
async def policy_configmap_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    rt = runtime()
    namespace, name = key_of(dict(body))
    if rt.policies.namespace != namespace:
        return
    data = None if _deleted(event) else dict(body.get("data") or {})
    if rt.policies.set_configmap(name, data):
        rt.request_policy_reload()
