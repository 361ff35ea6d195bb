"""Embedded (OPA's Go evaluator in this process) vs remote (a real `opa run --server`).

Same bundle (the real policies/ library), same policy inputs (generated agents, half
compliant, half breaking one checklist item each), one run. Measured side by side:

1. engine_latency / engine_vs_remote: the wall time of one `Engine.evaluate()` call as the
   operator makes it (JSON encoding, the ctypes call into libopa, decoding; or HTTP to OPA on
   loopback through opa-python-client). The calls are interleaved (embedded, remote, remote,
   embedded, ...) so that whatever else the machine does hits both alike, and the answers of
   both engines are compared on every input.
2. engine_threads: evaluations/s of the embedded engine with 1 and with 2 threads calling
   `evaluate` at once (ctypes releases the GIL for the call). Runs of 1 and 2 threads
   alternate, several rounds, so that background load hits both alike; the process's CPU time
   per run shows how many cores each really got, and /proc/stat how many cores the rest of
   the machine used meanwhile.
3. engine_latency_breakdown (evidence): `evaluate` and libopa's call alone on pre-encoded
   input (OPA's own evaluation plus the cgo/ctypes crossing) back to back, so Python's share of
   `evaluate` is the difference, and the interleaved figure minus the back-to-back one is what
   a call costs after the Go runtime sat idle (here: during the remote engine's HTTP call);
   OPA's query evaluation and handler times as the server reports them (`?metrics=true`) and
   the raw HTTP round trip, so the remote engine's HTTP + client overhead shows too.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from bench import POLICIES, agent_with_contract, percentile, progress, r
from controller.domain.contract import resolve_contract
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import ENTRYPOINT_QUERY, TIMED_ENTRYPOINT_RULE, load_bundle_dir
from controller.engine.embedded import EmbeddedEngine, evaluation_time_ns
from controller.engine.libopa import PreparedQuery
from controller.engine.protocol import ENTRYPOINT_PACKAGE, Engine, encode_input
from controller.engine.remote import RemoteEngine
from kit.controlplane import OpaServer

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
GOAL_P50_MS = 0.5
GOAL_SPEEDUP = 3.0
GOAL_THREAD_SCALING = 1.6


def policy_inputs(count: int) -> list[dict[str, Any]]:
    """`count` distinct policy inputs, as the reconcile gate builds them (contract found)."""
    context = PolicyContext(Operation.RECONCILE, NOW)
    inputs = []
    for index in range(count):
        agent, contract = agent_with_contract("bench", index)
        resolution = resolve_contract(contract["metadata"]["name"], contract)
        inputs.append(build_policy_input(read_agent(agent), resolution, [], context))
    return inputs


def _answer(engine: Engine, policy_input: dict[str, Any]) -> str:
    return json.dumps(sorted(map(str, map(vars, engine.evaluate(policy_input)))))


def latency(
    embedded: Engine, remote: Engine, inputs: list[dict[str, Any]], calls: int
) -> tuple[list[float], list[float], int, int]:
    """Interleaved per-call latencies (ms) of both engines on the same inputs; divergences."""
    for policy_input in inputs[: min(50, len(inputs))]:  # warm both
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


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used so far (every core, /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def throughput_run(
    engine: Engine, inputs: list[dict[str, Any]], calls: int, threads: int
) -> tuple[float, float, float]:
    """`calls` evaluations shared by `threads` threads, each calling `evaluate` in a loop.
    Returns (wall s, CPU s of this process, CPU s of the whole machine) from the moment all
    threads start."""
    per_thread = calls // threads
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def loop(offset: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                engine.evaluate(inputs[(offset + i) % len(inputs)])
        except BaseException as error:  # reported below; a failing run must not look fast
            errors.append(error)

    workers = [
        threading.Thread(target=loop, args=(t * per_thread,), name=f"bench-eval-{t}")
        for t in range(threads)
    ]
    for worker in workers:
        worker.start()
    cpu, machine = _cpu_seconds(), _machine_busy_seconds()
    start = time.perf_counter()
    barrier.wait()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    cpu, machine = _cpu_seconds() - cpu, _machine_busy_seconds() - machine
    if errors:
        raise RuntimeError(f"evaluation failed in a throughput run: {errors[0]!r}")
    return wall, cpu, machine


def thread_scaling(
    engine: Engine, inputs: list[dict[str, Any]], calls: int, rounds: int
) -> dict[int, dict[str, float]]:
    """Alternating runs of 1 and 2 threads (1,2 then 2,1 ...); totals per thread count."""
    totals = {1: [0.0, 0.0, 0.0, 0.0], 2: [0.0, 0.0, 0.0, 0.0]}
    throughput_run(engine, inputs, calls // 4, 2)  # warm both paths
    for round_index in range(rounds):
        order = (1, 2) if round_index % 2 == 0 else (2, 1)
        for threads in order:
            wall, cpu, machine = throughput_run(engine, inputs, calls, threads)
            for i, value in enumerate((wall, cpu, machine, calls - calls % threads)):
                totals[threads][i] += value
    return {
        threads: {
            "per_s": done / wall,
            "cores_used": cpu / wall,
            "other_processes_cores": max(0.0, machine - cpu) / wall,
            "cpu_ms_per_eval": cpu / done * 1000,
        }
        for threads, (wall, cpu, machine, done) in totals.items()
    }


def back_to_back(
    engine: Engine, modules: dict[str, str], inputs: list[dict[str, Any]], calls: int
) -> tuple[float, float]:
    """p50 ms of `evaluate` and of the libopa call alone (input already encoded, result not
    decoded), called back to back, alternating, with nothing in between: their difference is
    Python's share of `evaluate`; `evaluate` interleaved with remote calls minus this is what
    a call costs after the Go runtime sat idle (as between sporadic decisions)."""
    query = PreparedQuery(modules, ENTRYPOINT_QUERY)
    try:
        payloads = [(encode_input(x), evaluation_time_ns(x)) for x in inputs]
        for payload, now_ns in payloads[:50]:
            query.evaluate(payload, now_ns, 2.0)
        library: list[float] = []
        full: list[float] = []
        for i in range(calls):
            payload, now_ns = payloads[i % len(payloads)]
            start = time.perf_counter()
            query.evaluate(payload, now_ns, 2.0)
            library.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            engine.evaluate(inputs[i % len(inputs)])
            full.append((time.perf_counter() - start) * 1000)
        return percentile(full, 50), percentile(library, 50)
    finally:
        query.close()


def opa_server_time(
    url: str, inputs: list[dict[str, Any]], calls: int
) -> tuple[float, float, float]:
    """p50 ms of OPA's own query evaluation and handler times (its metrics) and of the raw
    HTTP round trip."""
    evaluation: list[float] = []
    server: list[float] = []
    wall: list[float] = []
    endpoint = f"{url}/v1/data/{ENTRYPOINT_PACKAGE}/{TIMED_ENTRYPOINT_RULE}?metrics=true"
    with requests.Session() as session:
        for i in range(calls):
            body = {"input": inputs[i % len(inputs)]}
            start = time.perf_counter()
            answer = session.post(endpoint, json=body, timeout=5).json()
            wall.append((time.perf_counter() - start) * 1000)
            metrics = answer.get("metrics") or {}
            server.append(metrics.get("timer_server_handler_ns", 0) / 1e6)
            evaluation.append(metrics.get("timer_rego_query_eval_ns", 0) / 1e6)
    return percentile(evaluation, 50), percentile(server, 50), percentile(wall, 50)


def run(quick: bool = False) -> list[dict[str, Any]]:
    calls = 300 if quick else 2000
    tp_calls = 400 if quick else 2000
    rounds = 2 if quick else 6
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
            load_latency = os.getloadavg()[0]
            emb, rem, divergences, violating = latency(embedded, remote, inputs, calls)
            progress(f"engines: embedded with 1 and 2 threads, {rounds} alternating rounds")
            load_threads = os.getloadavg()[0]
            scaling = thread_scaling(embedded, inputs, tp_calls, rounds)
            progress("engines: breakdown (libopa alone, OPA's server-side time)")
            tight_p50, library_p50 = back_to_back(
                embedded, dict(bundle.modules), inputs, calls // 2
            )
            opa_eval_p50, opa_handler_p50, opa_http_p50 = opa_server_time(
                opa.url, inputs, calls // 4
            )
        finally:
            if embedded is not None:
                embedded.close()
            if remote is not None:
                remote.close()
            opa.stop()

    emb_p50, rem_p50 = percentile(emb, 50), percentile(rem, 50)
    speedup = rem_p50 / emb_p50
    common = {"evaluations_each": calls, "distinct_inputs": distinct}
    one, two = scaling[1], scaling[2]
    ratio = two["per_s"] / one["per_s"]
    return [
        {
            "measure": "engine_latency",
            **common,
            "inputs_with_violations": violating,
            "divergences": divergences,
            "embedded_p10_ms": r(percentile(emb, 10)),
            "embedded_p50_ms": r(emb_p50),
            "embedded_p90_ms": r(percentile(emb, 90)),
            "embedded_p99_ms": r(percentile(emb, 99)),
            "loadavg_1m": round(load_latency, 2),
            "goal": f"embedded decision p50 <= {GOAL_P50_MS:g} ms (full library)",
            "met": divergences == 0 and emb_p50 <= GOAL_P50_MS,
        },
        {
            "measure": "engine_vs_remote",
            **common,
            "divergences": divergences,
            "embedded_p50_ms": r(emb_p50),
            "embedded_p99_ms": r(percentile(emb, 99)),
            "remote_p10_ms": r(percentile(rem, 10)),
            "remote_p50_ms": r(rem_p50),
            "remote_p99_ms": r(percentile(rem, 99)),
            "speedup_p50": r(speedup, 2),
            "speedup_p99": r(percentile(rem, 99) / percentile(emb, 99), 2),
            "loadavg_1m": round(load_latency, 2),
            "goal": f"embedded >= {GOAL_SPEEDUP:g}x faster than the remote round trip (p50)",
            "met": divergences == 0 and speedup >= GOAL_SPEEDUP,
        },
        {
            "measure": "engine_threads",
            "evaluations_per_run": tp_calls,
            "rounds": rounds,
            "embedded_1_thread_per_s": r(one["per_s"], 1),
            "embedded_2_threads_per_s": r(two["per_s"], 1),
            "ratio_2_to_1": r(ratio, 2),
            "cores_used_1_thread": r(one["cores_used"], 2),
            "cores_used_2_threads": r(two["cores_used"], 2),
            "other_processes_cores_1_thread": r(one["other_processes_cores"], 2),
            "other_processes_cores_2_threads": r(two["other_processes_cores"], 2),
            "cpu_ms_per_eval_1_thread": r(one["cpu_ms_per_eval"]),
            "cpu_ms_per_eval_2_threads": r(two["cpu_ms_per_eval"]),
            "nproc": os.cpu_count(),
            "loadavg_1m": round(load_threads, 2),
            "goal": f"2 threads >= {GOAL_THREAD_SCALING:g}x the throughput of 1 (embedded)",
            "met": ratio >= GOAL_THREAD_SCALING,
        },
        {
            "measure": "engine_latency_breakdown",
            "embedded_p50_ms": r(emb_p50),
            "embedded_back_to_back_p50_ms": r(tight_p50),
            "libopa_call_only_back_to_back_p50_ms": r(library_p50),
            "embedded_python_share_p50_ms": r(tight_p50 - library_p50),
            "embedded_after_idle_extra_p50_ms": r(emb_p50 - tight_p50),
            "remote_p50_ms": r(rem_p50),
            "opa_raw_http_p50_ms": r(opa_http_p50),
            "opa_server_handler_p50_ms": r(opa_handler_p50),
            "opa_server_query_eval_p50_ms": r(opa_eval_p50),
            "embedded_load_s": r(embedded_load),
            "remote_load_s": r(remote_load),
            "goal": "evidence only (where each engine's time goes)",
            "met": None,
        },
    ]
