"""The operator's Reports (controller/operator/reports.py) through the reconcile gate, with a
fake engine and a fake Kubernetes; the real API server and CRD are in
tests/e2e/test_openreports_e2e.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from controller.domain.model import read_agent
from controller.domain.report import record_of
from controller.engine.bundle import PolicyBundle
from controller.engine.decision_pipeline import PolicySet
from controller.engine.protocol import EngineUnavailable
from controller.operator.cache import ClusterState
from controller.operator.policies import PolicyManager
from controller.operator.reconciler import NotLeading, Reconciler
from controller.operator.reports import ReportWriter
from tests.unit.fake_engine import FakeEngine
from tests.unit.test_reconciler import DENY, KEY, POLICY, FakeKube, agent, info

DIGEST = "sha256:" + "0" * 64


class ReportKube(FakeKube):
    def __init__(self, error: ApiException | None = None) -> None:
        super().__init__()
        self.reports: list[dict[str, Any]] = []
        self.error = error

    def apply_report(self, body: dict[str, Any]) -> None:
        if self.error is not None:
            raise self.error
        self.reports.append(body)


def make(
    engine: FakeEngine, kube: ReportKube | None = None, served: bool = True
) -> tuple[Reconciler, ReportKube, ClusterState]:
    state = ClusterState()
    kube = kube or ReportKube()
    policies = PolicyManager("fake", namespace="golive-system")
    policies.current = PolicySet(engine, PolicyBundle({}, {POLICY: info()}, DIGEST))
    reconciler = Reconciler(state, policies, kube)  # type: ignore[arg-type]
    reconciler.reports.set_served(served)
    state.agents[KEY] = read_agent(agent())
    return reconciler, kube, state


def run(reconciler: Reconciler) -> None:
    async def go() -> None:
        await reconciler.reconcile(KEY)
        for timer in reconciler.queue._timers.values():
            timer.cancel()

    asyncio.run(go())


def test_a_report_is_written_once_per_change_of_result() -> None:
    engine = FakeEngine(digest=DIGEST)
    reconciler, kube, _ = make(engine)
    run(reconciler)
    (first,) = kube.reports
    assert first["metadata"]["name"] == "golive-u1"
    assert [r["result"] for r in first["results"]] == ["pass"]
    run(reconciler)  # the same decision again: nothing to write
    assert len(kube.reports) == 1
    engine.violations = [DENY]
    reconciler.enqueue_all()  # what a policy reload does: nothing decided before is reused
    run(reconciler)
    assert [r["result"] for r in kube.reports[-1]["results"]] == ["fail"]
    assert len(kube.reports) == 2


def test_nothing_is_written_without_the_crd() -> None:
    reconciler, kube, _ = make(FakeEngine(digest=DIGEST), served=False)
    run(reconciler)
    assert kube.reports == [] and len(kube.statuses) == 1


def test_an_unknown_decision_leaves_the_report_alone() -> None:
    reconciler, kube, _ = make(FakeEngine(error=EngineUnavailable("down"), digest=DIGEST))
    run(reconciler)
    assert kube.reports == []


def test_a_decision_under_a_replaced_library_writes_nothing() -> None:
    # The engine decided under another digest than the bundle loaded now: the reload
    # decides every agent again, under the new METADATA.
    reconciler, kube, _ = make(FakeEngine(digest="sha256:" + "1" * 64))
    run(reconciler)
    assert kube.reports == []


def test_a_refused_or_missing_report_fails_nothing_and_is_tried_again() -> None:
    for status in (403, 404):
        reconciler, kube, _ = make(
            FakeEngine(digest=DIGEST), ReportKube(ApiException(status=status, reason="x"))
        )
        run(reconciler)
        assert reconciler.reports.records == {}  # tried again on the next decision
        assert len(kube.statuses) == 1 and not reconciler.queue._timers


def test_another_api_error_is_retried_like_any_reconcile_error() -> None:
    reconciler, _, _ = make(
        FakeEngine(digest=DIGEST), ReportKube(ApiException(status=500, reason="boom"))
    )

    async def go() -> None:
        await reconciler.reconcile(KEY)
        assert reconciler.queue._timers  # a retry is scheduled
        for timer in reconciler.queue._timers.values():
            timer.cancel()

    asyncio.run(go())
    assert reconciler.reports.records == {}


def test_a_follower_writes_no_report() -> None:
    reconciler, kube, state = make(FakeEngine(digest=DIGEST))
    calls = iter([True, False])  # leads for the status write, not for the Report
    reconciler.leading = lambda: next(calls, False)
    state.deployments[KEY] = {"metadata": {"annotations": {"golive.dev/admitted-generation": "1"}}}
    run(reconciler)
    assert kube.reports == [] and len(kube.statuses) == 1
    assert reconciler.reports.records == {}
    with pytest.raises(NotLeading):
        reconciler._fence()


def test_records_from_the_list_at_start_spare_a_restart_every_write() -> None:
    reconciler, kube, _ = make(FakeEngine(digest=DIGEST))
    run(reconciler)
    (written,) = kube.reports
    restarted, kube2, _ = make(FakeEngine(digest=DIGEST))
    restarted.reports.prime([{**written, "metadata": {**written["metadata"], "uid": "r"}}])
    run(restarted)
    assert kube2.reports == []


def test_watch_events_record_echoes_and_a_deleted_report_is_written_again() -> None:
    writer = ReportWriter(ReportKube())  # type: ignore[arg-type]
    writer.set_served(True)
    current = read_agent(agent())
    report = {
        "metadata": {"name": "golive-u1", "namespace": "ns"},
        "scope": {"apiVersion": "golive.dev/v1alpha1", "kind": "AgentDeployment", "name": "bot"},
        "results": [],
    }
    writer.seen(report, current)
    assert writer.records[KEY] == record_of(report)
    old = {**report, "metadata": {"name": "golive-u0", "namespace": "ns"}}
    writer.seen(old, current)  # an earlier agent's Report, waiting for garbage collection
    assert writer.records[KEY].name == "golive-u1"
    assert writer.deleted(old) is None
    assert writer.deleted(report) == KEY and KEY not in writer.records
    assert writer.set_served(False) and not writer.set_served(False)
