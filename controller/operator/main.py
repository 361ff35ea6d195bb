"""`golive run`: the operator process (reconcile gate, and the admission webhook when enabled)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
from prometheus_client import start_http_server

from controller.k8s.api import KubeIO, make_api_client
from controller.operator.cache import ClusterState
from controller.operator.policies import PolicyManager
from controller.operator.reconciler import Reconciler
from controller.operator.runtime import Runtime, install

log = logging.getLogger("golive.operator")


@dataclass(frozen=True)
class OperatorOptions:
    engine: str = "embedded"
    opa_url: str | None = None
    policies: Path | None = None
    policy_namespace: str | None = None
    kubeconfig: str | None = None
    workers: int = 8
    audit_interval: float = 300.0
    metrics_port: int = 9090
    health_port: int = 8080
    log_format: str = "json"
    verbose: bool = False


async def operate(options: OperatorOptions, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever): kopf's watches, the workers, the policy loader."""
    import controller.operator.handlers  # noqa: F401  (registers the kopf handlers)

    kube = KubeIO(make_api_client(options.kubeconfig))
    state = ClusterState()
    policies = PolicyManager(
        options.engine, options.opa_url, options.policies, options.policy_namespace
    )
    reconciler = Reconciler(state, policies, kube)
    rt = Runtime(state, policies, reconciler, audit_interval=options.audit_interval)
    install(rt)
    tasks = [
        asyncio.create_task(rt.policy_loader(), name="policy-loader"),
        asyncio.create_task(rt.auditor(), name="auditor"),
        asyncio.create_task(rt.queue_gauge(), name="queue-gauge"),
        *(asyncio.create_task(rt.worker(), name=f"worker-{i}") for i in range(options.workers)),
    ]
    stop_flag = stop or asyncio.Event()
    try:
        await kopf.operator(
            clusterwide=True,
            standalone=True,
            stop_flag=stop_flag,
            liveness_endpoint=f"http://0.0.0.0:{options.health_port}/healthz"
            if options.health_port
            else None,
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(policies.close)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Level-triggered: golive keeps no handler progress on objects (no annotations, no
    # finalizers), so Argo CD sees no drift and namespace deletion is never blocked.
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 30


def run(options: OperatorOptions) -> None:
    kopf.configure(
        verbose=options.verbose,
        log_format=kopf.LogFormat.JSON if options.log_format == "json" else kopf.LogFormat.FULL,
    )
    if not options.verbose:
        # kopf logs every handled watch event at INFO: thousands of lines at scale.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    if options.metrics_port:
        start_http_server(options.metrics_port, addr="0.0.0.0")
    log.info("golive operator starting: engine %s", options.engine)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(operate(options))
