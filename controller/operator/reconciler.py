"""The reconcile gate: decide an AgentDeployment, apply its Deployment only when admitted, and
write what happened to its status. Plain async code; kopf handlers only feed it keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from controller.domain.decision import Decision, Result
from controller.domain.model import AgentDeployment
from controller.domain.observed import ObservedFacts
from controller.domain.policy_input import Operation
from controller.domain.review import (
    earliest,
    next_review_moment,
    review_parameters,
    review_schedule,
    review_status,
)
from controller.domain.status import build_status, status_changed
from controller.domain.workload import (
    admitted_generation,
    build_deployment,
    deployment_availability,
    selector_labels,
    unready_pods_summary,
)
from controller.k8s.api import KubeIO
from controller.k8s.events import EventRecorder
from controller.operator import metrics
from controller.operator.cache import ClusterState, Key, slim_deployment
from controller.operator.decider import Decider
from controller.operator.policies import PolicyManager
from controller.operator.reports import ReportWriter
from controller.operator.signers import SignerStore
from controller.operator.workqueue import WorkQueue

log = logging.getLogger("golive.reconcile")


class NotLeading(Exception):
    """This replica lost (or could not renew) the lease while a reconcile was in flight."""


def always_leading() -> bool:
    return True


class Reconciler:
    def __init__(
        self,
        state: ClusterState,
        policies: PolicyManager,
        kube: KubeIO,
        queue: WorkQueue[Key] | None = None,
        leading: Callable[[], bool] = always_leading,
        alert_rules_namespace: str | None = None,
        signers: SignerStore | None = None,
        cluster: str = "",
    ) -> None:
        """cluster: this cluster's name (--cluster-name), on the agents' Reports.

        leading: whether this replica may write now; asked before every write (fencing),
        not only when a key is taken off the queue, because a decision and the writes before
        it take time in which the lease can be lost. A single replica always leads."""
        self.state = state
        self.policies = policies
        self.kube = kube
        self.leading = leading
        # The one decision entry; it also holds where alerting rules are looked up and the
        # allowed signers (the properties below), so there is one copy of each.
        self.decider = Decider(state, policies, signers or SignerStore(""), alert_rules_namespace)
        self.queue: WorkQueue[Key] = queue or WorkQueue()
        recorder = getattr(kube, "recorder", None)
        if isinstance(recorder, EventRecorder):
            recorder.on_outcome = metrics.record_event
        # What we last wrote per agent, so our own status write does not trigger a re-decision.
        self.written: dict[Key, tuple[int, dict[str, Any]]] = {}
        # The agents' OpenReports Reports, when the cluster serves them (reports.py).
        self.reports = ReportWriter(kube, cluster)
        # The last decision per agent while its rollout runs: (basis, decision, the decider's
        # recheck moment, the moment it must be made again); see `reusable`.
        self.last_decision: dict[Key, tuple[Basis, Decision, datetime | None, datetime | None]] = {}

    @property
    def signers(self) -> SignerStore:
        """The allowed signers sign-offs are verified against (watched ConfigMaps)."""
        return self.decider.signers

    @property
    def alert_rules_namespace(self) -> str | None:
        """Where alerting rules are looked up (--alert-rules-namespace); None: the agent's."""
        return self.decider.alert_rules_namespace

    # --- deciding ---------------------------------------------------------------------------

    def basis(self, agent: AgentDeployment, observed: ObservedFacts | None) -> Basis:
        """What a decision of this agent is made from, as the caches hold it now."""
        state, namespace = self.state, agent.namespace
        exceptions = tuple(state.exceptions.get(namespace, {}).values())
        # An exception's approver may own none of its targets: their owners are input too.
        owners = tuple(
            state.owner_email(namespace, str(target))
            for exception in exceptions
            for target in (exception.get("spec") or {}).get("targets") or []
        )
        rules_namespace = self.decider.alert_rules_namespace or namespace
        meta = agent.raw.get("metadata") or {}
        return Basis(
            generation=agent.current_generation,
            spec=agent.spec,
            labels=meta.get("labels"),
            annotations=meta.get("annotations"),
            namespace_labels=state.namespace_labels.get(namespace),
            owners=owners,
            observed=_observed_key(observed),
            same=(
                self.policies.current,
                self.decider.signers.current,
                state.contract(namespace, agent.contract_name or ""),
                state.alert_rules_served,
                observed.fleet if observed is not None else None,
                *exceptions,
                *state.alert_rules.get(rules_namespace, {}).values(),
            ),
        )

    def reusable(
        self, key: Key, basis: Basis, now: datetime
    ) -> tuple[Decision, datetime | None] | None:
        """The last decision of this agent when nothing it was made from has changed and no
        moment it must be made again at (an exception's expiry, a review moment) has passed."""
        last = self.last_decision.get(key)
        if last is None:
            return None
        was, decision, recheck_at, valid_until = last
        if valid_until is not None and now >= valid_until:
            return None
        return (decision, recheck_at) if was.matches(basis) else None

    def decide(
        self, agent: AgentDeployment, now: datetime, observed: ObservedFacts | None = None
    ) -> tuple[Decision, datetime | None]:
        """Blocking: evaluates the policies (call it in a thread)."""
        verdict = self.decider.decide(
            agent, Operation.RECONCILE, now, source="reconcile", observed=observed
        )
        return verdict.decision, verdict.recheck_at

    # --- the gate ---------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> None:
        agent = self.state.agents.get(key)
        if agent is None:
            self.written.pop(key, None)
            self.reports.forget(key)
            metrics.forget_agent(key)
            self.last_decision.pop(key, None)
            return  # deleted: the Deployment goes with it through its ownerReference
        try:
            await self._reconcile(key, agent)
        except NotLeading:
            # No retry here: the replica that leads now has every key queued.
            metrics.FENCED_WRITES.inc()
            log.warning("%s/%s: not leading any more; nothing written", *key)
        except ApiException as error:
            metrics.RECONCILE_ERRORS.labels("api").inc()
            delay = self.queue.retry(key)
            log.warning(
                "reconcile %s/%s: API error %s %s; retry in %.1fs",
                *key,
                error.status,
                error.reason,
                delay,
            )
        except Exception:
            metrics.RECONCILE_ERRORS.labels("internal").inc()
            delay = self.queue.retry(key)
            log.exception("reconcile %s/%s failed; retry in %.1fs", *key, delay)

    async def _reconcile(self, key: Key, agent: AgentDeployment) -> None:
        now = datetime.now(UTC)
        generation = agent.current_generation
        # The review schedule under the loaded policies' graceDays and warnDays (METADATA).
        schedule = review_schedule(
            agent.spec, review_parameters(self.policies.current.bundle.policies)
        )
        observed = self.state.observed_facts(agent)
        basis = self.basis(agent, observed)
        reused = self.reusable(key, basis, now)
        if reused is not None:
            decision, recheck_at = reused
            metrics.DECISIONS_REUSED.inc()
        else:
            decision, recheck_at = await asyncio.to_thread(self.decide, agent, now, observed)
        deployment = self.state.deployments.get(key)
        running = admitted_generation(deployment)
        applied = False
        if decision.result is Result.ADMITTED and (deployment is None or running != generation):
            body = build_deployment(agent, decision.digest)
            self._fence()
            cached = deployment
            deployment = await asyncio.to_thread(self.kube.apply_deployment, body)
            # The watch can deliver a later state of the Deployment while the apply runs (its
            # status moving on as the rollout starts): that one stays, and it has queued this
            # agent again. Overwriting it with the apply's answer would leave Ready on a stale
            # status until the Deployment changes again, which may be never.
            if self.state.deployments.get(key) is cached:
                self.state.deployments[key] = slim_deployment(deployment)
            running, applied = generation, True
            metrics.DEPLOYMENT_WRITES.inc()
        previous = dict(agent.status)
        availability = deployment_availability(deployment)
        if availability[1] == "RolloutStalled":
            availability = await self._explain_stall(key, availability)
        status = build_status(
            generation=generation,
            decision=decision,
            running_generation=running,
            availability=availability,
            previous=previous,
            now=now,
            review=review_status(schedule, now),
            observed=observed,
        )
        if status_changed(previous, status):
            self._fence()
            # Recorded before the patch: its watch echo can reach the loop before the call
            # returns, and must be recognised as ours (not decided again).
            last = self.written.get(key)
            self.written[key] = (generation, status)
            try:
                await asyncio.to_thread(self.kube.patch_agent_status, key[0], key[1], status)
            except BaseException:
                if last is None:
                    self.written.pop(key, None)
                else:
                    self.written[key] = last
                raise
            metrics.STATUS_WRITES.inc()
            self._announce(agent, decision, previous, status, applied)
        bundle = self.policies.current.bundle
        await self.reports.sync(agent, decision, bundle.policies, bundle.digest, now, self._fence)
        # The dashboard's and the alerts' per-agent series (controller/operator/metrics.py).
        metrics.record_agent(agent, decision, status, self.state.namespace_exceptions(key[0]), now)
        if decision.result is Result.UNKNOWN:
            delay = self.queue.retry(key)  # the engine or the policies may come back
            log.info("%s/%s undecided (%s); retry in %.1fs", *key, decision.reason.value, delay)
        else:
            self.queue.forget(key)
        # An exception expires, or the review is due, its reminder starts or its grace period
        # ends then: decide again at that moment, not at the next audit.
        due = earliest([recheck_at, next_review_moment(schedule, now)])
        if due is not None:
            self.queue.add(key, max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.05)
        # Kept while a rollout runs (a Deployment, Ready not True), the time in which the
        # Deployment's own events (replicas updated, available) reconcile this agent again and
        # nothing the decision reads has changed: those reconciles reuse it instead of
        # evaluating again. Not for an agent with no Deployment (blocked from the start): no
        # rollout event comes for it, and its entry would be kept for as long as it is blocked.
        rolling_out = deployment is not None and status_of(status, "Ready") != "True"
        if decision.result is not Result.UNKNOWN and rolling_out:
            self.last_decision[key] = (basis, decision, recheck_at, due)
        else:
            self.last_decision.pop(key, None)

    async def _explain_stall(
        self, key: Key, availability: tuple[str, str, str]
    ) -> tuple[str, str, str]:
        """A stalled rollout's Ready message with the pods' own reasons, so a person can act."""
        selector = ",".join(f"{k}={v}" for k, v in selector_labels(key[1]).items())
        pods = await asyncio.to_thread(self.kube.list_pods, key[0], selector)
        summary = unready_pods_summary(pods)
        status, reason, message = availability
        return status, reason, f"{message}; {summary}" if summary else message

    def _announce(
        self,
        agent: AgentDeployment,
        decision: Decision,
        previous: dict[str, Any],
        status: dict[str, Any],
        applied: bool,
    ) -> None:
        """Events when the admission outcome changes or a new generation rolls out."""
        old = _condition(previous, "Admitted")
        new = _condition(status, "Admitted")
        moved = (old.get("status"), old.get("reason")) != (new.get("status"), new.get("reason"))
        events: list[tuple[str, str, str]] = []
        if applied:
            events.append(("Normal", "Admitted", new.get("message", "")))
        elif moved and decision.result is Result.BLOCKED:
            events.append(("Warning", "Blocked", decision.message))
        elif moved and decision.result is Result.UNKNOWN:
            events.append(("Warning", decision.reason.value, decision.message))
        for enforcement, reason in (("warn", "PolicyWarning"), ("dryrun", "PolicyDryRun")):
            found = [v for v in decision.violations if v.enforcement == enforcement]
            if (applied or moved) and found:
                text = "; ".join(f"{v.policy} {v.field}: {v.message}" for v in found)
                events.append(("Warning" if enforcement == "warn" else "Normal", reason, text))
        events += alert_events(previous, status)
        if events:
            self._fence()
        for event_type, reason, message in events:
            # Queued, not awaited: written by the recorder's thread (controller/k8s/events.py).
            self.kube.emit_event(agent.raw, event_type, reason, message)

    def _fence(self) -> None:
        if not self.leading():
            raise NotLeading

    # --- triggers ---------------------------------------------------------------------------

    def is_own_write(self, key: Key, agent: AgentDeployment) -> bool:
        """True when an agent event only echoes the status we wrote (nothing to decide)."""
        last = self.written.get(key)
        return last is not None and last == (agent.current_generation, agent.status)

    def enqueue_all(self) -> None:
        """Every agent, evaluated again (policies, signers, leadership, the audit): nothing
        decided before is reused."""
        self.last_decision.clear()
        for key in list(self.state.agents):
            self.queue.add(key)


