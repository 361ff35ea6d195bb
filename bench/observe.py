"""One poll of a real Prometheus at 1,000 and 5,000 agents, side by side with `curl` (issue 19).

The data: scraping 5,000 targets is too heavy for a 2-core machine next to the measurement, so
each fleet's series are written as OpenMetrics text and loaded with `promtool tsdb
create-blocks-from openmetrics` into a fresh data directory; `prometheus` (built by
scripts/tools.sh) then serves it on loopback, one server per fleet size so that the queries at
1,000 agents see only 1,000 agents' series. Per agent, at 15 s resolution from 6 minutes before
the poll's moment `at` to 30 minutes after it: `up` = 1, the requests counter
(`gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat"}`), for one agent
in five its failures (the same metric with `error_type="timeout"`; one in twenty fails 25% of
its requests, the others 1%), and for nine in ten a cost counter (`gen_ai_client_cost_usd_total`;
the tenth is judged on its declared cost). Every series carries `namespace` and `agent`, as the
relabelling of docs/observed.md gives them. `up` is imported like any series (no scrape made it),
which is all the query `sum by (namespace, agent) (up{...})` can tell apart.

The data reaches 30 minutes past `at` because Prometheus evaluates the alerting rules (a rules
file with four, one firing for the agents failing 25%, one pending for them, two inactive) at
the wall clock, not at `at`: so `/api/v1/rules` answers with real alert instances, as it would
in a cluster where some agents misbehave. The agents declare the alerts they watch (the example
agent's `InvoiceTriageErrorRate` and `InvoiceTriageLatencyP99`), so observe_agent looks them up.
The queries are evaluated at `at` (a fixed moment inside the data), as the operator's poll does
with its own `datetime.now()`.

Per fleet size, in rounds whose order rotates so that background load hits every method alike
(15 rounds, each a few tenths of a second at most; medians):

- raw_parallel: one `curl --parallel --parallel-max 4` process sending the poll's 4 instant
  queries (the exact PromQL and `time` golive sends) and `GET /api/v1/rules?type=alert`, 4 at a
  time like golive's 4 threads, answers to /dev/null; wall time of the process (its start-up,
  ~curl_process_s, is in it; raw_parallel_minus_curl_start_s takes it out);
- raw_sequential: the same 5 requests from one curl process, one after the other (evidence);
- golive_poll: `poll(client, names, at)` of controller/observe/prometheus.py on a client kept
  open across rounds, as the operator keeps it: the same 5 requests from 4 threads, the JSON
  decoded and checked, the vectors and rules parsed into a FleetObservation;
- golive_poll_observe: what Runtime.observe_once does per poll without its event loop: the
  metric names of every agent, the poll, then observe_agent and needs_decision for every agent
  against the previous poll's observation. Wall and CPU (time.process_time(): this process, all
  threads) per poll and per agent.

Prometheus' own CPU per poll (utime + stime from /proc, 10 ms ticks, so totals over the rounds
divided by the rounds) is reported for curl and golive: the server's work is the same. Then a
breakdown (evidence): the 5 GETs alone from urllib3, json.loads of the bodies and parsing (with
and without the cyclic GC), and observe_agent for every agent with and without the alert look-up.

Goals (issue 19): a constant number of queries per poll (equal at 1,000 and 5,000 agents);
golive's poll <= 1.5 x the raw queries' time (raw_parallel, the same requests at the same
concurrency). Every process started here is stopped in a finally; only loopback is used.
"""

from __future__ import annotations

import gc
import json
import math
import os
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import agent, progress, r
from controller.domain.observed import (
    DEFAULT_COST,
    DEFAULT_ERROR_LABEL,
    DEFAULT_REQUESTS,
    AgentObservation,
    MetricNames,
    metric_names,
    monthly_limit,
    needs_decision,
    observe_agent,
    parse_rules,
    parse_vector,
    poll_queries,
)
from controller.observe.prometheus import PrometheusClient, PrometheusConfig, poll
from kit.controlplane import ManagedProcess, free_port, http_ok, tool_bin_dir, wait_until

