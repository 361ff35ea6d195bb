"""The embedded engine (regopy in a worker process) with small inline modules.

Includes modules that crash rego-cpp: pytest must survive, the result must be PolicyError
(never an admit), and the engine must serve the next call with a fresh worker.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.domain.decision import RawViolation
from controller.engine.bundle import (
    ENTRYPOINT_MODULE,
    PolicyBundle,
    bundle_from_modules,
    generate_entrypoint,
)
from controller.engine.embedded import EmbeddedEngine, _smoke_inputs, _Worker
from controller.engine.protocol import EngineUnavailable, PolicyError
from tests.unit.rego_samples import LIB, NET_CALL, OWNER, REPLICAS, policy

# json.unmarshal of a deeply nested string overflows rego-cpp's stack (SIGSEGV): found while
# writing this engine; the input is an ordinary string, so any agent could carry it.
CRASH_ON_DEEP_JSON = policy(
    "golive.crash.deep",
    'deny contains {"field": "spec.payload", "msg": json.marshal(x)} if {\n'
    "\tx := json.unmarshal(input.agent.spec.payload)\n}\n",
)
SLOW = policy(
    "golive.slow.loop",
    'deny contains {"field": "spec.slow", "msg": "slow"} if {\n\tinput.agent.spec.slow\n'
    "\tcount({1 | some i in numbers.range(1, 4000); some j in numbers.range(1, 4000); "
    "i == j}) > 0\n}\n",
)


def hand_built(modules: dict[str, str]) -> PolicyBundle:
    """A bundle that skips bundle_from_modules' checks, to reach the engine's own defences."""
    packages = [text.split("\npackage ")[1].split("\n")[0] for text in modules.values()]
    all_modules = dict(modules, **{ENTRYPOINT_MODULE: generate_entrypoint(packages)})
    return PolicyBundle(all_modules, {}, "sha256:hand-built")


def agent_input(**spec: Any) -> dict[str, Any]:
    policy_input = copy.deepcopy(_smoke_inputs()[0])
    policy_input["agent"]["spec"] = spec
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
            for _ in range(25):
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


def test_syntax_error_names_module_and_line() -> None:
    broken = OWNER.replace("if not input.agent.spec.owner", "if { x := }")
    with pytest.raises(PolicyError) as caught:
        EmbeddedEngine(bundle_from_modules({"ownership/owner/policy.rego": broken}))
    assert "do not compile: ownership/owner/policy.rego:12:" in str(caught.value)


def test_http_send_is_refused_even_in_a_hand_built_bundle() -> None:
    text = NET_CALL
    with pytest.raises(PolicyError, match=r"refused: line 13:7: http\.send"):
        bundle_from_modules({"net/call/policy.rego": text})
    with pytest.raises(PolicyError, match=r"refused: line 13:7: http\.send"):
        EmbeddedEngine(hand_built({"net/call/policy.rego": text}))
    # Why the scan matters: regopy itself does not refuse the module; it silently treats the
    # call as undefined, so the rule never fires (an admit).
    worker = _Worker(hand_built({"net/call/policy.rego": text}).modules, start_timeout=60)
    try:
        kind, output = worker.request(b'{"agent": {"spec": {}}}', timeout=10)
    finally:
        worker.stop()
    assert (kind, output) == ("ok", '{"expressions":[[]]}')


def test_a_module_that_crashes_rego_cpp_at_compile_is_a_policy_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `with input as {...}` makes rego-cpp abort the process (engines.md). The static scan
    # refuses it; a hand-built bundle reaches the worker, which dies instead of pytest.
    text = policy(
        "golive.crash.with_input",
        "inner contains n if {\n\tn := count(input.agent.spec)\n}\n\n"
        'deny contains {"field": "spec", "msg": sprintf("%d", [count(inner)])} if {\n'
        '\tcount(inner) == 1 with input as {"agent": {"spec": {"a": 1}}}\n}\n',
    )
    bundle = hand_built({"crash/with_input/policy.rego": text})
    monkeypatch.setattr("controller.engine.embedded.refuse_forbidden", lambda modules: None)
    with pytest.raises(PolicyError) as caught:
        EmbeddedEngine(bundle)
    message = str(caught.value)
    assert "crashed the embedded engine (signal" in message
    assert "rego-refhead" in message  # rego-cpp's own words, from the worker's stderr
    # The process that loads policies is alive and a good bundle still loads.
    with EmbeddedEngine(bundle_from_modules({"o.rego": OWNER})) as good:
        assert len(good.evaluate(agent_input())) == 1


def test_a_crash_during_evaluation_is_a_policy_error_and_the_next_call_works() -> None:
    with EmbeddedEngine(bundle_from_modules({"crash/deep/policy.rego": CRASH_ON_DEEP_JSON})) as e:
        assert e.evaluate(agent_input(payload="[[1]]")) == [
            RawViolation("golive.crash.deep", "spec.payload", "[[1]]")
        ]
        depth = 200_000
        with pytest.raises(PolicyError) as caught:
            e.evaluate(agent_input(payload="[" * depth + "]" * depth))
        assert "crashed the embedded engine (signal 11, SIGSEGV)" in str(caught.value)
        # A fresh worker serves the next call.
        assert e.evaluate(agent_input(payload="[]")) == [
            RawViolation("golive.crash.deep", "spec.payload", "[]")
        ]


def test_timeout_kills_the_worker_and_gives_engine_unavailable() -> None:
    with EmbeddedEngine(bundle_from_modules({"slow/loop/policy.rego": SLOW}), timeout=0.3) as e:
        with pytest.raises(EngineUnavailable, match=r"did not answer within 0\.3 s"):
            e.evaluate(agent_input(slow=True))
        assert e.evaluate(agent_input()) == []


def test_error_terms_in_output_are_policy_errors() -> None:
    # rego-cpp compiles a call to an unknown function and returns an error term as output.
    text = policy(
        "golive.bad.fn",
        'deny contains {"field": "f", "msg": m} if {\n\tinput.agent.spec.go\n'
        "\tm := golive_no_such_function(1)\n}\n",
    )
    try:
        engine = EmbeddedEngine(hand_built({"bad/fn/policy.rego": text}))
    except PolicyError as error:  # some rego-cpp versions may refuse at compile: also fine
        assert "golive_no_such_function" in str(error)
        return
    with engine, pytest.raises(PolicyError, match="golive_no_such_function"):
        engine.evaluate(agent_input(go=True))


def test_malformed_deny_entries_are_refused_at_load() -> None:
    text = policy("golive.bad.shape", 'deny contains "just a string" if true\n')
    with pytest.raises(PolicyError, match="smoke evaluation failed: deny entries must be"):
        EmbeddedEngine(bundle_from_modules({"bad/shape/policy.rego": text}))


def test_unserialisable_input_is_a_policy_error(engine: EmbeddedEngine) -> None:
    with pytest.raises(PolicyError, match="cannot be written as JSON"):
        engine.evaluate(agent_input(ratio=float("nan")))


def test_close_is_idempotent_and_final() -> None:
    engine = EmbeddedEngine(bundle_from_modules({"o.rego": OWNER}))
    engine.close()
    engine.close()
    with pytest.raises(EngineUnavailable, match="closed"):
        engine.evaluate(agent_input())


def test_parent_never_imports_regopy() -> None:
    # The crash isolation only holds if librego is never loaded into the operator's process.
    script = (
        "import sys\n"
        "from controller.engine.bundle import bundle_from_modules\n"
        "from controller.engine.embedded import EmbeddedEngine, _smoke_inputs\n"
        "from tests.unit.rego_samples import OWNER\n"
        "with EmbeddedEngine(bundle_from_modules({'o.rego': OWNER})) as engine:\n"
        "    assert len(engine.evaluate(_smoke_inputs()[0])) == 1\n"
        "assert 'regopy' not in sys.modules, 'regopy was imported by the parent'\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
