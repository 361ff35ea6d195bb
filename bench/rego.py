"""The Rego library today (policies/) against the frozen copy of the library before the rewrite
of issue 23 (bench/baseline_policies/), on OPA's Go evaluator in this process (libopa).

Both libraries get the same generated entry point and are compiled once into a prepared query
each (`data.golive_entrypoint.violations`, as the embedded engine evaluates it). The inputs are
the engines benchmark's 200 generated agents (half compliant, half breaking one checklist item)
and every sample manifest of the library (CHECK and CREATE), as the parity test builds them.
What is timed is the libopa call alone on pre-encoded input (OPA parsing the input, evaluating,
marshalling the result), so Python's share is left out and both sides pay the same floor.

1. rego_verdicts: both libraries' whole answers (every violation, messages included) compared
   on every input; any difference fails every goal of this module.
2. rego_library_speedup: interleaved (baseline, rewrite, rewrite, baseline, ...) so that what
   else the machine does hits both alike; and back to back (blocks of calls of one library,
   the blocks alternating): p50 and p99 of each, the ratio of the p50s.
3. rego_library_latency: the rewrite's p50 back to back against the 0.5 ms goal.
4. rego_floor (evidence): the same call on a library that denies nothing (the generated entry
   point over 30 empty packages): OPA's input parse and query set-up, which no rewrite removes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import yaml

from bench import POLICIES, REPO, percentile, progress, r
from bench.engines import NOW, policy_inputs
from controller.domain.contract import resolve_contract
from controller.domain.model import parse_agent_exception, read_agent
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import (
    ENTRYPOINT_MODULE,
    ENTRYPOINT_QUERY,
    generate_entrypoint,
    load_bundle_dir,
)
from controller.engine.embedded import evaluation_time_ns
from controller.engine.libopa import PreparedQuery
from controller.engine.protocol import encode_input

BASELINE = REPO / "bench" / "baseline_policies"
GOAL_SPEEDUP = 4.0
GOAL_P50_MS = 0.5
TIMEOUT_S = 5.0


def sample_inputs() -> list[dict[str, Any]]:
    """Every sample manifest's agents, decided at CHECK (contract looked up) and CREATE
    (lookup skipped), with the sample's Namespace labels and exceptions."""
    inputs = []
    for path in sorted(POLICIES.glob("*/*/samples/*/*.yaml.sample")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        contracts = {
            d["metadata"]["name"]: d for d in documents if d.get("kind") == "AgentContract"
        }
        labels = {
            str(d["metadata"]["name"]): dict(d["metadata"].get("labels") or {})
            for d in documents
            if d.get("kind") == "Namespace"
        }
        exceptions = [
            parse_agent_exception(d) for d in documents if d.get("kind") == "AgentException"
        ]
        for document in (d for d in documents if d.get("kind") == "AgentDeployment"):
            agent = read_agent(document)
            name = agent.contract_name
            for operation, skipped in ((Operation.CHECK, False), (Operation.CREATE, True)):
                found = contracts.get(name) if name else None
                contract = resolve_contract(name, found, lookup_skipped=skipped)
                context = PolicyContext(operation, NOW, labels.get(agent.namespace, {}))
                inputs.append(build_policy_input(agent, contract, exceptions, context))
    return inputs


def _query(root: Path) -> PreparedQuery:
    return PreparedQuery(dict(load_bundle_dir(root).modules), ENTRYPOINT_QUERY)


def _floor_query(root: Path) -> PreparedQuery:
    """The generated entry point over the library's packages, each denying nothing."""
    bundle = load_bundle_dir(root)
    packages = sorted(p for p in bundle.policies)
    modules = {
        f"{p}.rego": f"package {p}\n\nimport rego.v1\n\ndeny contains 1 if input.nothing\n"
        for p in packages
    }
    modules[ENTRYPOINT_MODULE] = generate_entrypoint(packages)
    return PreparedQuery(modules, ENTRYPOINT_QUERY)


def _answer(query: PreparedQuery, payload: bytes, now_ns: int) -> str:
    result = query.evaluate(payload, now_ns, TIMEOUT_S)
    violations = result[0]["expressions"][0]["value"]
    return json.dumps(sorted(json.dumps(v, sort_keys=True) for v in violations))


def _timed(query: PreparedQuery, payload: bytes, now_ns: int) -> float:
    start = time.perf_counter()
    query.evaluate(payload, now_ns, TIMEOUT_S)
    return (time.perf_counter() - start) * 1000


def interleaved(
    base: PreparedQuery, new: PreparedQuery, payloads: list[tuple[bytes, int]], calls: int
) -> tuple[list[float], list[float]]:
    b: list[float] = []
    n: list[float] = []
    for i in range(calls):
        payload, now_ns = payloads[i % len(payloads)]
        pair = [(base, b), (new, n)]
        for query, samples in pair if i % 2 == 0 else reversed(pair):
            samples.append(_timed(query, payload, now_ns))
    return b, n


def back_to_back(
    base: PreparedQuery,
    new: PreparedQuery,
    payloads: list[tuple[bytes, int]],
    calls: int,
    blocks: int,
) -> tuple[list[float], list[float]]:
    """`blocks` alternating blocks (baseline first, then the rewrite first, ...) of calls of
    one library in a row."""
    b: list[float] = []
    n: list[float] = []
    per_block = calls // blocks
    for block in range(blocks):
        order = [(base, b), (new, n)] if block % 2 == 0 else [(new, n), (base, b)]
        for query, samples in order:
            for i in range(per_block):
                payload, now_ns = payloads[(block * per_block + i) % len(payloads)]
                samples.append(_timed(query, payload, now_ns))
    return b, n


def run(quick: bool = False) -> list[dict[str, Any]]:
    calls = 400 if quick else 4000
    blocks = 4 if quick else 8
    progress("rego: building inputs (200 generated agents and every sample)")
    inputs = policy_inputs(100 if quick else 200) + sample_inputs()
    payloads = [(encode_input(x), evaluation_time_ns(x)) for x in inputs]
    base = _query(BASELINE)
    new = _query(POLICIES)
    floor = _floor_query(POLICIES)
    try:
        progress(f"rego: comparing both libraries' answers on {len(payloads)} inputs")
        divergences = 0
        violating = 0
        for payload, now_ns in payloads:
            expected = _answer(base, payload, now_ns)
            divergences += expected != _answer(new, payload, now_ns)
            violating += expected != "[]"
        for payload, now_ns in payloads[:100]:  # warm both (and the floor) before timing
            for query in (base, new, floor):
                query.evaluate(payload, now_ns, TIMEOUT_S)
        progress(f"rego: {calls} interleaved calls of each library")
        load_interleaved = os.getloadavg()[0]
        base_i, new_i = interleaved(base, new, payloads, calls)
        progress(f"rego: {calls} calls of each library back to back, {blocks} blocks")
        load_b2b = os.getloadavg()[0]
        base_b, new_b = back_to_back(base, new, payloads, calls, blocks)
        progress("rego: the floor (a library that denies nothing)")
        floor_b = [_timed(floor, *payloads[i % len(payloads)]) for i in range(calls // 2)]
    finally:
        for query in (base, new, floor):
            query.close()

    def p(samples: list[float], q: float) -> float:
        return r(percentile(samples, q))

    speedup_i = percentile(base_i, 50) / percentile(new_i, 50)
    speedup_b = percentile(base_b, 50) / percentile(new_b, 50)
    identical = divergences == 0
    common = {"inputs": len(payloads), "calls_each": calls, "divergences": divergences}
    return [
        {
            "measure": "rego_verdicts",
            "inputs": len(payloads),
            "inputs_with_violations": violating,
            "divergences": divergences,
            "goal": "identical answers (every violation, messages included) on every input",
            "met": identical,
        },
        {
            "measure": "rego_library_speedup",
            **common,
            "baseline_interleaved_p50_ms": p(base_i, 50),
            "baseline_interleaved_p99_ms": p(base_i, 99),
            "rewrite_interleaved_p50_ms": p(new_i, 50),
            "rewrite_interleaved_p99_ms": p(new_i, 99),
            "speedup_interleaved_p50": r(speedup_i, 2),
            "baseline_back_to_back_p50_ms": p(base_b, 50),
            "baseline_back_to_back_p99_ms": p(base_b, 99),
            "rewrite_back_to_back_p50_ms": p(new_b, 50),
            "rewrite_back_to_back_p99_ms": p(new_b, 99),
            "speedup_back_to_back_p50": r(speedup_b, 2),
            "loadavg_1m": round(load_interleaved, 2),
            "loadavg_1m_back_to_back": round(load_b2b, 2),
            "goal": f"rewritten library >= {GOAL_SPEEDUP:g}x faster than the baseline (p50, "
            "interleaved and back to back, same inputs, same run)",
            "met": identical and min(speedup_i, speedup_b) >= GOAL_SPEEDUP,
        },
        {
            "measure": "rego_library_latency",
            **common,
            "rewrite_back_to_back_p50_ms": p(new_b, 50),
            "rewrite_back_to_back_p99_ms": p(new_b, 99),
            "loadavg_1m": round(load_b2b, 2),
            "goal": f"rewritten library p50 <= {GOAL_P50_MS:g} ms back to back",
            "met": identical and percentile(new_b, 50) <= GOAL_P50_MS,
        },
        {
            "measure": "rego_floor",
            "calls": len(floor_b),
            "floor_p50_ms": p(floor_b, 50),
            "floor_p99_ms": p(floor_b, 99),
            "baseline_above_floor_p50_ms": r(percentile(base_b, 50) - percentile(floor_b, 50)),
            "rewrite_above_floor_p50_ms": r(percentile(new_b, 50) - percentile(floor_b, 50)),
            "goal": "evidence only (OPA's input parse and entry point over packages that deny "
            "nothing: the part of each call no Rego rewrite removes)",
            "met": None,
        },
    ]