NAMESPACE = "bench"
STEP_S = 15  # a usual scrape interval
BEFORE_S = 6 * 60  # more than the 5m rate window before `at`
AFTER_S = 30 * 60  # rules are evaluated at the wall clock: the run must end before this
WINDOW = "5m"
GOAL_RATIO = 1.5
CONCURRENCY = 4  # golive's poll: min(4, queries + 1) threads
ERROR_ALERT = "InvoiceTriageErrorRate"  # declared by every generated agent (the example's)

RULES = f"""\
groups:
- name: bench-agents
  interval: 15s
  rules:
  - alert: {ERROR_ALERT}
    expr: >-
      sum by (namespace, agent) (rate({DEFAULT_REQUESTS}{{{DEFAULT_ERROR_LABEL}!=""}}[5m]))
      / sum by (namespace, agent) (rate({DEFAULT_REQUESTS}[5m])) > 0.1
    labels: {{severity: page}}
  - alert: AgentErrorsSustained
    expr: >-
      sum by (namespace, agent) (rate({DEFAULT_REQUESTS}{{{DEFAULT_ERROR_LABEL}!=""}}[5m]))
      / sum by (namespace, agent) (rate({DEFAULT_REQUESTS}[5m])) > 0.05
    for: 1h
    labels: {{severity: ticket}}
  - alert: InvoiceTriageLatencyP99
    expr: sum by (namespace, agent) (rate({DEFAULT_REQUESTS}[5m])) > 1e9
    for: 5m
  - alert: AgentDown
    expr: up{{agent!=""}} == 0
    for: 5m
"""

CONFIG = """\
global:
  evaluation_interval: 15s
rule_files: ["{rules}"]
"""


@dataclass(frozen=True)
class Traffic:
    """Agent `index`'s rates per second (deterministic, so every run reads the same data)."""

    requests: float
    error_ratio: float | None  # None: no failure series at all
    cost_per_request: float | None  # None: no cost counter

    @classmethod
    def of(cls, index: int) -> Traffic:
        requests = (1000 + index % 1000) * (0.5 + (index % 7) / 4) / 86_400
        error_ratio = None
        if index % 5 == 0:
            error_ratio = 0.25 if index % 20 == 0 else 0.01
        cost = None if index % 10 == 9 else 0.002 + (index % 5) * 0.001
        return cls(requests, error_ratio, cost)


def _series(name: str, labels: str, rate: float, base: float, stamps: range) -> Iterator[str]:
    start = stamps.start
    for t in stamps:
        yield f"{name}{{{labels}}} {base + rate * (t - start):.4f} {t}\n"


def write_openmetrics(path: Path, count: int, at: int) -> int:
    """The fleet's series as OpenMetrics text (families contiguous, each series' samples in
    time order, as promtool's importer reads them); returns the number of series."""
    stamps = range(at - BEFORE_S, at + AFTER_S + 1, STEP_S)
    traffic = [Traffic.of(i) for i in range(count)]
    labels = [f'namespace="{NAMESPACE}",agent="agent-{i:05d}"' for i in range(count)]
    series = 0
    with path.open("w") as out:
        out.write("# TYPE up gauge\n")
        for i in range(count):
            out.writelines(_series("up", labels[i], 0.0, 1.0, stamps))
        series += count
        # No TYPE for the OTel exporter's `_count` series: as an untyped family OpenMetrics
        # takes the name as it is (a `histogram` family would want _bucket and _sum too).
        for i in range(count):
            t = traffic[i]
            ok = t.requests * (1 - (t.error_ratio or 0.0))
            chat = f'{labels[i]},gen_ai_operation_name="chat"'
            out.writelines(_series(DEFAULT_REQUESTS, chat, ok, 100.0 * i, stamps))
            series += 1
            if t.error_ratio is not None:
                errors = t.requests * t.error_ratio
                failed = f'{chat},{DEFAULT_ERROR_LABEL}="timeout"'
                out.writelines(_series(DEFAULT_REQUESTS, failed, errors, float(i), stamps))
                series += 1
        out.write(f"# TYPE {DEFAULT_COST.removesuffix('_total')} counter\n")
        for i in range(count):
            t = traffic[i]
            if t.cost_per_request is not None:
                rate = t.requests * t.cost_per_request
                out.writelines(_series(DEFAULT_COST, labels[i], rate, 0.5 * i, stamps))
                series += 1
        out.write("# EOF\n")
    return series