def alert_events(previous: dict[str, Any], status: dict[str, Any]) -> list[tuple[str, str, str]]:
    """An event when a declared alert starts or stops firing (status.observed.firingAlerts)."""
    if "observed" not in status:
        return []
    before = set((previous.get("observed") or {}).get("firingAlerts") or [])
    after = set(status["observed"].get("firingAlerts") or [])
    events = [
        ("Warning", "AlertFiring", f"declared alert {name} is firing in Prometheus")
        for name in sorted(after - before)
    ]
    events += [
        ("Normal", "AlertResolved", f"declared alert {name} stopped firing in Prometheus")
        for name in sorted(before - after)
    ]
    return events


@dataclass(frozen=True, slots=True)
class Basis:
    """What one decision was made from: compared by value where the caches build the value
    anew on each event (spec, labels), by identity where they replace the object when it
    changes (the policy set, the allowed signers, the contract, exceptions, alerting rules)."""

    generation: int
    spec: Mapping[str, Any]
    labels: object
    annotations: object
    namespace_labels: object
    owners: tuple[str | None, ...]
    observed: tuple[object, ...] | None
    same: tuple[object, ...]

    def matches(self, other: Basis) -> bool:
        return (
            len(self.same) == len(other.same)
            and all(a is b for a, b in zip(self.same, other.same, strict=True))
            and self.generation == other.generation
            and self.owners == other.owners
            and self.observed == other.observed
            and self.namespace_labels == other.namespace_labels
            and self.labels == other.labels
            and self.annotations == other.annotations
            and self.spec == other.spec
        )


def _observed_key(observed: ObservedFacts | None) -> tuple[object, ...] | None:
    """The agent's observed facts a decision used, by value (the fleet read itself is compared
    by identity, in Basis.same: a new read is a new object)."""
    if observed is None:
        return None
    return (
        observed.agent,
        observed.rolled_out_at,
        observed.new_generation,
        observed.generation,
    )


def status_of(status: Mapping[str, Any], type_: str) -> object:
    return _condition(status, type_).get("status")


def _condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    for cond in status.get("conditions") or []:
        if cond.get("type") == type_:
            return dict(cond)
    return {}
