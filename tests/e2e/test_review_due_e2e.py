"""Reviews that fall due, end to end on the full cluster (controllers, scheduler, KWOK nodes):
the real `golive run` process admits an agent whose review is recent, blocks it by itself at the
moment the review is overdue past its grace period (nobody touches the agent), admits it again
when a new review is recorded; `golive check --at` gives the same verdicts on files; bad review
input is refused with the field named, never admitted.

The clock is the real one: the review is recorded as a moment so that its grace period ends
seconds after the test starts (weekly: due 7 days after the review, blocked 7 `graceDays` later).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kit.cluster import Cluster
from kit.controlplane import REPO
from kit.operator import OperatorProcess, apply_objects, policy_configmaps
from tests.e2e.agents import (
    agent,
    apply,
    condition,
    contract,
    get,
    wait_admitted,
    wait_event,
    wait_for,
)

POLICY_NS = "golive-system"
DUE = "golive.governance.review_due"
REMINDER = "golive.governance.review_reminder"
LEE = {"name": "Lee Park", "email": "lee.park@example.com"}
CADENCE_AND_GRACE = timedelta(days=7 + 7)  # weekly, graceDays: 7 (policies/governance/review_due)


@pytest.fixture(scope="module")
def operator(
    full_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator reading the SAFE library from ConfigMaps, as the chart installs it."""
    full_cluster.kubectl("create", "namespace", POLICY_NS, check=False)
    apply_objects(full_cluster, policy_configmaps(REPO / "policies", POLICY_NS))
    op = OperatorProcess(
        full_cluster,
        tmp_path_factory.mktemp("operator"),
        policies=None,
        policy_namespace=POLICY_NS,
    )
    op.start()
    yield op
    op.stop()


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def reviewed(namespace: str, at: str, cadence: str = "weekly") -> dict[str, Any]:
    """The example agent (examples/invoice-triage.yaml) with a review recorded at `at`."""
    obj = agent(namespace)
    obj["spec"]["governance"]["reviewCadence"] = cadence
    obj["spec"]["governance"]["lastReview"] = {"at": at, "by": dict(LEE)}
    return obj


def policies_of(obj: dict[str, Any]) -> dict[str, str]:
    """{policy: enforcement} of the review policies' findings in the agent's status."""
    found = obj["status"].get("violations", [])
    return {v["policy"]: v["enforcement"] for v in found if v["policy"] in (DUE, REMINDER)}


def denied_by(obj: dict[str, Any]) -> set[str]:
    return {v["policy"] for v in obj["status"].get("violations", []) if v["enforcement"] == "deny"}


def golive_check(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", "check", "-o", "json", *args, str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )


def check_verdict(path: Path, at: datetime) -> tuple[str, dict[str, str]]:
    """(result, {policy: enforcement}) of `golive check --at at` for the one agent in path."""
    done = golive_check(path, "--at", stamp(at))
    assert done.returncode in (0, 1), done.stdout + done.stderr
    (report,) = json.loads(done.stdout)["agents"]
    findings = report["findings"]
    return report["result"], {
        f["policy"]: f["enforcement"] for f in findings if f["policy"] in (DUE, REMINDER)
    }


def test_an_overdue_review_blocks_the_agent_by_itself_and_a_new_review_admits_it(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, tmp_path: Path
) -> None:
    namespace = full_namespace
    blocked_from = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
    last_review = blocked_from - CADENCE_AND_GRACE
    obj = reviewed(namespace, stamp(last_review))
    apply(full_cluster, contract(namespace), obj)

    # Admitted, with the reminder (the review is already due, within its grace period)...
    admitted = wait_admitted(full_cluster, namespace, "invoice-triage", "True", timeout=40)
    assert admitted["status"]["review"] == {
        "lastReviewed": stamp(last_review),
        "cadence": "weekly",
        "nextDue": stamp(last_review + timedelta(days=7)),
        "blockedFrom": stamp(blocked_from),
    }
    assert policies_of(admitted) == {REMINDER: "warn"}
    # ...and it runs: the real controllers roll the Deployment out on a KWOK node.
    wait_for(
        lambda: (
            condition(get(full_cluster, "agd", namespace, "invoice-triage"), "Ready").get("status")
            == "True"
        ),
        timeout=60,
        what="the admitted agent to be Ready",
    )
    # The wide column shows the due date.
    wide = full_cluster.kubectl("get", "agd", "invoice-triage", "-n", namespace, "-o", "wide")
    assert "NEXT REVIEW" in wide.stdout and stamp(last_review + timedelta(days=7)) in wide.stdout

    # Nobody touches it: at blockedFrom the operator decides again and blocks it.
    blocked = wait_admitted(full_cluster, namespace, "invoice-triage", "False", timeout=60)
    assert blocked["metadata"]["generation"] == admitted["metadata"]["generation"] == 1
    decided_at = parse(blocked["status"]["policy"]["decidedAt"])
    lag = (decided_at - blocked_from).total_seconds()
    assert 0 <= lag <= 3, f"re-decided {lag}s after the grace period ended, not at that moment"
    assert policies_of(blocked) == {DUE: "deny", REMINDER: "warn"}
    assert denied_by(blocked) == {DUE}
    (overdue,) = [v for v in blocked["status"]["violations"] if v["policy"] == DUE]
    assert overdue["field"] == "spec.governance.lastReview.at"
    assert f"overdue past the 7-day grace period since {stamp(blocked_from)}" in overdue["message"]
    admitted_condition = condition(blocked, "Admitted")
    assert admitted_condition["reason"] == "Blocked"
    assert "golive.governance.review_due" in admitted_condition["message"]
    # Blocking stops new rollouts; the admitted generation keeps running.
    assert blocked["status"]["admittedGeneration"] == 1
    assert get(full_cluster, "deployment", namespace, "invoice-triage") is not None
    wait_event(full_cluster, namespace, "Blocked", "review_due")

    # `golive check --at` gives the same verdicts on the same objects, to the second.
    manifest = tmp_path / "agent.yaml"
    manifest.write_text(yaml.safe_dump_all([contract(namespace), obj]))
    assert check_verdict(manifest, blocked_from - timedelta(seconds=1)) == (
        "admitted",
        {REMINDER: "warn"},
    )
    result, found = check_verdict(manifest, decided_at)
    assert (result, found) == ("blocked", {DUE: "deny", REMINDER: "warn"})

    # A new review is recorded: admitted again, generation 2 rolls out.
    recorded = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    full_cluster.kubectl(
        "patch",
        "agd",
        "invoice-triage",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"governance": {"lastReview": {"at": stamp(recorded)}}}}),
    )
    again = wait_admitted(full_cluster, namespace, "invoice-triage", "True", generation=2)
    assert policies_of(again) == {}
    assert again["status"]["review"]["nextDue"] == stamp(recorded + timedelta(days=7))
    assert again["status"]["admittedGeneration"] == 2


