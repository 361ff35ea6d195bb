"""Alert rules: reading PrometheusRules (bad input named by field), resolving an agent's alerts,
the visible skip, and the operator's and the CLI's sources of rules."""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from controller.check.run import check
from controller.cli import app
from controller.domain.alert_rules import (
    ALERTS_POLICY,
    AlertResolution,
    AlertRules,
    RuleFile,
    read_prometheus_rule,
    resolve_alert_rules,
    skipped_finding,
)
from controller.domain.decision import (
    Decision,
    RawViolation,
    Reason,
    Result,
    Violation,
    decide,
    unknown,
    with_skipped,
)
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext
from controller.engine.decision_pipeline import PolicySet, decide_agent
from controller.engine.factory import policy_set_from_library
from controller.operator.cache import ClusterState
from controller.operator.handlers import crd_event, prometheus_rule_event
from controller.operator.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "invoice-triage.yaml"
ALERTS = ["InvoiceTriageErrorRate", "InvoiceTriageLatencyP99"]
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


def prometheus_rule(
    rules: list[Any] | None = None, name: str = "agent-alerts", namespace: str = "agents"
) -> dict[str, Any]:
    rules = rules if rules is not None else [{"alert": a, "expr": "up == 0"} for a in ALERTS]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"groups": [{"name": "invoice-triage", "rules": rules}]},
    }


# --- reading PrometheusRules ---------------------------------------------------------------------


def test_a_valid_rule_gives_its_alerting_rules_and_not_its_recording_rules() -> None:
    body = prometheus_rule(
        [
            {"record": "job:errors:rate5m", "expr": "sum(rate(errors_total[5m]))"},
            {"alert": "InvoiceTriageErrorRate", "expr": "job:errors:rate5m > 1", "for": "5m",
             "labels": {"severity": "page"}, "annotations": {"summary": "errors"}},
            {"alert": "InvoiceTriageLatencyP99", "expr": 1},  # int-or-string, as in the CRD
        ]
    )  # fmt: skip
    read = read_prometheus_rule(body)
    assert read.error is None
    assert (read.namespace, read.name) == ("agents", "agent-alerts")
    assert read.alert_names == frozenset(ALERTS)
    assert {r.group for r in read.alerts} == {"invoice-triage"}


def test_empty_groups_and_rules_are_valid_and_define_nothing() -> None:
    for spec in ({}, {"groups": []}, {"groups": [{"name": "g"}]}):
        body = {**prometheus_rule(), "spec": spec}
        read = read_prometheus_rule(body)
        assert read.error is None and read.alerts == ()


def _mutated(change: Any) -> dict[str, Any]:
    body = prometheus_rule()
    change(body)
    return body


def _set(path: list[Any], value: Any) -> Any:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _drop(path: list[Any]) -> Any:
    def change(body: dict[str, Any]) -> None:
        node: Any = body
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return change


GROUP0 = ["spec", "groups", 0]
RULE0 = [*GROUP0, "rules", 0]
EXPECTED_RULE = "spec.groups[0].rules[0]: expected"
NOT_EMPTY = "expected a non-empty string, found"


def _duplicate_group(body: dict[str, Any]) -> None:
    body["spec"]["groups"].append({"name": "invoice-triage", "rules": []})


