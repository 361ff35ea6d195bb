"""OpenReports: one Report per AgentDeployment, on the full cluster with the real Report CRD.

The CRD is OpenReports' own (`config/crd/openreports.io_reports.yaml` of the Go module
github.com/openreports/reports-api, pinned in scripts/versions.env), served by a real
kube-apiserver, with the real kube-controller-manager's garbage collector; the operator is the
real `golive run` process. The module runs its own cluster: the CRD is installed and removed
here while the operator runs. Tests run in file order:

1. no CRD: agents are decided, nothing is written, nothing fails;
2. the CRD installed while the operator runs: every agent gets its Report, without a restart,
   with a result per policy of the library, as the API server stores it (nothing pruned);
3. a verdict change is one write; a re-decision that changes no result is none, and neither is
   a restart of the operator;
4. a deleted Report is written again; a deleted agent's Report goes with it;
5. the CRD removed: the operator goes on deciding, no error.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from controller.engine.bundle import load_library
from kit.cluster import Cluster
from kit.controlplane import ControlPlane, running_with_crds
from kit.openreports import install_report_crd, uninstall_report_crd
from kit.operator import OperatorProcess
from tests.e2e.agents import apply, contract, get, wait_admitted, wait_for

AGENT = "invoice-triage"
OWNER = "golive.ownership.single_owner"
POLICIES = load_library((), safe_library=True).policies  # what the operator loads (no flags)


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # Its own full cluster: the Report CRD comes and goes here, unseen by other modules; the
    # garbage collector takes a Report with its agent.
    with running_with_crds(Cluster(tmp_path_factory.mktemp("openreports-cluster"))) as cp:
        yield cp


@pytest.fixture(scope="module")
def operator(plane: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    op = OperatorProcess(plane, tmp_path_factory.mktemp("openreports-op"))
    try:
        yield op.start()
    finally:
        op.stop()


_counter = iter(range(1000))


def new_namespace(plane: ControlPlane, base: str) -> str:
    name = f"{base}-{next(_counter)}"
    plane.kubectl("create", "namespace", name)
    return name


def agent(namespace: str, owner: str = "Dana Ruiz") -> dict[str, Any]:
    from tests.e2e.agents import agent as example

    obj = example(namespace)
    obj["spec"]["owner"]["name"] = owner
    return obj


def metric(op: OperatorProcess, name: str, having: str = "") -> float:
    """The sum of a metric's series (those whose labels contain `having`)."""
    series = re.findall(rf"^{name}(\{{[^}}]*\}})?\s+(\S+)$", op.metrics(), re.MULTILINE)
    return sum(float(value) for labels, value in series if having in labels)


def report_writes(op: OperatorProcess) -> int:
    return int(metric(op, "golive_report_writes_total"))


def report_of(plane: ControlPlane, namespace: str) -> dict[str, Any] | None:
    obj = get(plane, "agd", namespace, AGENT)
    assert obj is not None
    return get(plane, "reports.openreports.io", namespace, f"golive-{obj['metadata']['uid']}")


