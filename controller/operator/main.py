"""`golive run`: the operator process (reconcile gate, and the admission webhook when enabled)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
from prometheus_client import start_http_server

from controller.domain.api import namespace_name_problem
from controller.domain.fleet import cluster_name_problem
from controller.domain.signoffs import SIGNERS_LABEL
from controller.engine.factory import ENGINES, engine_problem
from controller.k8s import certs
from controller.k8s.alert_rules import prometheus_rules_served
from controller.k8s.api import KubeIO, make_api_client
from controller.k8s.lease import LeaseConfig, LeaseElector
from controller.k8s.webhook import DEFAULT_TIMEOUT_SECONDS, register, webhook_configuration
from controller.observe.prometheus import PrometheusClient, PrometheusConfig
from controller.operator import metrics
from controller.operator.cache import ClusterState
from controller.operator.handlers import build_registry
from controller.operator.policies import PolicyManager
from controller.operator.reconciler import Reconciler
from controller.operator.reports import discover_reports
from controller.operator.runtime import Runtime
from controller.operator.signers import SignerStore

log = logging.getLogger("golive.operator")


@dataclass(frozen=True)
class OperatorOptions:
    engine: str = "embedded"
    opa_url: str | None = None
    # The SAFE library plus these folders, unless policy_namespace gives the whole library.
    policies: tuple[Path, ...] = ()
    safe_library: bool = True
    policy_namespace: str | None = None
    kubeconfig: str | None = None
    workers: int = 8
    audit_interval: float = 300.0
    metrics_port: int = 9090
    health_port: int = 8080
    log_format: str = "json"
    verbose: bool = False
    # The admission webhook (off when webhook_port is 0); see docs/webhook.md.
    webhook_port: int = 0
    webhook_cert_dir: Path | None = None  # tls.crt/tls.key (+ ca.crt); else self-signed
    webhook_host: str | None = None  # the name/IP the API server dials (URL registration)
    webhook_register: bool = False  # write the ValidatingWebhookConfiguration ourselves
    webhook_failure_policy: str = "Fail"
    webhook_timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    webhook_addr: str = "0.0.0.0"  # listen address
    # High availability: with a namespace, replicas elect one leader on a Lease; only the
    # leader reconciles, every replica watches and serves the webhook.
    leader_election_namespace: str | None = None
    lease_duration: float = 15.0
    # Where the alerts of spec.monitoring.alerts are looked up (PrometheusRules); None: the
    # agent's own namespace.
    alert_rules_namespace: str | None = None
    # What runs: a Prometheus read every prometheus_interval seconds (docs/observed.md).
    prometheus: PrometheusConfig | None = None
    prometheus_interval: float = 60.0
    prometheus_stale_after: float = 600.0
    # The cluster's name in a fleet (docs/fleet.md): on golive_policy_info and on the Reports.
    cluster_name: str = ""

    def validate(self) -> None:
        """Raise ValueError naming the option, for a value or a combination that cannot work:
        the one place the operator's configuration is checked (the CLI only reports it)."""
        problem = next(iter(self.problems()), None)
        if problem is not None:
            raise ValueError(problem)

    def problems(self) -> list[str]:
        found = []
        if self.engine not in ENGINES:
            found.append(engine_problem(self.engine))
        if self.engine == "remote" and not self.opa_url:
            found.append("--engine remote needs --opa-url (e.g. http://opa.golive:8181)")
        if self.policy_namespace is not None and (self.policies or not self.safe_library):
            found.append(
                "--policy-namespace reads the whole library from ConfigMaps; it does not combine "
                "with --policies or --no-safe-library"
            )
        found += [f"--policies: {f} is not a folder" for f in self.policies if not f.is_dir()]
        if self.policy_namespace is None and not self.policies and not self.safe_library:
            found.append(
                "--no-safe-library needs --policies DIR: there would be nothing to decide with"
            )
        if not 0 <= self.webhook_port <= 65535:
            found.append(f"--webhook-port: expected 0..65535, got {self.webhook_port}")
        cert_dir = self.webhook_cert_dir
        if cert_dir is not None and self.webhook_port and not cert_dir.is_dir():
            found.append(f"--webhook-cert-dir: {cert_dir} is not a folder")
        if self.webhook_failure_policy not in ("Fail", "Ignore"):
            found.append(
                "--webhook-failure-policy: expected Fail or Ignore, got "
                f"{self.webhook_failure_policy!r}"
            )
        if not 1 <= self.webhook_timeout_seconds <= 30:
            found.append(
                f"--webhook-timeout: expected 1..30 seconds, got {self.webhook_timeout_seconds}"
            )
        if self.webhook_register and not self.webhook_port:
            found.append("--webhook-register needs --webhook-port")
        if not 2 <= self.lease_duration <= 300:
            found.append(f"--lease-duration: expected 2..300 seconds, got {self.lease_duration}")
        problem = namespace_name_problem("--alert-rules-namespace", self.alert_rules_namespace)
        if problem:
            found.append(problem)
        if not 1 <= self.prometheus_interval <= 3600:
            found.append(
                f"--prometheus-interval: expected 1..3600 seconds, got {self.prometheus_interval}"
            )
        if not 0 <= self.prometheus_stale_after <= 86400:
            found.append(
                "--prometheus-stale-after: expected 0..86400 seconds, got "
                f"{self.prometheus_stale_after}"
            )
        problem = cluster_name_problem(self.cluster_name)
        if problem:
            found.append(problem)
        return found

    @property
    def own_namespace(self) -> str:
        """golive's namespace, exempted from the webhook with kube-system."""
        return self.policy_namespace or os.environ.get("POD_NAMESPACE") or "golive-system"