MALFORMED = [
    (_set(["spec", "groups"], {"name": "g"}), "spec.groups: expected an array of rule groups"),
    (_set(["spec", "groups"], "g"), 'spec.groups: expected an array of rule groups, found "g"'),
    (_set(GROUP0, ["x"]), "spec.groups[0]: expected an object"),
    (_drop([*GROUP0, "name"]), f"spec.groups[0].name: {NOT_EMPTY} nothing"),
    (_set([*GROUP0, "name"], " "), f'spec.groups[0].name: {NOT_EMPTY} " "'),
    (_set([*GROUP0, "rules"], {"alert": "A"}), "spec.groups[0].rules: expected an array"),
    (_set(RULE0, "InvoiceTriageErrorRate"), f"{EXPECTED_RULE} an object"),
    (_set(RULE0, {"expr": "up"}), f"{EXPECTED_RULE} one of alert or record"),
    (
        _set(RULE0, {"alert": "A", "record": "b", "expr": "up"}),
        "spec.groups[0].rules[0].record: expected no record in an alerting rule",
    ),
    (_set(RULE0, {"alert": "", "expr": "up"}), f'spec.groups[0].rules[0].alert: {NOT_EMPTY} ""'),
    (_set(RULE0, {"alert": 7, "expr": "up"}), f"spec.groups[0].rules[0].alert: {NOT_EMPTY} 7"),
    (
        _set(RULE0, {"alert": "A"}),
        "spec.groups[0].rules[0].expr: expected a PromQL expression, found nothing",
    ),
    (
        _set(RULE0, {"alert": "A", "expr": True}),
        "spec.groups[0].rules[0].expr: expected a PromQL expression (a non-empty string)",
    ),
    (
        _set(RULE0, {"alert": "A", "expr": "up", "labels": {"severity": 1}}),
        "spec.groups[0].rules[0].labels.severity: expected a string, found 1",
    ),
    (
        _set(RULE0, {"alert": "A", "expr": "up", "labels": ["page"]}),
        "spec.groups[0].rules[0].labels: expected an object of strings",
    ),
    (
        _set(RULE0, {"record": "r", "expr": "up", "for": "5m"}),
        "spec.groups[0].rules[0].for: expected no for in a recording rule",
    ),
    (
        _set(RULE0, {"record": "r", "expr": "up", "annotations": {"a": "b"}}),
        "spec.groups[0].rules[0].annotations: expected no annotations in a recording rule",
    ),
    (_duplicate_group, "spec.groups[1].name: expected a group name not used twice"),
    (_drop(["spec"]), "spec: expected an object with groups, found nothing"),
    (_set(["spec"], []), "spec: expected an object with groups, found an array"),
    (_set(["kind"], "ServiceMonitor"), "apiVersion/kind: expected monitoring.coreos.com/v1"),
    (_drop(["metadata", "name"]), f"metadata.name: {NOT_EMPTY} nothing"),
]


@pytest.mark.parametrize(("change", "error"), MALFORMED, ids=[e for _, e in MALFORMED])
def test_a_malformed_rule_is_rejected_naming_the_field(change: Any, error: str) -> None:
    read = read_prometheus_rule(_mutated(change))
    assert read.error is not None and read.error.startswith(error), read.error


def test_a_rejected_rule_still_says_which_alerts_it_names() -> None:
    read = read_prometheus_rule(
        prometheus_rule([{"alert": "InvoiceTriageErrorRate", "expr": "up"}, {"expr": "up"}])
    )
    assert read.error == (
        "spec.groups[0].rules[1]: expected one of alert or record (a rule is an alerting or a "
        "recording rule), found nothing (the field is missing)"
    )
    assert read.alert_names == {"InvoiceTriageErrorRate"}


def test_reading_never_raises_on_any_shape() -> None:
    for junk in (None, 1, "x", [], {"groups": [None, 1, [], {"rules": [None]}]}):
        body = {**prometheus_rule(), "spec": junk}
        read = read_prometheus_rule(body)
        assert read.error and read.alerts == ()


# --- resolving an agent's alerts -----------------------------------------------------------------


def spec(alerts: Any = ALERTS) -> dict[str, Any]:
    return {"monitoring": {"alerts": alerts}}


def files(*bodies: dict[str, Any]) -> AlertRules:
    read = [read_prometheus_rule(b) for b in bodies]
    return AlertRules.lookup(lambda ns: [r for r in read if r.namespace == ns])


def test_found_alerts_carry_where_they_are_defined() -> None:
    resolved = resolve_alert_rules(spec(), "agents", files(prometheus_rule()))
    block = resolved.to_input()
    assert block["resolution"] == "resolved" and block["namespace"] == "agents"
    assert block["found"] == {
        a: [{"prometheusRule": "agent-alerts", "group": "invoice-triage"}] for a in ALERTS
    }
    assert block["rejected"] == []


def test_only_declared_alerts_are_handed_to_rego() -> None:
    many = prometheus_rule([{"alert": f"Other{i}", "expr": "up"} for i in range(50)])
    block = resolve_alert_rules(spec(), "agents", files(many, prometheus_rule())).to_input()
    assert set(block["found"]) == set(ALERTS)


