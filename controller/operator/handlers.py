"""kopf handlers: they only translate watch events into cache updates and queued keys.

They are registered in a registry made per operator (`build_registry`) and reach the operator's
live objects through kopf's `memo` (the Runtime), so two operators can run in one process. They
are coroutines on purpose: kopf runs plain functions in a thread pool, and these touch asyncio
objects (the work queue, the policy-reload event) that are only safe on the loop.
"""

from __future__ import annotations

from typing import Any, cast

import kopf

from controller.domain.alert_rules import CRD_NAME
from controller.domain.alert_rules import GROUP as RULES_GROUP
from controller.domain.alert_rules import PLURAL as RULES_PLURAL
from controller.domain.alert_rules import VERSION as RULES_VERSION
from controller.domain.api import (
    AGENTS,
    CONTRACTS,
    EXCEPTIONS,
    GROUP,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    POLICY_DIGEST,
    POLICY_LABEL,
    VERSION,
)
from controller.domain.report import CRD_NAME as REPORTS_CRD
from controller.domain.report import GROUP as REPORTS_GROUP
from controller.domain.report import PLURAL as REPORTS
from controller.domain.report import VERSION as REPORTS_VERSION
from controller.domain.report import report_agent
from controller.domain.signoffs import SIGNERS_LABEL
from controller.k8s.api import bearer_token
from controller.operator.cache import key_of
from controller.operator.runtime import Runtime


def runtime_of(memo: kopf.Memo) -> Runtime:
    rt: Runtime = memo.runtime
    return rt


async def login(memo: kopf.Memo, **_: Any) -> kopf.ConnectionInfo:
    """kopf uses the same credentials as golive's own client (--kubeconfig or in-cluster)."""
    configuration = runtime_of(memo).reconciler.kube.api_client.configuration
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


def _raw(event: kopf.RawEvent) -> dict[str, Any]:
    """The watch event's object as parsed (kopf's Body is a view over it): read, never copied;
    the caches keep only the fields they need."""
    return cast(dict[str, Any], event["object"])


async def agent_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    rt = runtime_of(memo)
    key, kept = rt.state.put_agent(_raw(event), _deleted(event))
    if not _deleted(event) and rt.absorb_own_status(key, kept):
        return
    rt.enqueue(key)


async def contract_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    rt = runtime_of(memo)
    namespace, name = rt.state.put_contract(_raw(event), _deleted(event))
    for key in rt.state.agents_using_contract(namespace, name):
        rt.enqueue(key)


async def exception_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    rt = runtime_of(memo)
    body = _raw(event)
    namespace, name = key_of(body)
    before = rt.state.exceptions.get(namespace, {}).get(name)
    rt.state.put_exception(body, _deleted(event))
    # Old and new targets both: an agent dropped from the list loses its waiver now.
    affected = set(rt.state.agents_targeted_by(body))
    if before is not None:
        affected |= set(rt.state.agents_targeted_by(before))
    for key in affected:
        rt.enqueue(key)


async def deployment_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    rt = runtime_of(memo)
    body = _raw(event)
    key = key_of(body)
    before = rt.state.deployments.get(key)
    rt.state.put_deployment(body, _deleted(event))
    # Ready follows the Deployment's availability; a change golive does not read (a replica
    # count, the echo of its own apply) decides nothing again.
    if rt.state.deployments.get(key) != before:
        rt.enqueue(key)


async def namespace_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    rt = runtime_of(memo)
    name = body.get("metadata", {}).get("name", "")
    before = rt.state.namespace_labels.get(name)
    if _deleted(event):
        rt.state.namespace_labels.pop(name, None)
    else:
        rt.state.namespace_labels[name] = dict(body.get("metadata", {}).get("labels") or {})
    # The labels are policy input (Pod Security levels): the namespace's agents are decided
    # again when they change, and when they first become known.
    if rt.state.namespace_labels.get(name) != before:
        for key in [key for key in rt.state.agents if key[0] == name]:
            rt.enqueue(key)


