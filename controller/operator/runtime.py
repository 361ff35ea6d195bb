"""The operator's one set of live objects, shared by the kopf handlers (through kopf's memo)
and the workers."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from controller.domain.model import AgentDeployment, read_agent
from controller.domain.observed import (
    AgentObservation,
    FleetObservation,
    metric_names,
    monthly_limit,
    needs_decision,
    observe_agent,
)
from controller.k8s.lease import LeaseElector
from controller.observe.prometheus import PrometheusClient, poll
from controller.operator import metrics
from controller.operator.cache import ClusterState
from controller.operator.decider import Decider
from controller.operator.policies import PolicyManager
from controller.operator.reconciler import Reconciler
from controller.operator.signers import SignerStore

log = logging.getLogger("golive.operator")


@dataclass
class Runtime:
    state: ClusterState
    policies: PolicyManager
    reconciler: Reconciler
    audit_interval: float = 300.0
    reload_debounce: float = 0.3
    _reload: asyncio.Event = field(default_factory=asyncio.Event)
    # Workers start after the first load attempt, so startup does not decide everything twice.
    first_load: asyncio.Event = field(default_factory=asyncio.Event)
    elector: LeaseElector | None = None  # None: this replica is the only one and always leads
    prometheus: PrometheusClient | None = None  # None: nothing is observed
    prometheus_interval: float = 60.0
    # How long a failed read may be answered with the last good one (then: skipped).
    prometheus_stale_after: float = 600.0
    _last_good: FleetObservation | None = None
    # Each agent's observation at the last poll, to re-decide only agents whose facts moved.
    _last_seen: dict[tuple[str, str], AgentObservation | None] = field(default_factory=dict)

    # --- the narrow API the kopf handlers and the webhook use ------------------------------

    @property
    def decider(self) -> Decider:
        return self.reconciler.decider

    @property
    def signers(self) -> SignerStore:
        return self.reconciler.signers

    @property
    def alert_rules_namespace(self) -> str | None:
        return self.reconciler.alert_rules_namespace

    def enqueue(self, *keys: tuple[str, str]) -> None:
        for key in keys:
            self.reconciler.queue.add(key)

    def enqueue_all(self) -> None:
        self.reconciler.enqueue_all()

    def enqueue_alert_users(self, namespace: str | None = None) -> None:
        """The agents whose declared alerts are looked up in `namespace` (None: everywhere)."""
        self.enqueue(*self.state.agents_declaring_alerts(namespace))

    def absorb_own_status(self, key: tuple[str, str], kept: AgentDeployment) -> bool:
        """True when an agent event only echoes the status golive wrote (nothing to decide);
        the cache then keeps the written copy rather than an equal second one."""
        if not self.reconciler.is_own_write(key, kept):
            return False
        written = self.reconciler.written[key][1]
        self.state.agents[key] = read_agent({**kept.raw, "status": written})
        return True

    def leading(self) -> bool:
        return self.elector is None or self.elector.leading

    def request_policy_reload(self) -> None:
        self._reload.set()

    async def policy_loader(self) -> None:
        """Load policies now and whenever they change; retry with backoff while unusable."""
        delay = 1.0
        while True:
            ok = await asyncio.to_thread(self.policies.load)
            metrics.POLICY_LOADED.set(1 if ok else 0)
            self.first_load.set()
            self.reconciler.enqueue_all()
            self._reload.clear()
            try:
                # Unusable policies are retried (OPA may come back); usable ones wait for a change.
                await asyncio.wait_for(self._reload.wait(), None if ok else delay)
                await asyncio.sleep(self.reload_debounce)  # a sync writes several ConfigMaps
                delay = 1.0
            except TimeoutError:
                delay = min(delay * 2, 30.0)

    async def worker(self) -> None:
        await self.first_load.wait()
        await self.reconciler.queue.worker(self.reconcile_if_leading)

    async def reconcile_if_leading(self, key: tuple[str, str]) -> None:
        # Followers keep their caches warm but write nothing; a new leader re-queues everything.
        if self.leading():
            await self.reconciler.reconcile(key)

    async def leader_loop(self) -> None:
        if self.elector is None:
            metrics.LEADER.set(1)
            return
        was_leading = False
        while True:
            leading = await asyncio.to_thread(self.elector.tick)
            metrics.LEADER.set(1 if leading else 0)
            if leading and not was_leading:
                log.info("leading: re-deciding every agent")
                self.reconciler.enqueue_all()
            elif was_leading and not leading:
                log.warning("lost the lease: reconciling stops until it is won again")
                metrics.forget_agents()  # the new leader exports them
            was_leading = leading
            await asyncio.sleep(self.elector.config.retry_period)

    async def auditor(self) -> None:
        """Periodic full re-decision: catches anything a missed event would leave stale."""
        while True:
            await asyncio.sleep(self.audit_interval)
            self.reconciler.enqueue_all()

    async def observer(self) -> None:
        """Read Prometheus every interval (every replica: the webhook decides with it too) and
        queue the agents whose observed facts moved; no spec change is needed."""
        if self.prometheus is None:
            return
        await self.first_load.wait()
        while True:
            await self.observe_once()
            await asyncio.sleep(self.prometheus_interval)

    async def observe_once(self) -> None:
        assert self.prometheus is not None
        agents = dict(self.state.agents)
        names = [metric_names(agent.spec) for agent in agents.values()]
        fleet, stats = await asyncio.to_thread(poll, self.prometheus, names, datetime.now(UTC))
        metrics.PROMETHEUS_POLLS.labels("error" if fleet.error else "ok").inc()
        metrics.PROMETHEUS_POLL_SECONDS.observe(stats.seconds)
        metrics.PROMETHEUS_QUERIES.inc(stats.queries)
        if fleet.error:
            log.warning("Prometheus could not be read: %s", fleet.error)
            last = self._last_good
            age = (fleet.at - last.at).total_seconds() if last is not None else None
            if last is not None and age is not None and age < self.prometheus_stale_after:
                # A short outage changes no verdict: decide on the last good read, and say so.
                fleet = replace(last, stale=fleet.error)
        else:
            self._last_good = fleet
        previous, self.state.observation = self.state.observation, fleet
        outage_moved = previous is None or (
            (previous.error is None, previous.stale is None)
            != (fleet.error is None, fleet.stale is None)
        )
        for key, agent in agents.items():
            seen = None if fleet.error else observe_agent(fleet, key[0], key[1], agent.spec)
            before = self._last_seen.get(key)
            if (
                outage_moved
                or key not in self._last_seen
                or needs_decision(before, seen, monthly_limit(agent.spec))
            ):
                metrics.OBSERVED_REDECISIONS.inc()
                self.reconciler.queue.add(key)
            if fleet.error is None:
                self._last_seen[key] = seen
        for key in set(self._last_seen) - set(agents):
            del self._last_seen[key]

    async def queue_gauge(self) -> None:
        while True:
            metrics.QUEUE_DEPTH.set(len(self.reconciler.queue))
            await asyncio.sleep(1)
