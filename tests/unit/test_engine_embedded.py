"""The embedded engine (OPA's evaluator in-process) with small inline modules: results, the
sandbox, the deadline, the evaluation time, threads, and failures that must never admit."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.domain.decision import RawViolation
from controller.engine import libopa
from controller.engine.bundle import _smoke_inputs, bundle_from_modules
from controller.engine.embedded import EmbeddedEngine
from controller.engine.protocol import EngineUnavailable, PolicyError
from tests.unit.rego_samples import LIB, NET_CALL, OWNER, REPLICAS, policy

SLOW = policy(
    "golive.slow.loop",
    'deny contains {"field": "spec.slow", "msg": "slow"} if {\n\tinput.agent.spec.slow\n'
    "\tcount([i | some i in numbers.range(1, 100000000)]) > 0\n}\n",
)
# Reads the evaluation time: golive's decision time, input.context.now.
REVIEW_DUE = policy(
    "golive.time.review",
    'deny contains {"field": "spec.reviewBy", "msg": sprintf("review was due %v", [due])} if {\n'
    "\tdue := input.agent.spec.reviewBy\n"
    "\ttime.parse_rfc3339_ns(due) < time.now_ns()\n}\n",
)


def agent_input(now: str = "2026-01-01T00:00:00Z", **spec: Any) -> dict[str, Any]:
    policy_input = copy.deepcopy(_smoke_inputs()[0])
    policy_input["agent"]["spec"] = spec
    policy_input["context"]["now"] = now
    return policy_input


@pytest.fixture(scope="module")
def engine() -> Iterator[EmbeddedEngine]:
    bundle = bundle_from_modules(
        {"ownership/owner/policy.rego": OWNER, "release/replicas/policy.rego": REPLICAS,
         "lib/names.rego": LIB}
    )  # fmt: skip
    with EmbeddedEngine(bundle) as loaded:
        yield loaded


def test_violations_come_back_sorted(engine: EmbeddedEngine) -> None:
    assert engine.name == "embedded" and engine.digest.startswith("sha256:")
    assert engine.evaluate(agent_input(replicas=3)) == [
        RawViolation("golive.ownership.owner", "spec.owner", "no owner among 1 fields"),
        RawViolation("golive.release.replicas", "spec.replicas", "more than one replica"),
    ]
    assert engine.evaluate(agent_input(owner={"name": "D"}, replicas=1)) == []


def test_threads_share_one_engine_safely(engine: EmbeddedEngine) -> None:
    errors: list[BaseException] = []

    def work(replicas: int) -> None:
        try:
            for _ in range(50):
                found = engine.evaluate(agent_input(owner={"name": "D"}, replicas=replicas))
                assert (len(found) == 1) is (replicas > 1)
        except BaseException as error:  # collected and re-raised in the test thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n % 3,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_time_now_ns_is_the_decision_time_of_the_input() -> None:
    with EmbeddedEngine(bundle_from_modules({"time/review/policy.rego": REVIEW_DUE})) as e:
        due = "2026-06-01T00:00:00Z"  # a Kubernetes timestamp: ends in Z
        assert e.evaluate(agent_input("2026-05-31T23:59:59Z", reviewBy=due)) == []
        assert e.evaluate(agent_input("2026-06-01T00:00:01Z", reviewBy=due)) == [
            RawViolation("golive.time.review", "spec.reviewBy", f"review was due {due}")
        ]
        with pytest.raises(PolicyError, match=r"input\.context\.now: expected an RFC 3339"):
            e.evaluate(agent_input("yesterday", reviewBy=due))


def test_syntax_error_names_module_line_and_column() -> None:
    broken = OWNER.replace("if not input.agent.spec.owner", "if { x := }")
    with pytest.raises(PolicyError) as caught:
        bundle_from_modules({"ownership/owner/policy.rego": broken})
    assert "ownership/owner/policy.rego:11:" in str(caught.value)
    assert "rego_parse_error" in str(caught.value)


def test_network_builtin_is_refused_even_in_a_hand_assembled_bundle() -> None:
    with pytest.raises(PolicyError, match=r"policy\.rego:12:7: builtin http\.send is refused"):
        bundle_from_modules({"net/call/policy.rego": NET_CALL})
    # The engine compiles in the same sandbox: a bundle that skipped bundle_from_modules
    # cannot smuggle the call past it.
    good = bundle_from_modules({"o.rego": OWNER})
    smuggled = type(good)({**good.modules, "net/call/policy.rego": NET_CALL}, {}, good.digest)
    with pytest.raises(PolicyError, match=r"builtin http\.send is refused"):
        EmbeddedEngine(smuggled)


def test_the_deadline_gives_engine_unavailable_and_the_next_call_works() -> None:
    with EmbeddedEngine(bundle_from_modules({"slow/loop/policy.rego": SLOW}), timeout=0.2) as e:
        started = time.monotonic()
        with pytest.raises(EngineUnavailable, match="deadline") as caught:
            e.evaluate(agent_input(slow=True))
        assert isinstance(caught.value, libopa.EvaluationTimeout)
        assert time.monotonic() - started < 5
        assert e.evaluate(agent_input()) == []


def test_evaluation_errors_are_policy_errors() -> None:
    # Two values for one complete rule: OPA's eval_conflict_error, never an admit.
    text = policy(
        "golive.bad.conflict",
        "x := input.agent.spec.a\n\nx := input.agent.spec.b\n\n"
        'deny contains {"field": "f", "msg": "m"} if x == 0\n',
    )
    engine = EmbeddedEngine(bundle_from_modules({"bad/conflict/policy.rego": text}))
    with engine, pytest.raises(PolicyError, match="eval_conflict_error"):
        engine.evaluate(agent_input(a=1, b=2))


def test_malformed_deny_entries_are_refused_at_load() -> None:
    text = policy("golive.bad.shape", 'deny contains "just a string" if true\n')
    with pytest.raises(PolicyError, match="smoke evaluation failed: deny entries must be"):
        bundle_from_modules({"bad/shape/policy.rego": text})


def test_unserialisable_input_is_a_policy_error(engine: EmbeddedEngine) -> None:
    with pytest.raises(PolicyError, match="cannot be written as JSON"):
        engine.evaluate(agent_input(ratio=float("nan")))


def test_close_is_idempotent_and_final() -> None:
    engine = EmbeddedEngine(bundle_from_modules({"o.rego": OWNER}))
    engine.close()
    engine.close()
    with pytest.raises(EngineUnavailable, match="closed"):
        engine.evaluate(agent_input())


def test_missing_library_is_engine_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(libopa, "LIBRARY_PATH", tmp_path / "_libopa.so")
    libopa._library.cache_clear()
    try:
        with pytest.raises(EngineUnavailable, match="is not built; install golive"):
            libopa.version()
    finally:
        monkeypatch.undo()
        libopa._library.cache_clear()
    assert libopa.version().startswith("1.")


def test_rego_tests_run_on_opas_runner(tmp_path: Path) -> None:
    (tmp_path / "o.rego").write_text(OWNER)
    (tmp_path / "o_test.rego").write_text(
        "package golive.ownership.owner_test\n\nimport rego.v1\n\n"
        "import data.golive.ownership.owner\n\n"
        'test_no_owner if count(owner.deny) == 1 with input as {"agent": {"spec": {}}}\n\n'
        'test_fails if count(owner.deny) == 2 with input as {"agent": {"spec": {}}}\n\n'
        "todo_test_later if false\n"
    )
    from controller.engine.rego_tests import run_rego_tests

    outcomes = {r.name: r.outcome for r in run_rego_tests(tmp_path)}
    assert outcomes == {"test_no_owner": "pass", "test_fails": "fail", "todo_test_later": "skip"}


def test_numbers_stay_exact_in_data_and_input() -> None:
    # OPA keeps numbers as written; a float64 on the way (found by the conformance run for
    # `data`) would round 12345678901234567891 to 12345678901234567000.
    big = 12345678901234567891
    query = libopa.PreparedQuery({}, "x := data.n; y := input.n", data={"n": big}, sandbox=False)
    try:
        (result,) = query.evaluate(b'{"n": 12345678901234567891}', 0, 1.0)
    finally:
        query.close()
    assert result["bindings"] == {"x": big, "y": big}
