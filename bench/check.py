"""`golive check` on 1,000 generated manifests, side by side with `opa eval` on the same inputs.

Each manifest is one file holding an AgentDeployment and its AgentContract (half compliant,
half breaking one checklist item). Measured in one run, the two commands alternating
(golive, opa, then opa, golive, ...) for several rounds so that background load hits both
alike; each figure is the median of its rounds:

- golive_check_s: wall time of `python -m controller.cli check DIR --format json --at ...` as
  a subprocess: interpreter start and imports, YAML parsing, CRD-schema validation, contract
  meta-schema validation, policy-input building, compiling the bundle into OPA in-process
  (libopa) and evaluating each agent (one thread per core), the decision and the JSON report —
  everything a CI job pays;
- opa_eval_s: one `opa eval` process given the same 1,000 policy inputs (built in Python by
  build_policy_input exactly as `golive check` builds them) as one JSON array, the same modules
  (policy library + generated entry point) and a small wrapper that evaluates
  data.golive_entrypoint.violations_at_decision_time (time.now_ns() = input.context.now, as
  `golive check --at` decides) `with input as` each element. So OPA is measured on parsing the
  inputs, compiling and evaluating only (no YAML, no schema validation): the engine-only floor;
- golive_check_1_manifest_s: the same golive command on one manifest (the fixed start-up
  cost), so the per-manifest cost is the difference / 999;
- the answers of both are compared per agent (policy id and field of every violation);
- an in-process breakdown of `check()` (load, CRD-schema validation, engine calls, the rest),
  each beside what it replaced or what bounds it: libyaml's `CSafeLoader` with PyYAML's own
  constructor (golive's loader before), jsonschema walking every document (the validation
  before), and the library calls alone on pre-encoded inputs (what a batched call could save
  is the rest of `evaluate`: encoding the input, decoding the answer).
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench import POLICIES, REPO, agent_with_contract, progress, r
from controller.check.loader import load
from controller.check.run import check, validate
from controller.check.schema import SchemaSet
from controller.domain.contract import resolve_contract
from controller.domain.decision import RawViolation
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import load_bundle_dir
from controller.engine.decision_pipeline import PolicySet
from controller.engine.embedded import EmbeddedEngine, evaluation_time_ns
from controller.engine.protocol import encode_input
from kit.controlplane import tool_bin_dir

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
NOW_TEXT = "2026-11-25T17:00:00Z"
BREAKDOWN_MANIFESTS = 100

WRAPPER = """package golive_bench

import rego.v1

results := [r |
\tsome agent in input
\tviolations := data.golive_entrypoint.violations_at_decision_time with input as agent
\tr := {"name": agent.agent.metadata.name, "violations": violations}
]
"""


def write_manifests(directory: Path, count: int) -> list[dict[str, Any]]:
    """One file per agent (agent + contract); returns the policy inputs golive check builds."""
    directory.mkdir(parents=True, exist_ok=True)
    context = PolicyContext(Operation.CHECK, NOW)
    inputs = []
    for index in range(count):
        agent, contract = agent_with_contract("bench", index)
        (directory / f"{agent['metadata']['name']}.yaml").write_text(
            yaml.safe_dump_all([contract, agent], sort_keys=False)
        )
        resolution = resolve_contract(contract["metadata"]["name"], contract)
        inputs.append(build_policy_input(read_agent(agent), resolution, [], context))
    return inputs


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: list[str], ok_codes: tuple[int, ...]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, stdout) of one command."""
    cpu = _children_cpu_s()
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=300)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu_s() - cpu
    if proc.returncode not in ok_codes:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return elapsed, cpu, proc.stdout


def golive_check(paths: list[Path]) -> tuple[float, float, dict[str, Any]]:
    argv = [sys.executable, "-m", "controller.cli", "check", *map(str, paths)]
    argv += ["--format", "json", "--at", NOW_TEXT]
    elapsed, cpu, out = timed(argv, (0, 1))
    return elapsed, cpu, json.loads(out)


def opa_eval_argv(workdir: Path, inputs: list[dict[str, Any]]) -> list[str]:
    """The `opa eval` command over the same modules and inputs (files written once)."""
    bundle = load_bundle_dir(POLICIES)
    modules = workdir / "modules"
    for name, text in bundle.modules.items():
        path = modules / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (modules / "golive_bench_wrapper.rego").write_text(WRAPPER)
    input_file = workdir / "inputs.json"
    input_file.write_text(json.dumps(inputs))
    opa = tool_bin_dir(["opa"]) / "opa"
    argv = [str(opa), "eval", "--format", "json", "-d", str(modules), "--input", str(input_file)]
    return [*argv, "data.golive_bench.results"]


def opa_eval(argv: list[str]) -> tuple[float, float, list[Any]]:
    elapsed, cpu, out = timed(argv, (0,))
    results = json.loads(out)["result"][0]["expressions"][0]["value"]
    return elapsed, cpu, list(results)