def test_rules_in_another_namespace_do_not_count_unless_configured() -> None:
    elsewhere = prometheus_rule(namespace="monitoring")
    assert resolve_alert_rules(spec(), "agents", files(elsewhere)).found == {}
    platform = AlertRules.lookup(files(elsewhere).rules_in or (lambda ns: []), "monitoring")
    resolved = resolve_alert_rules(spec(), "agents", platform)
    assert resolved.namespace == "monitoring" and set(resolved.found) == set(ALERTS)


def test_a_rejected_rule_defines_nothing_and_is_named_when_relevant() -> None:
    broken = prometheus_rule(
        [{"alert": "InvoiceTriageErrorRate", "expr": "up"}, {"expr": "up"}], name="broken"
    )
    unrelated = prometheus_rule([{"alert": "Other", "record": "x", "expr": "up"}], name="other")
    unreadable = {**prometheus_rule(name="garbled"), "spec": {"groups": "x"}}
    resolved = resolve_alert_rules(spec(), "agents", files(broken, unrelated, unreadable))
    assert resolved.found == {}
    assert [r.name for r in resolved.rejected] == ["broken", "garbled"]


def test_rejected_rules_named_are_bounded_and_errors_short() -> None:
    long_label = {"alert": "InvoiceTriageErrorRate", "expr": "up", "labels": {"k" * 400: 1}}
    broken = [prometheus_rule([long_label], name=f"broken-{i}") for i in range(10)]
    resolved = resolve_alert_rules(spec(), "agents", files(*broken))
    assert [r.name for r in resolved.rejected] == ["broken-0", "broken-1", "broken-2"]
    assert all(r.error is not None and len(r.error) < 300 for r in resolved.rejected)


def test_deferred_and_unavailable_look_nothing_up() -> None:
    deferred = resolve_alert_rules(spec(), "agents", AlertRules.deferred())
    assert deferred.to_input() == {
        "resolution": "skipped", "namespace": None, "found": {}, "rejected": [], "reason": "",
    }  # fmt: skip
    none = resolve_alert_rules(spec(), "agents", AlertRules.unavailable("no CRD"))
    assert none.resolution is AlertResolution.UNAVAILABLE and none.reason == "no CRD"


def test_the_skip_is_said_only_when_alerts_were_declared_and_nowhere_to_look() -> None:
    none = resolve_alert_rules(spec(), "agents", AlertRules.unavailable("no CRD here"))
    message = skipped_finding(none, spec())
    assert message is not None and message.startswith("not checked: no CRD here; alerts ")
    assert all(f'"{a}"' in message for a in ALERTS)
    assert skipped_finding(none, spec([])) is None
    assert skipped_finding(none, {"monitoring": {"alerts": [" ", 3]}}) is None
    for source in (AlertRules.deferred(), files()):
        assert skipped_finding(resolve_alert_rules(spec(), "agents", source), spec()) is None


# --- the skipped finding in the decision ---------------------------------------------------------

SKIP = Violation(ALERTS_POLICY, "spec.monitoring.alerts", "not checked", "skipped")


def test_skipped_admits_with_findings_and_never_blocks() -> None:
    admitted = decide([], {}, [], "embedded", "d")
    decision = with_skipped(admitted, [SKIP])
    assert decision.result is Result.ADMITTED and decision.reason is Reason.ADMITTED_WITH_FINDINGS
    assert decision.message == "admitted with 1 skipped" and decision.violations == (SKIP,)


def test_skipped_keeps_a_block_a_block() -> None:
    blocked = decide([RawViolation("golive.a.b", "spec.x", "bad")], {}, [], "embedded", "d")
    decision = with_skipped(blocked, [SKIP])
    assert decision.result is Result.BLOCKED and decision.reason is Reason.VIOLATIONS
    assert decision.count("deny") == 1 and decision.count("skipped") == 1
    assert decision.message.startswith("blocked by 1 deny, 1 skipped; first: golive.a.b")


