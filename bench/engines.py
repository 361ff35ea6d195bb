"""Embedded (regopy in a worker process) vs remote (a real `opa run --server`) evaluation.

Same bundle (the real policies/ library), same policy inputs (generated agents, half
compliant, half breaking one checklist item each), one run. Calls are interleaved (embedded,
remote, remote, embedded, ...) so that whatever else the machine does hits both alike. Each
figure is the wall time of one `Engine.evaluate()` call as the operator makes it: IPC to the
worker, or HTTP to OPA on loopback, included.

Also measured, as evidence of where the time goes:
- regopy in this process (no worker, no IPC) on the same inputs: the interpreter's own cost;
- OPA's own evaluation time as it reports it (`?metrics=true`, timer_server_handler_ns), so
  HTTP + client overhead = remote wall - server time;
- throughput (evaluations/s) with 1 and 2 calling threads on each engine.
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench import POLICIES, agent_with_contract, percentile, progress, r
from controller.domain.contract import resolve_contract
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import PolicyBundle, load_bundle_dir
from controller.engine.embedded import EmbeddedEngine
from controller.engine.protocol import ENTRYPOINT_PATH, Engine, encode_input
from controller.engine.remote import RemoteEngine
from tests.harness.controlplane import OpaServer

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
GOAL_SPEEDUP = 5.0


def policy_inputs(count: int) -> list[dict[str, Any]]:
    """`count` distinct policy inputs, as the reconcile gate builds them (contract found)."""
    context = PolicyContext(Operation.RECONCILE, NOW)
    inputs = []
    for index in range(count):
        agent, contract = agent_with_contract("bench", index)
        resolution = resolve_contract(contract["metadata"]["name"], contract)
        inputs.append(build_policy_input(agent, resolution, [], context))
    return inputs


def _answer(engine: Engine, policy_input: dict[str, Any]) -> str:
    return json.dumps(sorted(map(str, map(vars, engine.evaluate(policy_input)))))


def latency(
    embedded: Engine, remote: Engine, inputs: list[dict[str, Any]], calls: int
) -> tuple[list[float], list[float], int, int]:
    """Interleaved per-call latencies (ms) of both engines on the same inputs; divergences."""
    warm = inputs[: min(50, len(inputs))]
    for policy_input in warm:
        embedded.evaluate(policy_input)
        remote.evaluate(policy_input)
    emb: list[float] = []
    rem: list[float] = []
    for i in range(calls):
        policy_input = inputs[i % len(inputs)]
        pair = [(embedded, emb), (remote, rem)]
        for engine, samples in pair if i % 2 == 0 else reversed(pair):
            start = time.perf_counter()
            engine.evaluate(policy_input)
            samples.append((time.perf_counter() - start) * 1000)
    divergences = sum(_answer(embedded, x) != _answer(remote, x) for x in inputs)
    violating = sum(bool(embedded.evaluate(x)) for x in inputs)
    return emb, rem, divergences, violating


def throughput(engine: Engine, inputs: list[dict[str, Any]], calls: int, threads: int) -> float:
    """Evaluations per second with `threads` callers sharing one engine."""
    work = [inputs[i % len(inputs)] for i in range(calls)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(engine.evaluate, work):
            pass
    return calls / (time.perf_counter() - start)


def regopy_in_process(bundle: PolicyBundle, inputs: list[dict[str, Any]], calls: int) -> float:
    """p50 ms of regopy itself (same calls as the worker makes), in this process, no IPC."""
    from regopy import Input, Interpreter
    from regopy.rego_shared import (
        rego_bundle_query_entrypoint,
        rego_free_output,
        rego_output_string,
    )

    interpreter = Interpreter()
    for name in sorted(bundle.modules):
        interpreter.add_module(name, bundle.modules[name])
    built = interpreter.build(None, entrypoints=[ENTRYPOINT_PATH])
    payloads = [encode_input(x) for x in inputs]

    def once(payload: bytes) -> None:
        interpreter.set_input(Input(json.loads(payload)))
        output = rego_bundle_query_entrypoint(interpreter._impl, built._impl, ENTRYPOINT_PATH)
        rego_output_string(output)
        rego_free_output(output)

    for payload in payloads[:20]:
        once(payload)
    samples = []
    for i in range(calls):
        start = time.perf_counter()
        once(payloads[i % len(payloads)])
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 50)


def opa_server_time(url: str, inputs: list[dict[str, Any]], calls: int) -> tuple[float, float]:
    """p50 ms of OPA's own handler time (its metrics) and of the raw HTTP round trip."""
    server: list[float] = []
    wall: list[float] = []
    endpoint = f"{url}/v1/data/{ENTRYPOINT_PATH}?metrics=true"
    with requests.Session() as session:
        for i in range(calls):
            body = {"input": inputs[i % len(inputs)]}
            start = time.perf_counter()
            answer = session.post(endpoint, json=body, timeout=5).json()
            wall.append((time.perf_counter() - start) * 1000)
            metrics = answer.get("metrics") or {}
            server.append(metrics.get("timer_server_handler_ns", 0) / 1e6)
    return percentile(server, 50), percentile(wall, 50)