def make_webhook_server(options: OperatorOptions, kube: KubeIO, rt: Runtime) -> Any:
    """kopf's HTTPS server answering reviews with golive's handler (webhook.py), deciding
    through the runtime's Decider, with the mounted or a self-signed cert."""
    from controller.operator.webhook import GoliveWebhookServer, decide_admission_with

    if options.webhook_cert_dir is not None:
        files = certs.mounted(options.webhook_cert_dir)
    else:
        hosts = [h for h in (options.webhook_host, "127.0.0.1", "localhost") if h]
        files = certs.write_self_signed(hosts)
        log.info("webhook: self-signed certificate for %s", ", ".join(dict.fromkeys(hosts)))

    async def on_ready(url: str) -> None:
        if not options.webhook_register:
            return
        body = webhook_configuration(
            url,
            files.ca_pem,
            exempt_namespaces=[options.own_namespace, "kube-system"],
            failure_policy=options.webhook_failure_policy,
            timeout_seconds=options.webhook_timeout_seconds,
        )
        for attempt in range(5):
            try:
                await asyncio.to_thread(register, kube.api_client, body)
                return
            except Exception as error:
                if attempt == 4:
                    raise
                log.warning("registering the webhook failed (%s); retrying", error)
                await asyncio.sleep(1 + attempt)

    return GoliveWebhookServer(
        decide=functools.partial(decide_admission_with, rt),
        addr=options.webhook_addr,
        port=options.webhook_port,
        host=options.webhook_host,
        certfile=str(files.certfile),
        pkeyfile=str(files.keyfile),
        cadata=files.ca_pem,
        on_ready=on_ready,
    )