def test_a_review_dated_in_the_future_is_denied_until_that_moment(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str
) -> None:
    namespace = full_namespace
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)
    apply(full_cluster, contract(namespace), reviewed(namespace, stamp(at)))
    blocked = wait_admitted(full_cluster, namespace, "invoice-triage", "False", timeout=40)
    (future,) = [v for v in blocked["status"]["violations"] if v["policy"] == DUE]
    assert future["field"] == "spec.governance.lastReview.at"
    assert future["message"] == (
        f'lastReview date "{stamp(at)}" is in the future; '
        "record the date of a review that has taken place"
    )
    assert "review" not in blocked["status"]  # nothing is scheduled from a review not yet held
    assert get(full_cluster, "deployment", namespace, "invoice-triage") is None
    # At that moment the review has taken place: admitted, by the operator's own timer.
    admitted = wait_admitted(full_cluster, namespace, "invoice-triage", "True", timeout=40)
    assert admitted["metadata"]["generation"] == 1
    lag = (parse(admitted["status"]["policy"]["decidedAt"]) - at).total_seconds()
    assert 0 <= lag <= 3, f"re-decided {lag}s after the review date"
    assert admitted["status"]["review"]["lastReviewed"] == stamp(at)
    # and admitted means rolled out: the gate applied the Deployment at that moment.
    deployment = wait_for(
        lambda: get(full_cluster, "deployment", namespace, "invoice-triage"),
        30,
        "the Deployment of the agent admitted by its timer",
    )
    assert deployment["metadata"]["annotations"]["golive.dev/admitted-generation"] == "1"


def test_a_date_that_is_not_one_is_denied_naming_the_field(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, tmp_path: Path
) -> None:
    namespace = full_namespace
    obj = reviewed(namespace, "2026-02-30")  # the CRD's pattern admits it; the calendar does not
    apply(full_cluster, contract(namespace), obj)
    blocked = wait_admitted(full_cluster, namespace, "invoice-triage", "False", timeout=40)
    (bad,) = [v for v in blocked["status"]["violations"] if v["policy"] == DUE]
    assert bad["field"] == "spec.governance.lastReview.at"
    assert bad["message"].startswith(
        'lastReview date "2026-02-30" is not a date; expected YYYY-MM-DD'
    )
    assert get(full_cluster, "deployment", namespace, "invoice-triage") is None
    # The same in CI.
    manifest = tmp_path / "agent.yaml"
    manifest.write_text(yaml.safe_dump_all([contract(namespace), obj]))
    assert check_verdict(manifest, datetime.now(UTC))[1].get(DUE) == "deny"


def test_an_unknown_cadence_or_a_malformed_date_is_refused_by_the_schema(
    full_cluster: Cluster, full_namespace: str, tmp_path: Path
) -> None:
    namespace = full_namespace
    for field, obj in (
        ("spec.governance.reviewCadence", reviewed(namespace, "2026-11-30", cadence="yearly")),
        ("spec.governance.lastReview.at", reviewed(namespace, "30/11/2026")),
    ):
        proc = full_cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=False)
        assert proc.returncode != 0 and field in proc.stderr, proc.stderr
        assert get(full_cluster, "agd", namespace, "invoice-triage") is None
        # `golive check` refuses the file the same way: an input error naming the field (exit 2).
        manifest = tmp_path / "agent.yaml"
        manifest.write_text(yaml.safe_dump_all([contract(namespace), obj]))
        done = golive_check(manifest)
        assert done.returncode == 2, done.stdout + done.stderr
        errors = json.loads(done.stdout)["errors"]
        assert any(field in str(error) for error in errors), errors
