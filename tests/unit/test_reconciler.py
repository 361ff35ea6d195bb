"""The reconcile gate with a fake engine and a fake Kubernetes: fast checks of every branch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.domain.decision import RawViolation
from controller.domain.model import read_agent
from controller.domain.policy_metadata import PolicyInfo
from controller.engine.bundle import PolicyBundle
from controller.engine.decision_pipeline import PolicySet, unusable_policy_set
from controller.engine.protocol import EngineUnavailable, PolicyError
from controller.operator.cache import ClusterState
from controller.operator.policies import PolicyManager
from controller.operator.reconciler import Reconciler
from tests.unit.fake_engine import FakeEngine

KEY = ("ns", "bot")
POLICY = "golive.ownership.single_owner"
DENY = RawViolation(POLICY, "spec.owner.name", "team alias")


class FakeKube:
    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.events: list[tuple[str, str]] = []

    def apply_deployment(self, body: dict[str, Any]) -> dict[str, Any]:
        self.applied.append(body)
        return {**body, "status": {}}

    def patch_agent_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.statuses.append(status)

    def emit_event(self, agent: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        self.events.append((event_type, reason))


def info(enforcement: str = "deny") -> PolicyInfo:
    return PolicyInfo(POLICY, "Owner", "", enforcement, "high", "owner", POLICY, "m.rego")  # type: ignore[arg-type]


def agent(
    generation: int = 1, image: str = "img:1", status: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "bot", "namespace": "ns", "uid": "u1", "generation": generation},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
        "status": status or {},
    }


def make(
    engine: FakeEngine, enforcement: str = "deny"
) -> tuple[Reconciler, FakeKube, ClusterState]:
    state = ClusterState()
    kube = FakeKube()
    policies = PolicyManager("fake", namespace="golive-system")
    bundle = PolicyBundle(
        modules={}, policies={POLICY: info(enforcement)}, digest="sha256:" + "0" * 64
    )
    policies.current = PolicySet(engine, bundle)
    return Reconciler(state, policies, kube), kube, state  # type: ignore[arg-type]


def run(reconciler: Reconciler) -> None:
    asyncio.run(reconciler.reconcile(KEY))


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}


def test_admitted_agent_gets_its_deployment_and_status() -> None:
    reconciler, kube, state = make(FakeEngine(digest="sha256:" + "0" * 64))
    state.agents[KEY] = read_agent(agent())
    run(reconciler)
    (dep,) = kube.applied
    assert dep["metadata"]["annotations"]["golive.dev/admitted-generation"] == "1"
    (status,) = kube.statuses
    assert conditions(status) == {"PolicyCompliant": "True", "Admitted": "True", "Ready": "False"}
    assert kube.events == [("Normal", "Admitted")]


def test_blocked_agent_gets_nothing() -> None:
    reconciler, kube, state = make(FakeEngine([DENY]))
    state.agents[KEY] = read_agent(agent())
    run(reconciler)
    assert kube.applied == []
    assert conditions(kube.statuses[0])["Admitted"] == "False"
    assert kube.events == [("Warning", "Blocked")]


def test_blocked_edit_leaves_the_running_generation_alone() -> None:
    reconciler, kube, state = make(FakeEngine([DENY]))
    state.agents[KEY] = read_agent(agent(generation=2, image="img:2"))
    running = {"metadata": {"annotations": {"golive.dev/admitted-generation": "1"}}}
    state.deployments[KEY] = running
    run(reconciler)
    assert kube.applied == []
    assert kube.statuses[0]["admittedGeneration"] == 1
    assert state.deployments[KEY] is running


def test_warn_admits_and_says_so() -> None:
    reconciler, kube, state = make(FakeEngine([DENY]), enforcement="warn")
    state.agents[KEY] = read_agent(agent())
    run(reconciler)
    assert len(kube.applied) == 1
    assert ("Warning", "PolicyWarning") in kube.events
    assert kube.statuses[0]["violations"][0]["enforcement"] == "warn"


def test_engine_down_is_unknown_changes_nothing_and_retries() -> None:
    reconciler, kube, state = make(FakeEngine(error=EngineUnavailable("opa down")))
    state.agents[KEY] = read_agent(agent())

    async def go() -> None:
        await reconciler.reconcile(KEY)
        assert reconciler.queue._timers  # a retry is scheduled (backoff)
        for timer in reconciler.queue._timers.values():
            timer.cancel()

    asyncio.run(go())
    assert kube.applied == []
    assert conditions(kube.statuses[0])["Admitted"] == "Unknown"


def test_unchanged_decision_writes_nothing_and_own_echo_is_recognised() -> None:
    reconciler, kube, state = make(FakeEngine([DENY]))
    state.agents[KEY] = read_agent(agent())
    run(reconciler)
    written = kube.statuses[-1]
    echo = read_agent(agent(status=written))
    assert reconciler.is_own_write(KEY, echo)
    assert not reconciler.is_own_write(KEY, read_agent(agent(status={**written, "x": 1})))
    state.agents[KEY] = echo
    run(reconciler)
    assert len(kube.statuses) == 1  # the same decision is not written again


def test_a_deployment_state_the_watch_delivers_during_the_apply_is_kept() -> None:
    reconciler, kube, state = make(FakeEngine(digest="sha256:" + "0" * 64))
    state.agents[KEY] = read_agent(agent())
    later = rolling_out(1, 1)
    apply = kube.apply_deployment

    def apply_while_the_rollout_moves(body: dict[str, Any]) -> dict[str, Any]:
        answer = apply(body)
        state.deployments[KEY] = later  # the watch event handled while the call ran
        return answer

    kube.apply_deployment = apply_while_the_rollout_moves  # type: ignore[method-assign]
    run(reconciler)
    assert state.deployments[KEY] is later  # not the apply's older answer


def test_the_apply_answer_is_cached_when_the_watch_brought_nothing_newer() -> None:
    reconciler, _kube, state = make(FakeEngine(digest="sha256:" + "0" * 64))
    state.agents[KEY] = read_agent(agent())
    run(reconciler)
    cached = state.deployments[KEY]
    assert cached["metadata"]["annotations"]["golive.dev/admitted-generation"] == "1"


def test_an_exception_schedules_a_recheck_at_its_expiry() -> None:
    reconciler, kube, state = make(FakeEngine([DENY]))
    state.agents[KEY] = read_agent(agent())
    expires = datetime.now(UTC) + timedelta(minutes=10)
    state.exceptions["ns"]["waiver"] = {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentException",
        "metadata": {"name": "waiver", "namespace": "ns"},
        "spec": {
            "targets": ["bot"],
            "policies": [POLICY],
            "reason": "r",
            "approver": {"name": "Sam Ortiz", "email": "sam@example.com"},
            "ticket": "T-1",
            "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }

    async def go() -> float:
        await reconciler.reconcile(KEY)
        (timer,) = reconciler.queue._timers.values()
        delay = timer.when() - asyncio.get_running_loop().time()
        timer.cancel()
        return delay

    delay = asyncio.run(go())
    assert len(kube.applied) == 1  # excepted: admitted
    assert kube.statuses[0]["violations"][0]["enforcement"] == "excepted"
    assert 590 < delay <= 601


def test_deleted_agent_is_forgotten() -> None:
    reconciler, kube, _state = make(FakeEngine())
    run(reconciler)
    assert kube.applied == [] and kube.statuses == []


def test_no_policies_loaded_is_unknown_policy_error() -> None:
    reconciler, kube, state = make(FakeEngine())
    reconciler.policies.current = unusable_policy_set(
        "embedded", PolicyError("broken.rego:3: parse error")
    )

    state.agents[KEY] = read_agent(agent())

    async def go() -> None:
        await reconciler.reconcile(KEY)
        for timer in reconciler.queue._timers.values():
            timer.cancel()

    asyncio.run(go())
    (status,) = kube.statuses
    admitted = next(c for c in status["conditions"] if c["type"] == "Admitted")
    assert admitted["status"] == "Unknown" and admitted["reason"] == "PolicyError"
    assert "broken.rego:3" in admitted["message"]
    assert "digest" not in status["policy"]
    assert kube.applied == []


class LeaseLostDuring(FakeEngine):
    """Evaluating takes the time in which the lease is lost: leading turns False meanwhile."""

    def __init__(self, lease: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lease = lease

    def evaluate(self, policy_input: Any) -> list[RawViolation]:
        found = super().evaluate(policy_input)
        self.lease["held"] = False
        return found


def test_writes_are_fenced_when_the_lease_is_lost_mid_reconcile() -> None:
    from prometheus_client import REGISTRY

    lease = {"held": True}
    reconciler, kube, state = make(LeaseLostDuring(lease, digest="sha256:" + "0" * 64))
    reconciler.leading = lambda: lease["held"]
    state.agents[KEY] = read_agent(agent())
    fenced_before = REGISTRY.get_sample_value("golive_fenced_writes_total") or 0.0
    run(reconciler)
    # Decided while leading, but nothing written after the lease went: no Deployment, no
    # status, no event, and no retry queued (the new leader has every key).
    assert (kube.applied, kube.statuses, kube.events) == ([], [], [])
    assert REGISTRY.get_sample_value("golive_fenced_writes_total") == fenced_before + 1
    assert len(reconciler.queue) == 0
    lease["held"] = True  # for contrast: the same reconcile, leading throughout, writes
    reconciler.leading = lambda: True
    run(reconciler)
    assert len(kube.applied) == 1 and len(kube.statuses) == 1


def rolling_out(replicas: int, available: int) -> dict[str, Any]:
    """An owned Deployment of generation 1 as the watch cache keeps it, mid-rollout or done."""
    done = available == replicas
    return {
        "metadata": {
            "name": "bot",
            "namespace": "ns",
            "generation": 1,
            "annotations": {"golive.dev/admitted-generation": "1"},
        },
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": available,
            "conditions": [{"type": "Available", "status": "True" if done else "False"}],
        },
    }


def settle(reconciler: Reconciler, state: ClusterState, kube: FakeKube) -> None:
    """The watch echo of the last status write, as the cache keeps it."""
    state.agents[KEY] = read_agent(agent(status=kube.statuses[-1]))


def test_a_rollout_step_reuses_the_decision_until_ready() -> None:
    engine = FakeEngine(digest="sha256:" + "0" * 64)
    reconciler, kube, state = make(engine)
    state.agents[KEY] = read_agent(agent())
    run(reconciler)  # decided, Deployment applied, Ready False
    assert len(engine.inputs) == 1 and len(kube.applied) == 1
    settle(reconciler, state, kube)
    state.deployments[KEY] = rolling_out(2, 1)  # a replica available: the rollout moved
    run(reconciler)
    assert len(engine.inputs) == 1  # nothing the decision reads changed
    state.deployments[KEY] = rolling_out(2, 2)
    run(reconciler)
    assert len(engine.inputs) == 1
    assert conditions(kube.statuses[-1])["Ready"] == "True"
    assert KEY not in reconciler.last_decision  # Ready: nothing kept for this agent
    settle(reconciler, state, kube)
    run(reconciler)  # a later reconcile (say, a scale change) evaluates again
    assert len(engine.inputs) == 2


def test_a_blocked_agent_without_a_deployment_keeps_no_decision() -> None:
    reconciler, _kube, state = make(FakeEngine([DENY]))
    state.agents[KEY] = read_agent(agent())
    run(reconciler)
    assert KEY not in reconciler.last_decision  # no rollout: nothing would reuse it


def test_anything_the_decision_reads_is_evaluated_again_mid_rollout() -> None:
    engine = FakeEngine(digest="sha256:" + "0" * 64)
    reconciler, kube, state = make(engine)
    state.agents[KEY] = read_agent(agent())
    run(reconciler)
    settle(reconciler, state, kube)
    changes = [
        lambda: state.contracts.__setitem__(("ns", "c"), {"spec": {}}),  # not the agent's
        lambda: state.namespace_labels.__setitem__("ns", {"pod-security": "restricted"}),
        lambda: state.exceptions["ns"].__setitem__("x", {"spec": {"targets": ["bot"]}}),
        lambda: state.agents.__setitem__(
            KEY,
            read_agent(
                {
                    **agent(status=kube.statuses[-1]),
                    "metadata": {**agent()["metadata"], "labels": {"a": "b"}},
                }
            ),
        ),
        reconciler.enqueue_all,  # policies reloaded, signers changed, the audit
    ]
    expected = [1, 2, 3, 4, 5]
    for change, evaluations in zip(changes, expected, strict=True):
        change()
        state.deployments[KEY] = rolling_out(3, len(engine.inputs) % 3)
        run(reconciler)
        assert len(engine.inputs) == evaluations, change