async def operate(options: OperatorOptions, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or forever): kopf's watches, the workers, the policy loader.

    Everything this operator uses is made here and handed to kopf (registry, settings, memo):
    no module globals, so two operators can run in one process.
    """
    # Reconcile workers run engine calls and API writes in threads: give each its own, the
    # default pool (cores + 4) would queue them behind each other.
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max(8, options.workers * 2), thread_name_prefix="golive")
    )

    kube = KubeIO(make_api_client(options.kubeconfig))
    state = ClusterState()
    policies = PolicyManager(
        options.engine,
        options.opa_url,
        folders=options.policies,
        safe_library=options.safe_library,
        namespace=options.policy_namespace,
    )
    reconciler = Reconciler(
        state,
        policies,
        kube,
        alert_rules_namespace=options.alert_rules_namespace,
        signers=SignerStore(options.own_namespace),
        cluster=options.cluster_name,
    )
    metrics.LIBRARY.watch(options.cluster_name, lambda: policies.library)
    await load_signers(reconciler.signers, kube)
    # Before any decision: a cluster with the PrometheusRule CRD must never see the alert check
    # skipped. Unanswered, the state stays "served" (missing alerts block, never admit) and is
    # asked again in the background.
    discovered = await discover_alert_rules(state, kube, attempts=3)
    # Before any decision too: golive's existing Reports, so a restart rewrites none of them.
    await discover_reports(reconciler.reports, kube)
    rt = Runtime(
        state,
        policies,
        reconciler,
        audit_interval=options.audit_interval,
        prometheus=PrometheusClient(options.prometheus) if options.prometheus else None,
        prometheus_interval=options.prometheus_interval,
        prometheus_stale_after=options.prometheus_stale_after,
    )
    reconciler.leading = rt.leading  # fences every write, not only each queued key
    if options.leader_election_namespace:
        rt.elector = LeaseElector(
            kube.api_client,
            LeaseConfig(
                namespace=options.leader_election_namespace,
                duration=options.lease_duration,
                renew_deadline=options.lease_duration * 2 / 3,
                retry_period=max(0.5, options.lease_duration / 7.5),
            ),
            # Unique per operator, not per process (two operators may share one), as client-go
            # adds a UUID to the host name; host and pid stay readable for whoever debugs.
            identity=f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}",
        )
    registry = build_registry()
    settings = operator_settings()
    if options.webhook_port:
        # kopf listens; golive answers every review itself (no kopf admission handler is
        # registered) and registers its own configuration: settings.admission.managed stays
        # None (see webhook.py).
        settings.admission.server = make_webhook_server(options, kube, rt)
    tasks = [
        *([] if discovered else [asyncio.create_task(rediscover_alert_rules(rt, kube))]),
        asyncio.create_task(rt.policy_loader(), name="policy-loader"),
        asyncio.create_task(rt.auditor(), name="auditor"),
        asyncio.create_task(rt.observer(), name="prometheus-observer"),
        asyncio.create_task(rt.queue_gauge(), name="queue-gauge"),
        asyncio.create_task(rt.leader_loop(), name="leader-election"),
        *(asyncio.create_task(rt.worker(), name=f"worker-{i}") for i in range(options.workers)),
    ]
    stop_flag = stop or asyncio.Event()
    try:
        await kopf.operator(
            registry=registry,
            settings=settings,
            memo=kopf.Memo(runtime=rt),
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
        if rt.elector is not None:
            await asyncio.to_thread(rt.elector.release)  # hand over now, not at expiry
        await asyncio.to_thread(policies.close)


async def load_signers(store: SignerStore, kube: KubeIO) -> None:
    """List the allowed-signers ConfigMaps before any decision (the watch keeps them after),
    so a restart never decides signed agents as if no signer existed. Unanswered, the list
    stays empty until the watch delivers it: nothing verifies meanwhile, never an admit."""
    try:
        items = await asyncio.to_thread(kube.list_configmaps, store.namespace, SIGNERS_LABEL)
    except Exception as error:  # the watch delivers them later
        log.warning("cannot list the allowed-signers ConfigMaps yet: %s", error)
        return
    store.replace_all(
        {
            str((item.get("metadata") or {}).get("name")): dict(item.get("data") or {})
            for item in items
        }
    )


async def discover_alert_rules(state: ClusterState, kube: KubeIO, attempts: int) -> bool:
    """Ask API discovery whether PrometheusRules are served; False when it never answered."""
    for attempt in range(attempts):
        try:
            served = await asyncio.to_thread(prometheus_rules_served, kube.api_client)
        except Exception as error:
            log.warning("discovery of PrometheusRules failed (%s); attempt %d", error, attempt + 1)
            await asyncio.sleep(min(2**attempt, 10))
            continue
        state.alert_rules_served = served
        log.info(
            "PrometheusRule CRD %s: alerts are %s",
            "found" if served else "not found",
            "checked against alerting rules" if served else "reported as not checked (skipped)",
        )
        return True
    return False


async def rediscover_alert_rules(rt: Runtime, kube: KubeIO) -> None:
    while not await discover_alert_rules(rt.state, kube, attempts=1):
        await asyncio.sleep(5)
    rt.enqueue_alert_users()


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf's diff base is for its on.create/on.update handlers; golive has only on.event ones.

    The default storage builds an "essence" of every watched object on every event (a deep
    copy of the body, then a cleaned copy of that) and parses its last-handled annotation: the
    largest share of kopf's per-event time in the operator profile (docs/performance.md), for a
    diff nobody reads. golive stores nothing on objects, so there is nothing to fetch either.
    """

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return None  # type: ignore[return-value]  # kopf skips the progress cleaning then

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


def operator_settings() -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    # Level-triggered: golive keeps no handler progress on objects (no annotations, no
    # finalizers), so Argo CD sees no drift and namespace deletion is never blocked.
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 30
    # Per-event work golive does not use (see NoDiffBase).
    settings.persistence.diffbase_storage = NoDiffBase()
    return settings


def run(options: OperatorOptions) -> None:
    # kube-apiserver stores objects nested up to 10,000 levels (Go's JSON limit; spec.template
    # is free-form) and kopf parses each watch event with json.loads: with Python's default
    # limit of 1,000 one such object ends the operator, on every restart.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 30_000))
    kopf.configure(
        verbose=options.verbose,
        log_format=kopf.LogFormat.JSON if options.log_format == "json" else kopf.LogFormat.FULL,
    )
    if not options.verbose:
        # kopf logs every handled watch event at INFO: thousands of lines at scale.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        # One access line per admission review and health probe: noise at webhook rates.
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if options.metrics_port:
        start_http_server(options.metrics_port, addr="0.0.0.0")
    log.info("golive operator starting: engine %s", options.engine)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(operate(options))
