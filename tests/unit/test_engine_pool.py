"""The embedded engine's worker pool: parallel calls, same answers, a crash stays in its worker."""

from __future__ import annotations

import threading
import time

import pytest

from controller.domain.decision import RawViolation
from controller.engine.bundle import bundle_from_modules
from controller.engine.embedded import EmbeddedEngine
from controller.engine.protocol import PolicyError
from tests.unit.rego_samples import policy
from tests.unit.test_engine_embedded import CRASH_ON_DEEP_JSON, agent_input

# About a tenth of a second of pure rego-cpp work per call: enough to see two cores at work.
BUSY = policy(
    "golive.busy.loop",
    'deny contains {"field": "spec.busy", "msg": "busy"} if {\n\tinput.agent.spec.busy\n'
    '\tn := object.get(input.agent.spec, "big", false)\n'
    "\tcount([x | some x in numbers.range(1, [40000, 2000000][to_number(n)])]) > 0\n}\n",
)


def test_two_workers_answer_the_same_and_in_parallel() -> None:
    bundle = bundle_from_modules({"busy/loop/policy.rego": BUSY})
    with (
        EmbeddedEngine(bundle, workers=1) as one,
        EmbeddedEngine(bundle, workers=2, timeout=30) as two,
    ):
        assert two.workers == 2
        assert one.evaluate(agent_input(busy=True)) == two.evaluate(agent_input(busy=True))
        # While one worker grinds through a long call, the other answers a short one: the
        # short call returns while the long one is still running.
        long_call = threading.Thread(target=two.evaluate, args=(agent_input(busy=True, big=True),))
        long_call.start()
        time.sleep(0.2)  # the long call has taken a worker
        assert two.evaluate(agent_input(busy=False)) == []
        assert long_call.is_alive()
        long_call.join()


def test_a_crash_in_one_worker_leaves_the_others_serving() -> None:
    bundle = bundle_from_modules({"crash/deep/policy.rego": CRASH_ON_DEEP_JSON})
    with EmbeddedEngine(bundle, workers=2) as engine:
        depth = 200_000
        results: list[object] = []

        def call(payload: str) -> None:
            try:
                results.append(engine.evaluate(agent_input(payload=payload)))
            except PolicyError as error:
                results.append(error)

        threads = [threading.Thread(target=call, args=("[" * depth + "]" * depth,))]
        threads += [threading.Thread(target=call, args=("[[1]]",)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        crashes = [r for r in results if isinstance(r, PolicyError)]
        assert len(crashes) == 1 and "SIGSEGV" in str(crashes[0])
        good = [RawViolation("golive.crash.deep", "spec.payload", "[[1]]")]
        assert results.count(good) == 6
        assert engine.evaluate(agent_input(payload="[]"))  # every worker serves again


def test_zero_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        EmbeddedEngine(
            bundle_from_modules({"crash/deep/policy.rego": CRASH_ON_DEEP_JSON}), workers=0
        )