def test_an_undecided_decision_stays_undecided() -> None:
    undecided: Decision = unknown(Reason.ENGINE_UNAVAILABLE, "down", "remote", "")
    assert with_skipped(undecided, [SKIP]) is undecided


# --- decide_agent on the real library (embedded engine) ------------------------------------------


@pytest.fixture(scope="module")
def safe() -> Iterator[PolicySet]:
    policy_set = policy_set_from_library("embedded", [], safe_library=True)
    yield policy_set
    policy_set.engine.close()


def example() -> tuple[dict[str, Any], dict[str, Any]]:
    docs = {d["kind"]: d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d}
    return copy.deepcopy(docs["AgentDeployment"]), docs["AgentContract"]


def decided(policy_set: PolicySet, source: AlertRules, operation: Operation) -> Decision:
    agent, contract = example()
    return decide_agent(
        policy_set,
        read_agent(agent),
        contracts=lambda namespace, name: contract,
        exceptions=[],
        context=PolicyContext(operation, NOW),
        alert_rules=source,
    ).decision


def alert_findings(decision: Decision) -> list[Violation]:
    return [v for v in decision.violations if v.policy == ALERTS_POLICY]


def test_the_library_blocks_on_each_missing_alert(safe: PolicySet) -> None:
    only_first = prometheus_rule([{"alert": ALERTS[0], "expr": "up"}])
    decision = decided(safe, files(only_first), Operation.RECONCILE)
    assert decision.result is Result.BLOCKED
    (missing,) = alert_findings(decision)
    assert (missing.field, missing.enforcement) == ("spec.monitoring.alerts[1]", "deny")
    assert missing.message.startswith(
        f'alert "{ALERTS[1]}" is not defined by any PrometheusRule in namespace "agents"'
    )


def test_the_library_admits_when_every_alert_exists(safe: PolicySet) -> None:
    decision = decided(safe, files(prometheus_rule()), Operation.RECONCILE)
    assert decision.result is Result.ADMITTED and alert_findings(decision) == []


def test_a_malformed_rule_never_admits(safe: PolicySet) -> None:
    broken = prometheus_rule([*({"alert": a, "expr": "up"} for a in ALERTS), {"expr": "up"}])
    decision = decided(safe, files(broken), Operation.RECONCILE)
    assert decision.result is Result.BLOCKED
    assert all("is malformed and defines no alert" in v.message for v in alert_findings(decision))


def test_admission_defers_and_says_nothing(safe: PolicySet) -> None:
    decision = decided(safe, AlertRules.deferred(), Operation.CREATE)
    assert decision.result is Result.ADMITTED and alert_findings(decision) == []


def test_no_crd_is_a_visible_skip(safe: PolicySet) -> None:
    decision = decided(safe, AlertRules.unavailable("no CRD"), Operation.RECONCILE)
    assert decision.result is Result.ADMITTED
    (skipped,) = alert_findings(decision)
    assert skipped.enforcement == "skipped" and skipped.field == "spec.monitoring.alerts"


def test_no_skip_without_the_policy_in_the_library(tmp_path: Path) -> None:
    lib = tmp_path / "policies"
    (lib / "ownership").mkdir(parents=True)
    shutil.copytree(REPO / "policies" / "ownership" / "single_owner", lib / "ownership" / "o")
    shutil.copytree(REPO / "policies" / "lib", lib / "lib")
    text = (lib / "ownership" / "o" / "policy.rego").read_text()
    (lib / "ownership" / "o" / "policy.rego").write_text(
        text.replace("golive.ownership.single_owner", "golive.ownership.o")
    )
    (lib / "ownership" / "o" / "policy_test.rego").unlink()
    own = policy_set_from_library("embedded", [lib], safe_library=False)
    try:
        decision = decided(own, AlertRules.unavailable("no CRD"), Operation.RECONCILE)
        assert alert_findings(decision) == []
    finally:
        own.engine.close()


# --- golive check: rules from the files given ----------------------------------------------------


def write(path: Path, *objects: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump_all(list(objects)))
    return str(path)


