"""`golive check`: load manifests, decide every AgentDeployment, collect a CheckRun."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from controller.check.loader import Document, InputError, Manifests, load, namespace_labels
from controller.check.report import AgentReport, CheckRun, findings_from
from controller.check.schema import SchemaSet
from controller.domain.alert_rules import AlertRules, RuleFile, read_prometheus_rule
from controller.domain.model import AgentDeployment, read_agent
from controller.domain.observed import ObservedFacts
from controller.domain.policy_input import Operation, PolicyContext
from controller.domain.signoffs import AllowedSigners, signoff_records
from controller.engine.decision_pipeline import PolicySet, decide_agent


def validate(manifests: Manifests, schemas: SchemaSet) -> list[Document]:
    """Documents that pass the CRD schema; the others become input errors naming the field."""
    valid = []
    for doc in manifests.documents:
        problems = list(schemas.errors(doc.obj))
        if not doc.name:
            problems.insert(0, "metadata.name: expected a name")
        if problems:
            for problem in problems:
                manifests.errors.append(
                    InputError(doc.source, doc.line, f"{doc.kind} {doc.name or '?'}: {problem}")
                )
        else:
            valid.append(doc)
    return valid


ObservedLookup = Callable[[AgentDeployment], ObservedFacts | None]


class Observer(Protocol):
    """Where `golive check` gets what runs: given every agent of the run (so one poll can ask
    for all of them at once), a lookup of one agent's observed facts."""

    def observe(self, agents: Sequence[AgentDeployment]) -> ObservedLookup: ...


def check(
    paths: Iterable[str],
    contract_paths: Iterable[str],
    policy_set: PolicySet | Callable[[], PolicySet],
    now: datetime,
    schemas: SchemaSet | None = None,
    parallelism: int = 1,
    alert_rules_namespace: str | None = None,
    observer: Observer | None = None,
    signers: AllowedSigners | None = None,
) -> CheckRun:
    """alert_rules_namespace: look alerts up in this namespace's PrometheusRules (the
    operator's --alert-rules-namespace), not the agent's.
    observer: what a Prometheus observes of the agents (--prometheus-url), read once per run.
    signers: the allowed signers sign-offs are verified against (--allowed-signers).
    policy_set: the policies, or a function giving them, called once the manifests are read
    (`golive check` compiles them on another thread meanwhile)."""
    manifests = load(paths)
    extra = load(contract_paths)  # --contracts: context only, never reported as agents
    schemas = schemas or SchemaSet()
    given = validate(manifests, schemas)
    documents = given + validate(extra, schemas)
    # The Namespaces given (with the manifests or --contracts): their Pod Security labels.
    labels = namespace_labels(extra) | namespace_labels(manifests)
    manifests.errors.extend(extra.errors)
    alert_rules = alert_rules_source(
        rule_files(manifests, manifests.prometheus_rules + extra.prometheus_rules),
        alert_rules_namespace,
    )

    contracts: dict[tuple[str, str], dict[str, Any]] = {}
    exceptions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    owners: dict[tuple[str, str], str] = {}  # every agent given, also with --contracts
    agents: list[tuple[Document, AgentDeployment]] = []  # the ones to decide and report
    reported = {id(doc) for doc in given}
    for doc in documents:
        obj = with_namespace(doc)
        if doc.kind == "AgentContract":
            contracts[(doc.namespace, doc.name)] = obj
        elif doc.kind == "AgentException":
            exceptions[doc.namespace].append(obj)
        elif doc.kind == "AgentDeployment":
            agent = read_agent(obj)  # read once, here, where it enters golive
            if agent.owner_email is not None:
                owners[agent.key] = agent.owner_email
            if id(doc) in reported:
                agents.append((doc, agent))

    policies = policy_set if isinstance(policy_set, PolicySet) else policy_set()
    observed = observer.observe([agent for _, agent in agents]) if observer else None

    def report(entry: tuple[Document, AgentDeployment]) -> tuple[AgentReport, Mapping[str, Any]]:
        doc, agent = entry
        verdict = decide_agent(
            policies,
            agent,
            contracts=lambda namespace, name: contracts.get((namespace, name)),
            exceptions=exceptions[doc.namespace],
            context=PolicyContext(Operation.CHECK, now, labels.get(doc.namespace, {})),
            alert_rules=alert_rules,
            observed=observed(agent) if observed is not None else None,
            signers=signers,
            owners=lambda namespace, name: owners.get((namespace, name)),
        )
        d = verdict.decision
        agent_report = AgentReport(
            doc.source,
            doc.line,
            doc.namespace,
            doc.name,
            d.result.value,
            d.reason.value,
            d.message,
            findings_from(d.violations),
            signoff_records(verdict.policy_input),
        )
        return agent_report, verdict.policy_input

    # Decisions in parallel (the embedded engine releases the GIL); results keep input order.
    with ThreadPoolExecutor(max(1, parallelism)) as pool:
        decided = list(pool.map(report, agents))
    return CheckRun(
        [agent_report for agent_report, _ in decided],
        manifests.errors,
        manifests.skipped,
        policies.engine.name,
        policies.engine.digest,
        {pid: info.title for pid, info in policies.bundle.policies.items()},
        [policy_input for _, policy_input in decided],
    )


def rule_files(manifests: Manifests, documents: list[Document]) -> list[RuleFile] | None:
    """Every PrometheusRule given (None: none at all); a malformed one is an input error naming
    its field, and defines no alert (the Prometheus Operator rejects it whole)."""
    if not documents:
        return None
    files = []
    for doc in documents:
        rule_file = read_prometheus_rule(doc.obj, doc.namespace)
        if rule_file.error is not None:
            manifests.errors.append(
                InputError(
                    doc.source, doc.line, f"PrometheusRule {doc.name or '?'}: {rule_file.error}"
                )
            )
        files.append(rule_file)
    return files


def alert_rules_source(files: list[RuleFile] | None, namespace: str | None) -> AlertRules:
    """Where `golive check` looks alerts up: the PrometheusRules given with the manifests. With
    none, the check is reported as skipped, as in a cluster without the PrometheusRule CRD."""
    if files is None:
        return AlertRules.unavailable(
            "no PrometheusRule (monitoring.coreos.com/v1) was given with the manifests; pass "
            "the files that define the alerts to have them verified"
        )
    by_namespace: dict[str, list[RuleFile]] = defaultdict(list)
    for rule_file in files:
        by_namespace[rule_file.namespace].append(rule_file)
    return AlertRules.lookup(lambda ns: by_namespace.get(ns, []), namespace)


def with_namespace(doc: Document) -> dict[str, Any]:
    """Objects without a namespace land in `default`, as `kubectl apply` would put them."""
    obj = dict(doc.obj)
    meta = dict(obj.get("metadata") or {})
    meta.setdefault("namespace", doc.namespace)
    obj["metadata"] = meta
    return obj
