"""The reconcile gate and reviews: status.review is written, and the agent is queued again at
the next review moment (reminder, due date, end of grace), as at an exception's expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.domain.model import read_agent
from controller.domain.moments import format_timestamp
from controller.domain.policy_metadata import policy_info
from controller.domain.review import DUE_POLICY, REMINDER_POLICY
from controller.engine.bundle import PolicyBundle
from controller.engine.decision_pipeline import PolicySet
from controller.operator.cache import ClusterState
from controller.operator.policies import PolicyManager
from controller.operator.reconciler import Reconciler
from tests.unit.fake_engine import FakeEngine
from tests.unit.test_reconciler import KEY, FakeKube

LEE = {"name": "Lee Park", "email": "lee.park@example.com"}


def metadata(**custom: Any) -> dict[str, Any]:
    return {
        "scope": "package",
        "title": "t",
        "custom": {"enforcement": "deny", "severity": "medium", **custom},
    }


def make(grace_days: int = 7, warn_days: int = 3) -> tuple[Reconciler, FakeKube, ClusterState]:
    state = ClusterState()
    kube = FakeKube()
    policies = PolicyManager("fake", namespace="golive-system")
    infos = {
        DUE_POLICY: policy_info("due.rego", DUE_POLICY, metadata(graceDays=grace_days)),
        REMINDER_POLICY: policy_info("rem.rego", REMINDER_POLICY, metadata(warnDays=warn_days)),
    }
    policies.current = PolicySet(
        FakeEngine(), PolicyBundle(modules={}, policies=infos, digest="sha256:" + "0" * 64)
    )
    return Reconciler(state, policies, kube), kube, state  # type: ignore[arg-type]


def agent(at: str | None, cadence: str = "weekly") -> dict[str, Any]:
    governance: dict[str, Any] = {"reviewCadence": cadence}
    if at is not None:
        governance["lastReview"] = {"at": at, "by": LEE}
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot", "namespace": "ns", "uid": "u1", "generation": 1},
        "spec": {
            "governance": governance,
            "template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}},
        },
        "status": {},
    }


def reconcile_and_timer(reconciler: Reconciler) -> float | None:
    """Reconcile once; the delay of the timer it left for the agent (None: none)."""

    async def go() -> float | None:
        await reconciler.reconcile(KEY)
        timers = list(reconciler.queue._timers.values())
        delay = timers[0].when() - asyncio.get_running_loop().time() if timers else None
        for timer in timers:
            timer.cancel()
        return delay

    return asyncio.run(go())


def stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def test_status_shows_the_review_schedule_and_a_timer_waits_for_the_reminder() -> None:
    reconciler, kube, state = make()
    reviewed = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    state.agents[KEY] = read_agent(agent(stamp(reviewed)))
    delay = reconcile_and_timer(reconciler)
    (status,) = kube.statuses
    assert status["review"] == {
        "lastReviewed": stamp(reviewed),
        "cadence": "weekly",
        "nextDue": stamp(reviewed + timedelta(days=7)),
        "blockedFrom": stamp(reviewed + timedelta(days=14)),
    }
    # The reminder starts 3 days before the due date: 7 - 3 - 1 = 3 days from now.
    assert delay is not None and abs(delay - timedelta(days=3).total_seconds()) < 5


def test_within_grace_the_timer_waits_for_the_end_of_the_grace_period() -> None:
    reconciler, _, state = make(grace_days=2)
    reviewed = datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)  # due a day ago
    state.agents[KEY] = read_agent(agent(stamp(reviewed)))
    delay = reconcile_and_timer(reconciler)
    assert delay is not None and abs(delay - timedelta(days=1).total_seconds()) < 5


def test_a_review_due_in_seconds_is_decided_again_then() -> None:
    reconciler, _, state = make(grace_days=0, warn_days=0)
    reviewed = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7) + timedelta(seconds=30)
    state.agents[KEY] = read_agent(agent(stamp(reviewed)))
    delay = reconcile_and_timer(reconciler)
    assert delay is not None and 20 < delay <= 31


def test_no_record_no_review_status_and_no_timer() -> None:
    reconciler, kube, state = make()
    state.agents[KEY] = read_agent(agent(None))
    assert reconcile_and_timer(reconciler) is None
    assert "review" not in kube.statuses[0]


def test_a_record_golive_cannot_schedule_shows_no_review_status() -> None:
    reconciler, kube, state = make()
    state.agents[KEY] = read_agent(agent("2026-02-30"))
    assert reconcile_and_timer(reconciler) is None
    assert "review" not in kube.statuses[0]


def test_a_review_dated_in_the_future_is_decided_again_at_that_date() -> None:
    reconciler, kube, state = make()
    future = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    state.agents[KEY] = read_agent(agent(stamp(future)))
    delay = reconcile_and_timer(reconciler)
    assert delay is not None and abs(delay - 7200) < 5
    assert "review" not in kube.statuses[0]


def test_an_overdue_review_leaves_no_timer() -> None:
    reconciler, kube, state = make()
    state.agents[KEY] = read_agent(agent("2020-01-01"))
    assert reconcile_and_timer(reconciler) is None
    assert kube.statuses[0]["review"]["blockedFrom"] == "2020-01-15T00:00:00Z"