async def policy_configmap_event(
    event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    rt = runtime_of(memo)
    namespace, name = key_of(dict(body))
    if rt.policies.namespace != namespace:
        return
    data = None if _deleted(event) else dict(body.get("data") or {})
    declared = str((body.get("metadata", {}).get("annotations") or {}).get(POLICY_DIGEST) or "")
    if rt.policies.set_configmap(name, data, declared):
        rt.request_policy_reload()


async def allowed_signers_event(
    event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any
) -> None:
    """An allowed-signers ConfigMap of golive's namespace changed: every agent is decided again
    (a removed key re-blocks what it approved, with nobody touching the agents)."""
    rt = runtime_of(memo)
    namespace, name = key_of(dict(body))
    if rt.signers.namespace != namespace:
        return
    data = None if _deleted(event) else dict(body.get("data") or {})
    if rt.signers.set_configmap(name, data):
        rt.enqueue_all()


async def prometheus_rule_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """A PrometheusRule changed: the agents whose alerts are looked up in its namespace."""
    rt = runtime_of(memo)
    namespace = rt.state.put_alert_rule(_raw(event), _deleted(event))
    configured = rt.alert_rules_namespace
    # A rule that exists proves the CRD is served. Not a deletion: removing the CRD deletes its
    # rules, and their DELETED events (another watch, in no order with the CRD's) can come after
    # the CRD's own; they must not turn the check back on.
    if not rt.state.alert_rules_served and not _deleted(event):
        rt.state.alert_rules_served = True
        rt.enqueue_alert_users()
    elif configured is None or configured == namespace:
        rt.enqueue_alert_users(None if configured else namespace)


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _crd_served(event: kopf.RawEvent, body: dict[str, Any]) -> bool:
    terminating = bool((body.get("metadata") or {}).get("deletionTimestamp"))
    return not _deleted(event) and not terminating and _established(body)


async def crd_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """The PrometheusRule CRD appeared or went: the alert check starts or is skipped."""
    body = _raw(event)
    if (body.get("metadata") or {}).get("name") != CRD_NAME:
        return
    rt = runtime_of(memo)
    served = _crd_served(event, body)
    if served == rt.state.alert_rules_served:
        return
    rt.state.alert_rules_served = served
    if not served:
        rt.state.alert_rules.clear()  # its objects go with it
    rt.enqueue_alert_users()


async def report_crd_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """The OpenReports Report CRD appeared (every agent gets its Report) or went."""
    body = _raw(event)
    if (body.get("metadata") or {}).get("name") != REPORTS_CRD:
        return
    rt = runtime_of(memo)
    if rt.reconciler.reports.set_served(_crd_served(event, body)) and rt.reconciler.reports.served:
        rt.enqueue_all()


async def report_event(event: kopf.RawEvent, memo: kopf.Memo, **_: Any) -> None:
    """One of golive's Reports changed (the echo of a write, recorded) or was deleted (written
    again while its agent exists)."""
    rt = runtime_of(memo)
    body = _raw(event)
    writer = rt.reconciler.reports
    if _deleted(event):
        key = writer.deleted(body)
        if key is not None and key in rt.state.agents:
            rt.enqueue(key)
        return
    key = report_agent(body)
    if key is not None:
        writer.seen(body, rt.state.agents.get(key))


def build_registry() -> kopf.OperatorRegistry:
    """A registry of golive's handlers, for one operator (kopf.operator(registry=...))."""
    registry = kopf.OperatorRegistry()
    kopf.on.login(registry=registry)(login)
    on_event = kopf.on.event
    on_event(GROUP, VERSION, AGENTS, registry=registry)(agent_event)
    on_event(GROUP, VERSION, CONTRACTS, registry=registry)(contract_event)
    on_event(GROUP, VERSION, EXCEPTIONS, registry=registry)(exception_event)
    owned = {MANAGED_BY_LABEL: MANAGED_BY}
    on_event("apps", "v1", "deployments", labels=owned, registry=registry)(deployment_event)
    on_event("", "v1", "namespaces", registry=registry)(namespace_event)
    policy_maps = {POLICY_LABEL: kopf.PRESENT}
    on_event("", "v1", "configmaps", labels=policy_maps, registry=registry)(policy_configmap_event)
    signer_maps = {SIGNERS_LABEL: kopf.PRESENT}
    on_event("", "v1", "configmaps", labels=signer_maps, registry=registry)(allowed_signers_event)
    # Alerting rules (spec.monitoring.alerts must exist): kopf serves this watch once the CRD
    # exists, also when it is installed after golive (kopf watches CRDs).
    on_event(RULES_GROUP, RULES_VERSION, RULES_PLURAL, registry=registry)(prometheus_rule_event)
    on_event("apiextensions.k8s.io", "v1", "customresourcedefinitions", registry=registry)(
        crd_event
    )
    # OpenReports: golive's own Reports (managed-by golive), once their CRD exists.
    on_event(REPORTS_GROUP, REPORTS_VERSION, REPORTS, labels=owned, registry=registry)(report_event)
    on_event("apiextensions.k8s.io", "v1", "customresourcedefinitions", registry=registry)(
        report_crd_event
    )
    return registry