def test_check_reads_prometheus_rules_from_manifests_and_context(
    safe: PolicySet, tmp_path: Path
) -> None:
    agent, contract = example()
    manifests = write(tmp_path / "m.yaml", contract, agent)
    rules = write(tmp_path / "r.yaml", prometheus_rule())
    skipped = check([manifests], [], safe, NOW)
    (report,) = skipped.agents
    assert report.result == "admitted"
    assert [f.enforcement for f in report.findings if f.policy == ALERTS_POLICY] == ["skipped"]
    assert "monitoring.coreos.com/v1 PrometheusRule" not in skipped.skipped
    for run in (check([manifests, rules], [], safe, NOW), check([manifests], [rules], safe, NOW)):
        (report,) = run.agents
        assert report.result == "admitted" and run.exit_code == 0
        assert not [f for f in report.findings if f.policy == ALERTS_POLICY]
    partial = write(tmp_path / "p.yaml", prometheus_rule([{"alert": ALERTS[0], "expr": "up"}]))
    (report,) = check([manifests, partial], [], safe, NOW).agents
    assert report.result == "blocked"
    assert [f.field for f in report.findings if f.policy == ALERTS_POLICY] == [
        "spec.monitoring.alerts[1]"
    ]


def test_check_refuses_a_malformed_rule_file_naming_file_line_and_field(
    safe: PolicySet, tmp_path: Path
) -> None:
    agent, contract = example()
    manifests = write(tmp_path / "m.yaml", contract, agent)
    bad = {**prometheus_rule(), "spec": {"groups": {"name": "x"}}}
    rules = write(tmp_path / "r.yaml", prometheus_rule(name="fine"), bad)
    run = check([manifests, rules], [], safe, NOW)
    assert run.exit_code == 2
    (error,) = run.errors
    assert error.source.endswith("r.yaml") and error.line > 1
    assert error.message == (
        "PrometheusRule agent-alerts: spec.groups: expected an array of rule groups, "
        "found an object"
    )
    (report,) = run.agents
    assert report.result == "admitted"  # the other file defines both alerts


def test_check_alert_rules_namespace(safe: PolicySet, tmp_path: Path) -> None:
    agent, contract = example()
    manifests = write(tmp_path / "m.yaml", contract, agent)
    rules = write(tmp_path / "r.yaml", prometheus_rule(namespace="monitoring"))
    (report,) = check([manifests, rules], [], safe, NOW).agents
    assert report.result == "blocked"
    (report,) = check([manifests, rules], [], safe, NOW, alert_rules_namespace="monitoring").agents
    assert report.result == "admitted"


