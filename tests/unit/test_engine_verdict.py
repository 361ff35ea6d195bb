"""evaluate_decision with the FakeEngine: findings decide, engine failures are `unknown`."""

from __future__ import annotations

from controller.domain.decision import RawViolation, Reason, Result
from controller.domain.policy_metadata import PolicyInfo
from controller.engine.decision_pipeline import evaluate_decision
from controller.engine.protocol import Engine, EngineUnavailable, PolicyError
from tests.unit.fake_engine import FakeEngine

POLICIES = {
    "golive.a.b": PolicyInfo("golive.a.b", "t", "", "deny", "high", "x", "golive.a.b", "m.rego")
}
INPUT = {"agent": {}, "cost": {"declared": False}}


def test_fake_engine_is_an_engine_and_records_inputs() -> None:
    fake = FakeEngine([RawViolation("golive.a.b", "f", "m")])
    engine: Engine = fake  # type-checks against the Protocol
    decision = evaluate_decision(engine, POLICIES, INPUT, [])
    assert decision.result is Result.BLOCKED
    assert decision.engine == "fake" and decision.cost == {"declared": False}
    assert fake.inputs == [INPUT]
    fake.close()
    assert fake.closed


def test_no_findings_admit() -> None:
    assert evaluate_decision(FakeEngine(), POLICIES, INPUT, []).admitted


def test_engine_unavailable_is_unknown_never_admitted() -> None:
    decision = evaluate_decision(FakeEngine(error=EngineUnavailable("down")), POLICIES, INPUT, [])
    assert (decision.result, decision.reason, decision.message) == (
        Result.UNKNOWN, Reason.ENGINE_UNAVAILABLE, "down",
    )  # fmt: skip
    assert not decision.admitted


def test_policy_error_is_unknown_never_admitted() -> None:
    decision = evaluate_decision(FakeEngine(error=PolicyError("crashed")), POLICIES, INPUT, [])
    assert (decision.result, decision.reason) == (Result.UNKNOWN, Reason.POLICY_ERROR)
    assert not decision.admitted
