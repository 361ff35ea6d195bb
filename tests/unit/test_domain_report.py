"""The OpenReports Report of an agent (controller/domain/report.py): pure building and records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

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
from controller.domain.model import parse_agent_exception, read_agent
from controller.domain.policy_metadata import PolicyInfo
from controller.domain.report import (
    MAX_MESSAGE,
    build_report,
    record_of,
    report_agent,
    report_changed,
    report_name,
)

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32
OWNER = "golive.ownership.single_owner"
BUDGET = "golive.economics.budget_at_scale"
IMAGE = "golive.release.pinned_image"
ALERTS = "golive.observability.alerts_exist"


def info(policy: str, enforcement: str, severity: str, checklist: str) -> PolicyInfo:
    title = f"title of {policy}"
    return PolicyInfo(policy, title, "", enforcement, severity, checklist, policy, "m.rego")  # type: ignore[arg-type]


POLICIES = {
    OWNER: info(OWNER, "deny", "high", "owner"),
    BUDGET: info(BUDGET, "deny", "high", "budget"),
    IMAGE: info(IMAGE, "warn", "low", "release"),
    ALERTS: info(ALERTS, "deny", "medium", "monitoring"),
}


def agent(name: str = "bot", uid: str | None = "u-1", generation: int = 3) -> Any:
    meta: dict[str, Any] = {"name": name, "namespace": "agents", "generation": generation}
    if uid:
        meta["uid"] = uid
    return read_agent({"apiVersion": "golive.dev/v1alpha1", "kind": "AgentDeployment",
                       "metadata": meta, "spec": {}})  # fmt: skip


def decision(*raw: RawViolation, exceptions: tuple[Any, ...] = ()) -> Decision:
    return decide(raw, POLICIES, exceptions, "embedded", DIGEST)


def by_policy(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["policy"]: r for r in report["results"]}


def test_one_result_per_policy_passes_included_with_kyvernos_shape() -> None:
    report = build_report(agent(), decision(), POLICIES, None, NOW)
    assert report is not None
    assert report["apiVersion"] == "openreports.io/v1alpha1" and report["kind"] == "Report"
    assert report["metadata"]["name"] == "golive-u-1" == report_name(agent())
    assert report["metadata"]["namespace"] == "agents"
    assert report["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "golive",
        "golive.dev/agent": "bot",
    }
    (owner,) = report["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "AgentDeployment", "bot", "u-1", True,
    )  # fmt: skip
    assert report["scope"] == {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "name": "bot",
        "namespace": "agents",
        "uid": "u-1",
    }
    assert report["source"] == "golive"
    assert [r["policy"] for r in report["results"]] == sorted(POLICIES)
    owner_result = by_policy(report)[OWNER]
    assert owner_result == {
        "source": "golive",
        "policy": OWNER,
        "result": "pass",
        "severity": "high",
        "category": "owner",
        "message": f"title of {OWNER}",
        "properties": {"enforcement": "deny", "generation": "3", "digest": DIGEST},
        "timestamp": {"seconds": int(NOW.timestamp()), "nanos": 0},
    }
    assert report["summary"] == {"pass": 4, "fail": 0, "warn": 0, "error": 0, "skip": 0}


def test_enforcements_map_to_results_and_the_summary_counts_them() -> None:
    policies = {**POLICIES, "golive.x.trial": info("golive.x.trial", "dryrun", "medium", "")}
    made = decide(
        [
            RawViolation(OWNER, "spec.owner.name", "a team alias"),
            RawViolation(IMAGE, "spec.template.spec.containers[0].image", "tag latest"),
            RawViolation("golive.x.trial", "spec.replicas", "trial rule"),
        ],
        policies,
        (),
        "embedded",
        DIGEST,
    )
    report = build_report(agent(), made, policies, None, NOW)
    assert report is not None
    results = by_policy(report)
    assert results[OWNER]["result"] == "fail"
    assert results[OWNER]["message"] == "a team alias"
    assert results[OWNER]["properties"]["field"] == "spec.owner.name"
    assert results[IMAGE]["result"] == "warn"
    assert results[IMAGE]["properties"]["enforcement"] == "warn"
    # dryrun: like Kyverno's Audit mode, a failure that blocks nothing.
    assert results["golive.x.trial"]["result"] == "fail"
    assert results["golive.x.trial"]["properties"]["enforcement"] == "dryrun"
    assert "category" not in results["golive.x.trial"]  # no checklist item, no category
    assert report["summary"] == {"pass": 2, "fail": 2, "warn": 1, "error": 0, "skip": 0}


def test_excepted_and_skipped_findings_are_skip_results() -> None:
    waiver = parse_agent_exception({
        "apiVersion": "golive.dev/v1alpha1", "kind": "AgentException",
        "metadata": {"name": "x", "namespace": "agents"},
        "spec": {"targets": ["bot"], "policies": [BUDGET], "reason": "load test",
                 "approver": {"name": "Sam Ortiz", "email": "sam@example.com"},
                 "expiresAt": "2026-12-01T00:00:00Z"},
    })  # fmt: skip
    made = decision(RawViolation(BUDGET, "spec.budget.monthlyLimit", "over"), exceptions=(waiver,))
    made = with_skipped(made, [Violation(ALERTS, "spec.monitoring.alerts", "no CRD", "skipped")])
    report = build_report(agent(), made, POLICIES, None, NOW)
    assert report is not None
    results = by_policy(report)
    assert (results[BUDGET]["result"], results[BUDGET]["properties"]["enforcement"]) == (
        "skip", "excepted",
    )  # fmt: skip
    assert (results[ALERTS]["result"], results[ALERTS]["message"]) == ("skip", "no CRD")
    assert report["summary"]["skip"] == 2


def test_several_findings_of_one_policy_are_one_bounded_result() -> None:
    long = "x" * 800
    made = decision(
        RawViolation(OWNER, "spec.owner.name", long + "1"),
        RawViolation(OWNER, "spec.owner.email", long + "2"),
    )
    report = build_report(agent(), made, POLICIES, None, NOW)
    assert report is not None
    result = by_policy(report)[OWNER]
    assert len(report["results"]) == len(POLICIES)
    assert len(result["message"]) == MAX_MESSAGE and result["message"].endswith("…")
    assert result["properties"]["field"] == "spec.owner.email, spec.owner.name"
    assert result["properties"]["findings"] == "2"


def test_a_finding_of_a_policy_without_metadata_is_reported_as_fail() -> None:
    made = decide([RawViolation("golive.x.bare", "spec", "m")], POLICIES, (), "embedded", DIGEST)
    report = build_report(agent(), made, POLICIES, None, NOW)
    assert report is not None
    assert by_policy(report)["golive.x.bare"]["result"] == "fail"


def test_no_report_for_an_unknown_decision_or_an_agent_without_uid() -> None:
    undecided = unknown(Reason.ENGINE_UNAVAILABLE, "opa down", "remote", DIGEST)
    assert undecided.result is Result.UNKNOWN
    assert build_report(agent(), undecided, POLICIES, None, NOW) is None
    assert build_report(agent(uid=None), decision(), POLICIES, None, NOW) is None


def test_a_long_agent_name_gets_no_label_but_its_report() -> None:
    name = "a" * 70
    report = build_report(agent(name=name), decision(), POLICIES, None, NOW)
    assert report is not None
    assert "golive.dev/agent" not in report["metadata"]["labels"]
    assert report["scope"]["name"] == name


def test_unchanged_results_keep_their_timestamps_and_need_no_write() -> None:
    first = build_report(agent(), decision(), POLICIES, None, NOW)
    assert first is not None
    record = record_of(first)
    later = NOW + timedelta(hours=1)
    again = build_report(agent(), decision(), POLICIES, record, later)
    assert again == first
    assert not report_changed(record, again)
    # The record of what the API server returns (same content, more metadata) is the same.
    served = json.loads(json.dumps(first))
    served["metadata"].update(resourceVersion="7", uid="r-1", creationTimestamp="x")
    served["metadata"]["labels"]["someone.else/label"] = "v"
    assert record_of(served) == record


def test_a_changed_result_moves_only_its_timestamp() -> None:
    first = build_report(agent(), decision(), POLICIES, None, NOW)
    assert first is not None
    later = NOW + timedelta(hours=1)
    blocked = decision(RawViolation(OWNER, "spec.owner.name", "a team alias"))
    second = build_report(agent(), blocked, POLICIES, record_of(first), later)
    assert second is not None
    assert report_changed(record_of(first), second)
    stamps = {r["policy"]: r["timestamp"]["seconds"] for r in second["results"]}
    assert stamps[OWNER] == int(later.timestamp())
    assert {p for p, s in stamps.items() if s == int(NOW.timestamp())} == set(POLICIES) - {OWNER}


def test_a_new_generation_or_policy_digest_is_a_change() -> None:
    first = build_report(agent(generation=3), decision(), POLICIES, None, NOW)
    assert first is not None
    record = record_of(first)
    newer = build_report(agent(generation=4), decision(), POLICIES, record, NOW)
    assert newer is not None and report_changed(record, newer)
    assert by_policy(newer)[OWNER]["properties"]["generation"] == "4"
    other = decide([], POLICIES, (), "embedded", "sha256:" + "cd" * 32)
    reloaded = build_report(agent(generation=3), other, POLICIES, record, NOW)
    assert reloaded is not None and report_changed(record, reloaded)


def test_a_record_of_another_agent_of_the_same_name_lends_no_timestamps() -> None:
    first = build_report(agent(uid="old"), decision(), POLICIES, None, NOW)
    assert first is not None
    later = NOW + timedelta(hours=1)
    new = build_report(agent(uid="new"), decision(), POLICIES, record_of(first), later)
    assert new is not None and new["metadata"]["name"] == "golive-new"
    assert {r["timestamp"]["seconds"] for r in new["results"]} == {int(later.timestamp())}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"apiVersion": "golive.dev/v1alpha1", "kind": "AgentDeployment", "name": "bot"},
         ("agents", "bot")),
        ({"apiVersion": "apps/v1", "kind": "Deployment", "name": "bot"}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_report_agent_reads_the_scope(scope: dict[str, str], expected: Any) -> None:
    report = {"metadata": {"name": "r", "namespace": "agents"}, "scope": scope}
    assert report_agent(report) == expected


def test_a_report_is_bounded_whatever_the_findings_say() -> None:
    # 30 policies (the library's size), each with many long findings on long fields: every
    # result is cut, so the Report stays near 2 KB a policy, far below etcd's 1.5 MiB.
    policies = {
        f"golive.x.p{i}": info(f"golive.x.p{i}", "deny", "high", "owner") for i in range(30)
    }
    raw = [
        RawViolation(policy, f"spec.{'f' * 200}[{j}]", "m" * 5000 + str(j))
        for policy in policies
        for j in range(20)
    ]
    made = decide(raw, policies, (), "embedded", DIGEST)
    report = build_report(agent(), made, policies, None, NOW)
    assert report is not None
    size = len(json.dumps(report))
    assert size < 30 * 2200, size
    assert all(len(r["message"]) == MAX_MESSAGE for r in report["results"])