def divergences(report: Mapping[str, Any], opa_results: list[Any]) -> int:
    """Agents whose violations differ. golive's `skipped` findings are left out: golive adds
    them without the engine (a check that could not run, e.g. alerts with no PrometheusRule
    given), so OPA never returns them."""
    golive = {
        a["name"]: sorted(
            (f["policy"], f["field"]) for f in a["findings"] if f["enforcement"] != "skipped"
        )
        for a in report["agents"]
    }
    opa = {
        x["name"]: sorted((v["policy"], v["field"]) for v in x["violations"]) for x in opa_results
    }
    return sum(golive.get(name) != found for name, found in opa.items()) + len(
        set(golive) - set(opa)
    )


class TimedEngine:
    """Wraps an engine and adds up the time spent in evaluate()."""

    def __init__(self, inner: EmbeddedEngine) -> None:
        self.inner = inner
        self.name = inner.name
        self.digest = inner.digest
        self.seconds = 0.0
        self.calls = 0
        self.inputs: list[Mapping[str, Any]] = []

    def evaluate(self, policy_input: Mapping[str, Any]) -> list[RawViolation]:
        self.inputs.append(policy_input)
        start = time.perf_counter()
        try:
            return self.inner.evaluate(policy_input)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1

    def close(self) -> None:
        self.inner.close()


def engine_split(engine: EmbeddedEngine, inputs: list[Mapping[str, Any]]) -> tuple[float, float]:
    """CPU seconds (this process, Go's threads included) of `evaluate` on the inputs it was
    given, and of the library calls alone on the same inputs encoded beforehand (the ctypes
    call: OPA parsing the input, evaluating, writing the answer; and reading it back): what a
    batched call into the library would still pay. Alternating, 3 rounds, the least of each."""
    encoded = [(encode_input(i), evaluation_time_ns(i)) for i in inputs]
    query = engine._query
    evaluate_s, library_s = [], []
    for _ in range(3):
        start = time.process_time()
        for policy_input in inputs:
            engine.evaluate(policy_input)
        evaluate_s.append(time.process_time() - start)
        start = time.process_time()
        for text, now_ns in encoded:
            query.evaluate(text, now_ns, engine.timeout)
        library_s.append(time.process_time() - start)
    return min(evaluate_s), min(library_s)


def cpu_side_by_side(*fns: Callable[[], object], rounds: int = 3) -> list[float]:
    """CPU seconds of each function, taking turns for `rounds` rounds, the least of each: on a
    busy machine CPU time moves less than wall time, and taking turns exposes both to the
    same load."""
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for index, fn in enumerate(fns):
            start = time.process_time()
            fn()
            best[index] = min(best[index], time.process_time() - start)
    return best