def wait_report(plane: ControlPlane, namespace: str, check: Any, what: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        report = report_of(plane, namespace)
        return report if report is not None and check(report) else None

    return dict(wait_for(found, 60, what))


def results(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["policy"]: r for r in report["results"]}


def settle(op: OperatorProcess, seconds: float = 3.0) -> None:
    """Until the queue is empty and stays so for a moment (stragglers would show)."""
    wait_for(lambda: metric(op, "golive_workqueue_depth") == 0, 60, "an empty work queue")
    time.sleep(seconds)


# --- 1. no CRD -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ns(plane: Cluster, operator: OperatorProcess) -> str:
    """An agent admitted before the Report CRD exists."""
    namespace = new_namespace(plane, "reports")
    apply(plane, contract(namespace), agent(namespace))
    wait_admitted(plane, namespace, AGENT, "True", timeout=60)
    return namespace


def test_without_the_crd_nothing_is_written_and_nothing_fails(
    plane: Cluster, operator: OperatorProcess, ns: str
) -> None:
    settle(operator, 1.0)
    assert report_writes(operator) == 0
    assert "OpenReports CRD not found: no Reports are written" in operator.log()
    assert metric(operator, "golive_reconcile_errors_total") == 0
    assert "Traceback" not in operator.log()
    proc = plane.kubectl("get", "reports.openreports.io", "-A", check=False)
    assert proc.returncode != 0 and "the server doesn't have a resource type" in proc.stderr


# --- 2. the CRD installed later ------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(plane: Cluster, ns: str) -> str:
    install_report_crd(plane)
    return ns


def test_crd_installed_later_gives_every_agent_its_report(
    plane: Cluster, operator: OperatorProcess, installed: str
) -> None:
    report = wait_report(plane, installed, lambda r: True, "the agent's Report")
    agd = get(plane, "agd", installed, AGENT)
    assert agd is not None
    meta = report["metadata"]
    assert meta["labels"] == {"app.kubernetes.io/managed-by": "golive", "golive.dev/agent": AGENT}
    (owner,) = meta["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "AgentDeployment", AGENT, agd["metadata"]["uid"],
    )  # fmt: skip
    assert report["scope"] == {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "name": AGENT,
        "namespace": installed,
        "uid": agd["metadata"]["uid"],
    }
    assert report["source"] == "golive"
    # A result per policy of the library, passes included, as stored (a field the CRD's
    # structural schema did not know would have been pruned).
    assert sorted(results(report)) == sorted(POLICIES)
    digest = agd["status"]["policy"]["digest"]
    for policy, result in results(report).items():
        info = POLICIES[policy]
        assert result["source"] == "golive"
        assert result["severity"] == info.severity
        assert result["category"] == info.checklist
        assert set(result["timestamp"]) == {"seconds", "nanos"}
        props = result["properties"]
        assert props["digest"] == digest and props["generation"] == "1"
        assert props["enforcement"] in {"deny", "warn", "dryrun", "excepted", "skipped"}
        assert result["message"]
    statuses = {v["policy"]: v for v in agd["status"]["violations"]}
    for policy, result in results(report).items():
        expected = {
            None: "pass", "deny": "fail", "dryrun": "fail", "warn": "warn",
            "excepted": "skip", "skipped": "skip",
        }[statuses[policy]["enforcement"] if policy in statuses else None]  # fmt: skip
        assert result["result"] == expected, policy
    # No PrometheusRule CRD in this cluster: the alert check could not run, said as a skip.
    assert results(report)["golive.observability.alerts_exist"]["result"] == "skip"
    counts = {k: sum(1 for r in report["results"] if r["result"] == k)
              for k in ("pass", "fail", "warn", "error", "skip")}  # fmt: skip
    assert report["summary"] == counts and counts["pass"] > 0
    listed = plane.kubectl("get", "reports", "-n", installed).stdout
    assert f"golive-{agd['metadata']['uid']}" in listed


# --- 3. one write per verdict change -------------------------------------------------------------


def test_a_verdict_change_is_one_write_and_no_change_none(
    plane: Cluster, operator: OperatorProcess, installed: str
) -> None:
    wait_report(plane, installed, lambda r: True, "the agent's Report")
    settle(operator)
    before = report_writes(operator)
    stored = report_of(plane, installed)
    assert stored is not None

    # Decided again with nothing changed (a namespace label is policy input): no write.
    plane.kubectl("label", "namespace", installed, "touched=1")
    settle(operator)
    assert report_writes(operator) == before
    again = report_of(plane, installed)
    assert again is not None
    assert again["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]

    # The owner becomes a team alias: single_owner fails, one write.
    apply(plane, agent(installed, owner="Support Team"))
    blocked = wait_report(
        plane, installed, lambda r: results(r)[OWNER]["result"] == "fail", "single_owner fail"
    )
    settle(operator)
    assert report_writes(operator) == before + 1
    owner = results(blocked)[OWNER]
    assert owner["properties"]["field"].startswith("spec.owner")
    assert owner["properties"]["enforcement"] == "deny"
    assert owner["properties"]["generation"] == "2"
    assert blocked["summary"]["fail"] >= 1

    # And back: one more.
    apply(plane, agent(installed))
    wait_report(plane, installed, lambda r: results(r)[OWNER]["result"] == "pass", "pass again")
    settle(operator)
    assert report_writes(operator) == before + 2


def test_a_restart_rewrites_no_report(
    plane: Cluster, operator: OperatorProcess, installed: str
) -> None:
    settle(operator)
    stored = report_of(plane, installed)
    assert stored is not None
    operator.stop()
    operator.start()
    wait_for(
        lambda: metric(operator, "golive_decisions_total", 'source="reconcile"'),
        60,
        "the restarted operator deciding",
    )
    settle(operator)
    assert report_writes(operator) == 0
    after = report_of(plane, installed)
    assert after is not None
    assert after["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


# --- 4. deleted Reports, deleted agents ----------------------------------------------------------


def test_a_deleted_report_is_written_again(
    plane: Cluster, operator: OperatorProcess, installed: str
) -> None:
    stored = report_of(plane, installed)
    assert stored is not None
    plane.kubectl("delete", "reports.openreports.io", "-n", installed, stored["metadata"]["name"])
    back = wait_report(
        plane, installed, lambda r: r["metadata"]["uid"] != stored["metadata"]["uid"], "again"
    )
    assert back["results"] and back["summary"] == stored["summary"]


def test_a_report_goes_with_its_agent(
    plane: Cluster, operator: OperatorProcess, installed: str
) -> None:
    namespace = new_namespace(plane, "gone")
    apply(plane, contract(namespace), agent(namespace))
    report = wait_report(plane, namespace, lambda r: True, "the new agent's Report")
    plane.kubectl("delete", "agd", "-n", namespace, AGENT)
    name = report["metadata"]["name"]
    wait_for(
        lambda: get(plane, "reports.openreports.io", namespace, name) is None,
        60,
        "the garbage collector deleting the Report",
    )


# --- 5. the CRD removed --------------------------------------------------------------------------


def test_crd_removed_the_operator_goes_on_without_error(
    plane: Cluster, operator: OperatorProcess, installed: str
) -> None:
    uninstall_report_crd(plane)
    settle(operator, 1.0)
    writes = report_writes(operator)
    apply(plane, agent(installed, owner="Support Team"))
    obj = wait_admitted(plane, installed, AGENT, "False", timeout=60)
    assert obj["status"]["violations"]
    settle(operator, 1.0)
    assert report_writes(operator) == writes
    assert metric(operator, "golive_reconcile_errors_total") == 0
    assert "Traceback" not in operator.log()
    assert json.loads(plane.kubectl("get", "agd", "-n", installed, "-o", "json").stdout)["items"]