def test_cli_alert_rules_namespace_is_validated(tmp_path: Path) -> None:
    agent, contract = example()
    manifests = write(tmp_path / "m.yaml", contract, agent)
    result = CliRunner().invoke(
        app, ["check", "--alert-rules-namespace", "Not_A_Namespace", manifests]
    )
    assert result.exit_code == 2
    assert "--alert-rules-namespace: expected a namespace name" in result.output
    rules = write(tmp_path / "r.yaml", prometheus_rule(namespace="monitoring"))
    result = CliRunner().invoke(
        app, ["check", "-o", "json", "--alert-rules-namespace", "monitoring", manifests, rules]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["admitted"] == 1


# --- the operator: cache and handlers ----------------------------------------------------------


class FakeQueue:
    def __init__(self) -> None:
        self.keys: set[tuple[str, str]] = set()

    def add(self, key: tuple[str, str], delay: float = 0.0) -> None:
        self.keys.add(key)


class FakeReconciler:
    def __init__(self, namespace: str | None = None) -> None:
        self.queue = FakeQueue()
        self.alert_rules_namespace = namespace


class FakeRuntime(Runtime):
    """The operator's Runtime (the handlers' API) around a reconciler that only queues."""

    def __init__(self, namespace: str | None = None) -> None:
        super().__init__(ClusterState(), None, FakeReconciler(namespace))  # type: ignore[arg-type]


class Memo:
    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime


def queued(rt: FakeRuntime) -> set[tuple[str, str]]:
    return rt.reconciler.queue.keys


def put_agents(rt: FakeRuntime) -> None:
    agent, _ = example()
    for namespace, name, alerts in (("agents", "a", ALERTS), ("agents", "quiet", []),
                                    ("other", "b", ALERTS)):  # fmt: skip
        body = copy.deepcopy(agent)
        body["metadata"] = {"name": name, "namespace": namespace}
        body["spec"]["monitoring"]["alerts"] = alerts
        rt.state.put_agent(body, deleted=False)


def event(body: dict[str, Any], type_: str | None = "ADDED") -> dict[str, Any]:
    return {"type": type_, "object": body}


def test_cache_keeps_rules_read_and_drops_them() -> None:
    state = ClusterState()
    assert state.put_alert_rule(prometheus_rule(), deleted=False) == "agents"
    (read,) = state.rules_in("agents")
    assert isinstance(read, RuleFile) and read.alert_names == frozenset(ALERTS)
    state.put_alert_rule(prometheus_rule(), deleted=True)
    assert state.rules_in("agents") == [] and "agents" not in state.alert_rules


def test_a_rule_event_queues_the_agents_of_its_namespace_that_name_alerts() -> None:
    rt = FakeRuntime()
    put_agents(rt)
    asyncio.run(prometheus_rule_event(event(prometheus_rule()), Memo(rt)))  # type: ignore[arg-type]
    assert queued(rt) == {("agents", "a")}


def test_with_a_platform_namespace_only_its_rules_queue_and_they_queue_everyone() -> None:
    rt = FakeRuntime(namespace="monitoring")
    put_agents(rt)
    asyncio.run(prometheus_rule_event(event(prometheus_rule()), Memo(rt)))  # type: ignore[arg-type]
    assert queued(rt) == set()
    body = prometheus_rule(namespace="monitoring")
    asyncio.run(prometheus_rule_event(event(body), Memo(rt)))  # type: ignore[arg-type]
    assert queued(rt) == {("agents", "a"), ("other", "b")}


def crd(established: bool = True, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "prometheusrules.monitoring.coreos.com"}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-25T17:00:00Z"
    status = "True" if established else "False"
    return {"metadata": meta, "status": {"conditions": [{"type": "Established", "status": status}]}}


def test_the_crd_appearing_and_going_flips_availability_and_requeues() -> None:
    rt = FakeRuntime()
    put_agents(rt)
    rt.state.alert_rules_served = False
    memo: Any = Memo(rt)
    asyncio.run(crd_event(event(crd(established=False)), memo))
    assert not rt.state.alert_rules_served and queued(rt) == set()
    asyncio.run(crd_event(event(crd()), memo))
    assert rt.state.alert_rules_served and queued(rt) == {("agents", "a"), ("other", "b")}
    rt.state.put_alert_rule(prometheus_rule(), deleted=False)
    asyncio.run(crd_event(event(crd(deleting=True), "MODIFIED"), memo))
    assert not rt.state.alert_rules_served and rt.state.rules_in("agents") == []
    asyncio.run(crd_event(event(crd()), memo))
    asyncio.run(crd_event(event(crd(), "DELETED"), memo))
    assert not rt.state.alert_rules_served


def test_other_crds_are_ignored() -> None:
    rt = FakeRuntime()
    body = {**crd(), "metadata": {"name": "servicemonitors.monitoring.coreos.com"}}
    asyncio.run(crd_event(event(body, "DELETED"), Memo(rt)))  # type: ignore[arg-type]
    assert rt.state.alert_rules_served


def test_a_rule_event_proves_the_crd_and_requeues_everyone() -> None:
    rt = FakeRuntime()
    put_agents(rt)
    rt.state.alert_rules_served = False
    asyncio.run(prometheus_rule_event(event(prometheus_rule()), Memo(rt)))  # type: ignore[arg-type]
    assert rt.state.alert_rules_served and queued(rt) == {("agents", "a"), ("other", "b")}


def test_a_rule_deleted_with_its_crd_does_not_turn_the_check_back_on() -> None:
    rt = FakeRuntime()
    put_agents(rt)
    rt.state.put_alert_rule(prometheus_rule(), deleted=False)
    memo: Any = Memo(rt)
    asyncio.run(crd_event(event(crd(), "DELETED"), memo))  # the CRD's watch came first
    asyncio.run(prometheus_rule_event(event(prometheus_rule(), "DELETED"), memo))
    assert not rt.state.alert_rules_served