def _proc_cpu_s(pid: int) -> float:
    """utime + stime of a process from /proc (clock ticks, usually 10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Fleet:
    """A Prometheus serving `count` agents' imported series and the bench's alerting rules."""

    def __init__(self, workdir: Path, count: int, at: int) -> None:
        self.workdir, self.count, self.at = workdir, count, at
        self.process: ManagedProcess | None = None
        self.port = 0
        self.series = 0
        self.import_s = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, bin_dir: Path) -> Fleet:
        self.workdir.mkdir(parents=True)
        data, text = self.workdir / "data", self.workdir / "fleet.om"
        progress(f"observe: {self.count} agents: writing OpenMetrics")
        self.series = write_openmetrics(text, self.count, self.at)
        progress(f"observe: {self.count} agents: promtool tsdb create-blocks-from openmetrics")
        started = time.perf_counter()
        proc = subprocess.run(
            [
                *(str(bin_dir / "promtool"), "tsdb", "create-blocks-from", "openmetrics", "-q"),
                *(str(text), str(data)),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.import_s = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"promtool import failed: {proc.stderr[-2000:]}")
        text.unlink()  # hundreds of MB at 5,000 agents; the blocks hold it now
        rules = self.workdir / "rules.yaml"
        rules.write_text(RULES)
        config = self.workdir / "prometheus.yml"
        config.write_text(CONFIG.format(rules=rules))
        self.port = free_port()
        self.process = ManagedProcess(
            "prometheus",
            [
                str(bin_dir / "prometheus"),
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={data}",
                # The imported blocks are kept whatever their age.
                "--storage.tsdb.retention.time=100y",
                # Rule evaluation at the wall clock writes ALERTS into a head that starts after
                # the imported blocks' end: "out of bounds" warnings, not errors of the bench.
                "--log.level=error",
            ],
            self.workdir / "prometheus.log",
        )
        self.process.start()
        wait_until(lambda: http_ok(f"{self.url}/-/ready"), 120, "prometheus /-/ready", self.process)
        wait_until(self._rules_evaluated, 120, "the alerting rules' first evaluation", self.process)
        return self

    def _rules_evaluated(self) -> bool:
        with urllib.request.urlopen(f"{self.url}/api/v1/rules?type=alert", timeout=10) as answer:
            groups = json.loads(answer.read())["data"]["groups"]
        return bool(groups) and all(not g["lastEvaluation"].startswith("0001") for g in groups)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


def raw_urls(base: str, queries: list[str], at: int) -> list[str]:
    """The requests of one poll as golive sends them (urllib3 encodes fields the same way)."""
    urls = [f"{base}/api/v1/rules?" + urllib.parse.urlencode({"type": "alert"})]
    urls += [
        f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": f"{at:.3f}"})
        for q in queries
    ]
    return urls


def curl_argv(urls: list[str], parallel: bool) -> list[str]:
    argv = ["curl", "-sS", "--fail", "-H", "Accept: application/json"]
    argv += ["-w", "%{http_code} %{size_download} %{time_total}\\n"]
    if parallel:
        argv += ["--parallel", "--parallel-max", str(CONCURRENCY)]
    for url in urls:
        argv += ["-o", "/dev/null", url]
    return argv


def run_curl(argv: list[str]) -> tuple[float, int, float]:
    """(wall s, bytes received, sum of curl's own time_total per request) of one curl process;
    every answer must be HTTP 200. The last figure leaves out curl's start-up: for sequential
    requests it is the time of the requests alone."""
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    answers = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not answers or any(a[0] != "200" for a in answers):
        raise RuntimeError(f"curl exited {proc.returncode}: {proc.stdout!r} {proc.stderr[-1000:]}")
    return elapsed, sum(int(a[1]) for a in answers), sum(float(a[2]) for a in answers)


class Operator:
    """Runtime.observe_once's work without the event loop and the queue."""

    def __init__(self, client: PrometheusClient, agents: list[dict[str, Any]], at: datetime):
        self.client, self.agents, self.at = client, agents, at
        self.last_seen: dict[tuple[str, str], AgentObservation | None] = {}
        self.redecisions = 0
        self.observe_wall = 0.0
        self.observe_cpu = 0.0

    def observe_once(self) -> None:
        names = [metric_names(a.get("spec")) for a in self.agents]
        fleet, _ = poll(self.client, names, self.at)
        if fleet.error:
            raise RuntimeError(f"poll failed: {fleet.error}")
        wall, cpu = time.perf_counter(), time.process_time()
        redecisions = 0
        for obj in self.agents:
            meta, spec = obj["metadata"], obj.get("spec")
            key = (meta["namespace"], meta["name"])
            seen = observe_agent(fleet, key[0], key[1], spec)
            if key not in self.last_seen or needs_decision(
                self.last_seen[key], seen, monthly_limit(spec)
            ):
                redecisions += 1
            self.last_seen[key] = seen
        self.observe_wall = time.perf_counter() - wall
        self.observe_cpu = time.process_time() - cpu
        self.redecisions = redecisions


def check_observation(
    client: PrometheusClient, agents: list[dict[str, Any]], at: datetime
) -> dict[str, int]:
    """What one poll read, checked against the data written: every agent scraped with its
    requests, the generated errors and costs, the error alert firing for one agent in 20."""
    fleet, stats = poll(client, [MetricNames()], at)
    if fleet.error:
        raise RuntimeError(f"poll failed: {fleet.error}")
    seen = [
        observe_agent(fleet, o["metadata"]["namespace"], o["metadata"]["name"], o["spec"])
        for o in agents
    ]
    counts = {
        "agents_scraped": sum(s.scraped for s in seen),
        "agents_with_requests": sum(s.requests_per_day is not None for s in seen),
        "agents_cost_from_counter": sum(s.cost_source == "counter" for s in seen),
        "agents_error_alert_firing": sum(
            s.alerts.get(ERROR_ALERT, (False, ""))[1] == "firing" for s in seen
        ),
        "alert_instances": sum(
            len(rule.instances) for rules in fleet.alerts.values() for rule in rules
        ),
        "queries_per_poll": stats.queries,
    }
    n = len(agents)
    expected = {
        "agents_scraped": n,
        "agents_with_requests": n,
        "agents_cost_from_counter": n - n // 10,
        "agents_error_alert_firing": math.ceil(n / 20),
    }
    wrong = {k: (counts[k], v) for k, v in expected.items() if counts[k] != v}
    if wrong:
        raise RuntimeError(f"the poll did not read the data written (got, expected): {wrong}")
    return counts


def breakdown(
    client: PrometheusClient, agents: list[dict[str, Any]], at: datetime, rounds: int
) -> dict[str, float]:
    """Where golive's poll and observe time goes (medians over `rounds`): the poll's 5 GETs from
    4 threads with the bodies only (urllib3, as poll sends them), json.loads of the bodies,
    parsing them into vectors and rules (both also with the cyclic GC off), and observe_agent for
    every agent with and without the alert look-up (a declared alert's state is searched among
    all the rule's instances)."""
    names = [metric_names(a.get("spec")) for a in agents]
    queries = poll_queries(names, WINDOW)
    requests = [("/api/v1/rules", {"type": "alert"})]
    requests += [
        ("/api/v1/query", {"query": q.promql, "time": f"{at.timestamp():.3f}"}) for q in queries
    ]

    def body(request: tuple[str, dict[str, str]]) -> bytes:
        path, fields = request
        url = f"{client.base}{path}"
        return bytes(client.http.request("GET", url, fields=fields, headers=client._headers()).data)

    parts: dict[str, list[float]] = {}

    def timed(name: str, started: float) -> None:
        parts.setdefault(name, []).append(time.perf_counter() - started)

    fleet, _ = poll(client, names, at)
    quiet = replace(fleet, alerts={})
    for _ in range(rounds):
        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            bodies = list(pool.map(body, requests))
        timed("http_bodies_only_s", started)
        # Decoding allocates three containers per sample (two dicts, a list), so the cyclic GC
        # collects during it, and its older generations walk every live object (here, as in the
        # operator's cache, all the agents' bodies). Timed as golive runs it and with the GC
        # off, to tell the two apart.
        for suffix, collect in (("", True), ("_gc_off", False)):
            if not collect:
                gc.disable()
            try:
                started = time.perf_counter()
                answers = [json.loads(b) for b in bodies]
                timed(f"json_decode{suffix}_s", started)
                started = time.perf_counter()
                parse_rules(answers[0])
                for query, answer in zip(queries, answers[1:], strict=True):
                    parse_vector(answer, query.promql)
                timed(f"parse{suffix}_s", started)
            finally:
                gc.enable()
        for name, seen in (("observe_agents_s", fleet), ("observe_agents_no_alerts_s", quiet)):
            started = time.perf_counter()
            for obj in agents:
                observe_agent(
                    seen, obj["metadata"]["namespace"], obj["metadata"]["name"], obj["spec"]
                )
            timed(name, started)
    return {name: statistics.median(values) for name, values in parts.items()}


def measure(fleet: Fleet, agents: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    at = datetime.fromtimestamp(fleet.at, UTC)
    client = PrometheusClient(PrometheusConfig(fleet.url, window=WINDOW))
    try:
        counts = check_observation(client, agents, at)
        names = [metric_names(a.get("spec")) for a in agents]
        queries = [q.promql for q in poll_queries(names, WINDOW)]
        urls = raw_urls(fleet.url, queries, fleet.at)
        parallel, sequential = curl_argv(urls, True), curl_argv(urls, False)
        tiny = ["curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{http_code} 0 0\\n"]
        tiny.append(f"{fleet.url}/-/healthy")
        operator = Operator(client, agents, at)
        samples: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        prom_cpu: dict[str, float] = {}
        sizes: list[int] = []
        curl_own: dict[str, list[float]] = {}

        def golive_poll() -> None:
            fleet_seen, _ = poll(client, names, at)
            if fleet_seen.error:
                raise RuntimeError(f"poll failed: {fleet_seen.error}")

        def raw(name: str, argv: list[str]) -> Callable[[], None]:
            def send() -> None:
                _, size, own = run_curl(argv)
                sizes.append(size)
                curl_own.setdefault(name, []).append(own)

            return send

        methods: dict[str, Callable[[], None]] = {
            "raw_parallel": raw("raw_parallel", parallel),
            "golive_poll": golive_poll,
            "raw_sequential": raw("raw_sequential", sequential),
            "golive_poll_observe": operator.observe_once,
            "curl_process": raw("curl_process", tiny),
        }
        for method in methods.values():  # warm-up: page cache of the blocks, connections
            method()
        observe_parts: list[tuple[float, float]] = []
        order = list(methods)
        for round_index in range(rounds):
            progress(f"observe: {len(agents)} agents: round {round_index + 1}/{rounds}")
            shift = round_index % len(order)
            for name in order[shift:] + order[:shift]:
                prom_before = _proc_cpu_s(fleet.pid)
                wall, own = time.perf_counter(), time.process_time()
                methods[name]()
                samples.setdefault(name, []).append(time.perf_counter() - wall)
                cpu.setdefault(name, []).append(time.process_time() - own)
                prom_cpu[name] = prom_cpu.get(name, 0.0) + _proc_cpu_s(fleet.pid) - prom_before
                if name == "golive_poll_observe":
                    observe_parts.append((operator.observe_wall, operator.observe_cpu))
        progress(f"observe: {len(agents)} agents: breakdown")
        parts = breakdown(client, agents, at, max(3, rounds // 3))
        if time.time() > fleet.at + AFTER_S - 60:
            raise RuntimeError("the run outlasted the imported data: alert states are stale")
    finally:
        client.close()
    med = {name: statistics.median(values) for name, values in samples.items()}
    med_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    return {
        "counts": counts,
        "median": med,
        "median_cpu": med_cpu,
        "runs": samples,
        "prometheus_cpu_per_poll": {k: v / rounds for k, v in prom_cpu.items()},
        "observe_wall": statistics.median(w for w, _ in observe_parts),
        "observe_cpu": statistics.median(c for _, c in observe_parts),
        "redecisions_last_poll": operator.redecisions,
        "breakdown": parts,
        "response_bytes": max(sizes),
        # Median over the rounds (the warm-up is the first entry, left out).
        "raw_sequential_requests_only": statistics.median(curl_own["raw_sequential"][1:]),
        "queries_per_poll": len(queries) + 1,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    sizes = (200, 1000) if quick else (1000, 5000)
    rounds = 3 if quick else 15
    bin_dir = tool_bin_dir(["prometheus", "promtool"])
    # One moment for every fleet, on a step, so that `time=` is the same text for curl.
    at = int(time.time()) // STEP_S * STEP_S
    results: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="golive-bench-observe-") as tmp:
        for count in sizes:
            agents = [agent(NAMESPACE, i) for i in range(count)]
            fleet = Fleet(Path(tmp) / f"fleet-{count}", count, at)
            try:
                fleet.start(bin_dir)
                load = os.getloadavg()[0]
                results[count] = measure(fleet, agents, rounds)
                results[count].update(
                    series=fleet.series, import_s=fleet.import_s, loadavg_1m=round(load, 2)
                )
            finally:
                fleet.stop()
    records: list[dict[str, Any]] = []
    per_poll = {count: res["queries_per_poll"] for count, res in results.items()}
    records.append(
        {
            "measure": "observe_queries_per_poll",
            **{f"queries_at_{count}_agents": q for count, q in per_poll.items()},
            "queries_from_poll_stats": {
                str(count): res["counts"]["queries_per_poll"] for count, res in results.items()
            },
            "goal": "a constant number of queries per poll (the same at every fleet size)",
            "met": len(set(per_poll.values())) == 1,
        }
    )
    for count, res in results.items():
        med, med_cpu = res["median"], res["median_cpu"]
        ratio = med["golive_poll"] / med["raw_parallel"]
        raw_net = med["raw_parallel"] - med["curl_process"]
        records.append(
            {
                "measure": f"observe_poll_{count}_agents",
                "agents": count,
                "series": res["series"],
                "rounds": rounds,
                "queries_per_poll": res["queries_per_poll"],
                "response_bytes_per_poll": res["response_bytes"],
                **res["counts"],
                "raw_parallel_s": r(med["raw_parallel"], 4),
                "raw_sequential_s": r(med["raw_sequential"], 4),
                "curl_process_s": r(med["curl_process"], 4),
                "raw_parallel_minus_curl_start_s": r(raw_net, 4),
                "raw_sequential_requests_only_s": r(res["raw_sequential_requests_only"], 4),
                "golive_poll_s": r(med["golive_poll"], 4),
                "golive_poll_cpu_s": r(med_cpu["golive_poll"], 4),
                "ratio_golive_poll_to_raw": r(ratio, 2),
                "ratio_golive_poll_to_raw_minus_curl_start": r(med["golive_poll"] / raw_net, 2),
                "ratio_golive_poll_to_sequential_requests_only": r(
                    med["golive_poll"] / res["raw_sequential_requests_only"], 2
                ),
                "prometheus_cpu_per_poll_s": {
                    k: r(v, 4) for k, v in res["prometheus_cpu_per_poll"].items()
                },
                "runs_s": {k: [r(x, 4) for x in v] for k, v in res["runs"].items()},
                "loadavg_1m": res["loadavg_1m"],
                "goal": f"golive's poll <= {GOAL_RATIO} x the same requests from curl, "
                f"{CONCURRENCY} at a time",
                "met": ratio <= GOAL_RATIO,
            }
        )
        records.append(
            {
                "measure": f"observe_operator_{count}_agents",
                "agents": count,
                "poll_observe_s": r(med["golive_poll_observe"], 4),
                "poll_observe_cpu_s": r(med_cpu["golive_poll_observe"], 4),
                "observe_agents_s": r(res["observe_wall"], 4),
                "observe_agents_cpu_s": r(res["observe_cpu"], 4),
                "observe_per_agent_us": r(res["observe_wall"] / count * 1e6, 1),
                "poll_observe_cpu_per_agent_us": r(med_cpu["golive_poll_observe"] / count * 1e6, 1),
                "redecisions_steady_poll": res["redecisions_last_poll"],
                "import_s": r(res["import_s"], 1),
                "loadavg_1m": res["loadavg_1m"],
                "goal": "evidence only (the operator's wall and CPU per poll)",
                "met": None,
            }
        )
        records.append(
            {
                "measure": f"observe_breakdown_{count}_agents",
                "agents": count,
                **{name: r(value, 4) for name, value in res["breakdown"].items()},
                "goal": "evidence only (where golive's poll and observe time goes)",
                "met": None,
            }
        )
    return records