def run(quick: bool = False) -> list[dict[str, Any]]:
    calls = 300 if quick else 2000
    tp_calls = 200 if quick else 1000
    distinct = 100 if quick else 200
    bundle = load_bundle_dir(POLICIES)
    inputs = policy_inputs(distinct)
    with tempfile.TemporaryDirectory(prefix="golive-bench-opa-") as tmp:
        opa = OpaServer(Path(tmp))
        embedded: EmbeddedEngine | None = None
        remote: RemoteEngine | None = None
        try:
            opa.start()
            start = time.perf_counter()
            embedded = EmbeddedEngine(bundle)
            embedded_load = time.perf_counter() - start
            start = time.perf_counter()
            remote = RemoteEngine(bundle, opa.url)
            remote_load = time.perf_counter() - start
            progress(f"engines: {calls} interleaved evaluations on each engine")
            emb, rem, divergences, violating = latency(embedded, remote, inputs, calls)
            progress("engines: throughput with 1 and 2 threads")
            tp = {
                (engine.name, threads): throughput(engine, inputs, tp_calls, threads)
                for engine in (embedded, remote)
                for threads in (1, 2)
            }
            progress("engines: breakdown (regopy in-process, OPA server-side time)")
            regopy_p50 = regopy_in_process(bundle, inputs, calls // 4)
            opa_handler_p50, opa_http_p50 = opa_server_time(opa.url, inputs, calls // 4)
        finally:
            if embedded is not None:
                embedded.close()
            if remote is not None:
                remote.close()
            opa.stop()

    emb_p50, rem_p50 = percentile(emb, 50), percentile(rem, 50)
    speedup = rem_p50 / emb_p50
    return [
        {
            "measure": "engine_latency",
            "evaluations_each": calls,
            "distinct_inputs": distinct,
            "inputs_with_violations": violating,
            "divergences": divergences,
            "embedded_p50_ms": r(emb_p50),
            "embedded_p99_ms": r(percentile(emb, 99)),
            "remote_p50_ms": r(rem_p50),
            "remote_p99_ms": r(percentile(rem, 99)),
            "speedup_p50": r(speedup, 2),
            "speedup_p99": r(percentile(rem, 99) / percentile(emb, 99), 2),
            "goal": f"embedded >= {GOAL_SPEEDUP:g}x faster than remote (p50)",
            "met": speedup >= GOAL_SPEEDUP,
        },
        {
            "measure": "engine_latency_breakdown",
            "embedded_p50_ms": r(emb_p50),
            "regopy_in_process_p50_ms": r(regopy_p50),
            "embedded_ipc_overhead_p50_ms": r(emb_p50 - regopy_p50),
            "remote_p50_ms": r(rem_p50),
            "opa_raw_http_p50_ms": r(opa_http_p50),
            "opa_server_handler_p50_ms": r(opa_handler_p50),
            "embedded_load_s": r(embedded_load),
            "remote_load_s": r(remote_load),
            "goal": "evidence only (where each engine's time goes)",
            "met": None,
        },
        {
            "measure": "engine_throughput",
            "evaluations": tp_calls,
            "embedded_1_thread_per_s": r(tp[("embedded", 1)], 1),
            "embedded_2_threads_per_s": r(tp[("embedded", 2)], 1),
            "remote_1_thread_per_s": r(tp[("remote", 1)], 1),
            "remote_2_threads_per_s": r(tp[("remote", 2)], 1),
            "embedded_2_thread_scaling": r(tp[("embedded", 2)] / tp[("embedded", 1)], 2),
            "remote_2_thread_scaling": r(tp[("remote", 2)] / tp[("remote", 1)], 2),
            "goal": "report only (2 threads on a 2-core machine)",
            "met": None,
        },
    ]