def breakdown(directory: Path) -> dict[str, float]:
    """check() in this process on `directory`, split into load, CRD-schema validation, engine
    and the rest (policy inputs with the contract meta-schema checks, decisions, report); plus
    the fixed costs of a `golive check` process: Python start-up with golive's imports, and the
    bundle load (parse with OPA, compile, smoke evaluation)."""
    import_s, import_cpu, _ = timed([sys.executable, "-c", "import controller.cli"], (0,))
    python_s, python_cpu, _ = timed([sys.executable, "-c", "pass"], (0,))
    start = time.perf_counter()
    bundle = load_bundle_dir(POLICIES)
    bundle_s = time.perf_counter() - start
    start = time.perf_counter()
    engine = TimedEngine(EmbeddedEngine(bundle))
    compile_s = time.perf_counter() - start
    try:
        start = time.perf_counter()
        manifests = load([str(directory)])
        load_s = time.perf_counter() - start
        schemas = SchemaSet()
        start = time.perf_counter()
        validate(manifests, schemas)
        validate_s = time.perf_counter() - start
        # The same validation by jsonschema alone (every document walked, as before).
        walked = SchemaSet()
        walked.checks.clear()
        start = time.perf_counter()
        validate(load([str(directory)]), walked)
        jsonschema_s = time.perf_counter() - start
        start = time.perf_counter()
        check([str(directory)], [], PolicySet(engine, bundle), NOW, schemas)  # type: ignore[arg-type]
        total_s = time.perf_counter() - start
        evaluate_cpu_s, library_cpu_s = engine_split(engine.inner, engine.inputs)
    finally:
        engine.close()
    # Side by side, for the evidence: the same files through libyaml's CSafeLoader, and the
    # contract meta-schema validation alone (resolve_contract, once per agent).
    texts = [path.read_text() for path in sorted(directory.glob("*.yaml"))]
    start = time.perf_counter()
    for text in texts:
        list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    csafe_s = time.perf_counter() - start
    paths = sorted(directory.glob("*.yaml"))
    yaml_cpu, csafe_cpu = cpu_side_by_side(
        lambda: load([str(directory)]),
        lambda: [list(yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader)) for p in paths],
    )
    schema_cpu, jsonschema_cpu = cpu_side_by_side(
        lambda: validate(manifests, schemas), lambda: validate(manifests, walked)
    )
    contracts = [d.obj for d in manifests.documents if d.kind == "AgentContract"]
    start = time.perf_counter()
    for obj in contracts:
        resolve_contract(obj["metadata"]["name"], obj)
    contract_s = time.perf_counter() - start
    return {
        "python_startup_s": r(python_s),
        "python_startup_with_golive_imports_s": r(import_s),
        "python_startup_cpu_s": r(python_cpu),
        "python_startup_with_golive_imports_cpu_s": r(import_cpu),
        "inproc_bundle_load_s": r(bundle_s),
        "inproc_engine_start_s": r(compile_s),
        "inproc_check_total_s": r(total_s),
        "inproc_yaml_load_s": r(load_s),
        "inproc_yaml_load_with_csafeloader_s": r(csafe_s),
        "inproc_yaml_load_cpu_s": r(yaml_cpu),
        "inproc_yaml_load_with_csafeloader_cpu_s": r(csafe_cpu),
        "inproc_contract_schema_checks_s": r(contract_s),
        "inproc_crd_schema_validation_s": r(validate_s),
        "inproc_crd_schema_validation_jsonschema_alone_s": r(jsonschema_s),
        "inproc_crd_schema_validation_cpu_s": r(schema_cpu),
        "inproc_crd_schema_validation_jsonschema_alone_cpu_s": r(jsonschema_cpu),
        "inproc_engine_evaluate_s": r(engine.seconds),
        "inproc_engine_evaluate_mean_ms": r(engine.seconds / max(1, engine.calls) * 1000),
        "inproc_engine_evaluate_cpu_s": r(evaluate_cpu_s),
        "inproc_engine_library_calls_cpu_s": r(library_cpu_s),
        "inproc_rest_s": r(total_s - load_s - validate_s - engine.seconds),
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    count = 100 if quick else 1000
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="golive-bench-check-") as tmp:
        workdir = Path(tmp)
        manifests = workdir / "manifests"
        progress(f"check: writing {count} manifests")
        inputs = write_manifests(manifests, count)
        opa_argv = opa_eval_argv(workdir, inputs)
        golive_runs: list[tuple[float, float]] = []
        opa_runs: list[tuple[float, float]] = []
        loads = []
        progress("check: golive check on 1 manifest (start-up cost)")
        one_s, _, _ = golive_check([manifests / "agent-00000.yaml"])
        for round_index in range(rounds):
            loads.append(os.getloadavg()[0])
            progress(f"check: round {round_index + 1}/{rounds}: golive check and opa eval")
            for which in ("golive", "opa") if round_index % 2 == 0 else ("opa", "golive"):
                if which == "golive":
                    wall, cpu, report = golive_check([manifests])
                    golive_runs.append((wall, cpu))
                else:
                    wall, cpu, opa_results = opa_eval(opa_argv)
                    opa_runs.append((wall, cpu))
        sample = workdir / "sample"
        sample.mkdir()
        for path in sorted(manifests.glob("*.yaml"))[:BREAKDOWN_MANIFESTS]:
            (sample / path.name).write_bytes(path.read_bytes())
        progress(f"check: in-process breakdown on {BREAKDOWN_MANIFESTS} of the manifests")
        parts = breakdown(sample)
    summary = report["summary"]
    if summary["agents"] != count or summary["input_errors"]:
        raise RuntimeError(f"golive check did not decide every manifest: {summary}")
    check_s = statistics.median(w for w, _ in golive_runs)
    opa_s = statistics.median(w for w, _ in opa_runs)
    check_cpu = statistics.median(c for _, c in golive_runs)
    opa_cpu = statistics.median(c for _, c in opa_runs)
    ratio = check_s / opa_s
    return [
        {
            "measure": "check_manifests",
            "manifests": count,
            "rounds": rounds,
            "admitted": summary["admitted"],
            "blocked": summary["blocked"],
            "golive_check_s": r(check_s),
            "golive_check_runs_s": [r(w) for w, _ in golive_runs],
            "golive_check_cpu_s": r(check_cpu),
            "golive_check_1_manifest_s": r(one_s),
            "golive_check_per_manifest_ms": r((check_s - one_s) / max(1, count - 1) * 1000),
            "opa_eval_s": r(opa_s),
            "opa_eval_runs_s": [r(w) for w, _ in opa_runs],
            "opa_eval_cpu_s": r(opa_cpu),
            "opa_eval_per_manifest_ms": r(opa_s / count * 1000),
            "ratio_golive_to_opa": r(ratio, 2),
            "ratio_golive_to_opa_cpu": r(check_cpu / opa_cpu, 2),
            "divergences": divergences(report, opa_results),
            "loadavg_1m_per_round": [round(x, 2) for x in loads],
            "goal": f"golive check on {count} manifests no slower than opa eval on the same inputs",
            "met": ratio <= 1.0,
        },
        {
            "measure": "check_breakdown",
            "manifests": BREAKDOWN_MANIFESTS,
            **parts,
            "goal": "evidence only (where golive check spends its time)",
            "met": None,
        },
    ]
