"""The operator's one entry to the decision, for the webhook and the reconcile gate alike.

It gathers what the cluster knows about one agent (the policies loaded now, its namespace's
exceptions and labels, the allowed signers, and at the gate the contracts and PrometheusRules;
the caller adds its read of Prometheus), calls `decide_agent`, times it and counts it. The two
callers differ only in the operation: at the door (CREATE, UPDATE) the contract and alert-rule
lookups are deferred, because GitOps may apply those objects after the agent, and the gate
enforces them.
"""

from __future__ import annotations

import time
from datetime import datetime

from controller.domain.alert_rules import NO_CRD_REASON, AlertRules
from controller.domain.model import AgentDeployment
from controller.domain.observed import ObservedFacts
from controller.domain.policy_input import Operation, PolicyContext
from controller.engine.decision_pipeline import Verdict, decide_agent
from controller.operator import metrics
from controller.operator.cache import ClusterState
from controller.operator.policies import PolicyManager
from controller.operator.signers import SignerStore

AT_THE_DOOR = (Operation.CREATE, Operation.UPDATE)


class Decider:
    def __init__(
        self,
        state: ClusterState,
        policies: PolicyManager,
        signers: SignerStore,
        alert_rules_namespace: str | None = None,
    ) -> None:
        self.state = state
        self.policies = policies
        self.signers = signers
        # Where alerting rules are looked up (--alert-rules-namespace); None: the agent's namespace.
        self.alert_rules_namespace = alert_rules_namespace

    def alert_rules(self) -> AlertRules:
        """The watched PrometheusRules, or a visible skip when the cluster has no such CRD."""
        if not self.state.alert_rules_served:
            return AlertRules.unavailable(NO_CRD_REASON)
        return AlertRules.lookup(self.state.rules_in, self.alert_rules_namespace)

    def decide(
        self,
        agent: AgentDeployment,
        operation: Operation,
        now: datetime,
        *,
        source: str,
        observed: ObservedFacts | None,
    ) -> Verdict:
        """Blocking: evaluates the policies (call it in a thread).

        source: the metrics label (reconcile, admission, admission-dryrun).
        observed: the caller's read of Prometheus for this agent (`state.observed_facts`), taken
            once so that a reconcile's decision and status speak of the same read.
        """
        started = time.perf_counter()
        current = self.policies.current
        namespace = agent.namespace
        at_the_door = operation in AT_THE_DOOR
        verdict = decide_agent(
            current,
            agent,
            contracts=None if at_the_door else self.state.contract,
            exceptions=self.state.namespace_exceptions(namespace),
            context=PolicyContext(operation, now, self.state.namespace_labels.get(namespace, {})),
            alert_rules=AlertRules.deferred() if at_the_door else self.alert_rules(),
            observed=observed,
            signers=self.signers.current,
            owners=self.state.owner_email,
        )
        metrics.EVALUATION_SECONDS.labels(source, current.engine.name).observe(
            time.perf_counter() - started
        )
        metrics.record_decision(source, verdict.decision)
        return verdict
