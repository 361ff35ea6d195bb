"""How every operator cost grows with the fleet: 1,000 / 5,000 / 20,000 agents in 200 namespaces.

One fresh etcd + kube-apiserver, the CRDs, the policy library as ConfigMaps and the real
`golive run` process (embedded engine, --policy-namespace, default 8 workers, and its webhook
served on loopback with --webhook-port but not registered, so the agents' creates are not
reviewed and the webhook is measured alone). The fleet grows in steps; at each size:

- decisions/s: the step's new agents (with their contracts, spread round-robin over the
  namespaces, created from 16 threads) / (last decision seen - first create);
- RSS of the operator (engine included), kube-apiserver and etcd once all are decided;
- policy change: a ConfigMap denying every agent; time until all N carry the new digest, set
  against the raw floor (N / the raw status-patch rate); then its deletion (the revert; not
  timed at the largest size, where the run ends);
- webhook p99 under a background reconcile storm: `hey` (4 clients, a fixed time) posting one
  compliant agent's AdmissionReview to /validate while the policy change re-decides every
  agent, beside the same load with the operator idle just before.

The raw baseline (bench/operator.py's raw_status_patch: 1,000 agents created in their own
namespace, each one's status merge-patched once from 8 threads) is measured twice: before the
operator starts (empty store) and at the end with the operator stopped and the whole fleet
stored. The floor of the goal is the second (the store the largest policy change ran against);
both are printed.

Slopes: per added agent, between consecutive sizes and by least squares over all sizes; a cost
is called linear when the slopes of the two segments are within a factor 1.5 of each other.
Goals: RSS <= 15 KB per agent above idle (least-squares slope) and idle <= 80 MB; policy change
at the largest size <= 1.5 x the raw floor.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from kubernetes import client

from bench import POLICIES, agent_with_contract, percentile, progress, r
from bench.operator import (
    DENY_CONFIGMAP,
    DENY_POLICY,
    POLICY_NS,
    Watcher,
    cpu_seconds,
    create_all,
    decided,
    operator_metrics,
    raw_patch_rate,
    redecide,
    rss_kb,
    wait_policy_loaded,
)
from kit.controlplane import REPO, ControlPlane, free_port, tool_bin_dir
from kit.operator import OperatorProcess, admission_review, apply_objects, policy_configmaps

SIZES = (1000, 5000, 20000)
QUICK_SIZES = (100, 300, 600)
NAMESPACES = 200
QUICK_NAMESPACES = 10
RAW_COUNT = 1000
GOAL_KB_PER_AGENT = 15.0
GOAL_IDLE_MB = 80.0
GOAL_CHANGE_FLOOR_X = 1.5
HEY_CLIENTS = 4
LINEAR_WITHIN = 1.5  # segment slopes within this factor of each other: linear
FLAT_WITHIN = 0.15  # every value within 15 % of the largest: flat (no growth)
# The run stops growing the fleet when the next size would end after this (seconds from the
# start, estimated from the last step's rates); what was measured is reported, and what not.
BUDGET_S = float(os.environ.get("GOLIVE_BENCH_SCALE_BUDGET_S", "3600"))


def hey_p99(binary: Path, url: str, body: Path, seconds: float) -> dict[str, Any]:
    """hey for `seconds` at HEY_CLIENTS clients; latency percentiles from its CSV."""
    argv = [str(binary), "-z", f"{seconds:g}s", "-c", str(HEY_CLIENTS), "-m", "POST"]
    argv += ["-T", "application/json", "-D", str(body), "-t", "20", "-o", "csv", url]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"hey exited {proc.returncode}: {proc.stderr[-2000:]}")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    lat = [float(row["response-time"]) for row in rows]
    return {
        "requests": len(rows),
        "non_200": sum(row["status-code"] != "200" for row in rows),
        "p50_ms": r(percentile(lat, 50) * 1000, 1),
        "p99_ms": r(percentile(lat, 99) * 1000, 1),
    }


def webhook_answers(url: str, body: bytes) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the operator's self-signed certificate, on loopback
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as resp:
            answer = json.loads(resp.read())
    except OSError:
        return False
    return bool((answer.get("response") or {}).get("allowed"))


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else float("nan")


def growth(name: str, unit: str, points: list[tuple[int, float]]) -> dict[str, Any]:
    """Per-agent slopes of one cost: each segment, least squares, and whether it is linear."""
    segments = [(y2 - y1) / (x2 - x1) for (x1, y1), (x2, y2) in itertools.pairwise(points)]
    positive = [s for s in segments if s > 0]
    values = [y for _, y in points]
    spread = max(values) - min(values)
    if spread <= FLAT_WITHIN * max(abs(v) for v in values):
        shape = "flat"  # no growth with the fleet (a per-agent cost that stays put)
    elif len(segments) < 2:
        shape = "not judged (one segment: two sizes ran)"
    elif len(positive) < len(segments):
        shape = "not monotonic"
    elif max(positive) / min(positive) <= LINEAR_WITHIN:
        shape = "linear"
    else:
        shape = "superlinear" if segments[-1] > segments[0] else "sublinear"
    return {
        "measure": f"scale_slope_{name}",
        "unit": f"{unit} per agent",
        "points": [[x, r(y, 3)] for x, y in points],
        "segment_slopes": [r(s, 5) for s in segments],
        "least_squares_slope": r(slope(points), 5),
        "shape": shape,
        "linear": shape in ("linear", "flat"),
        "shape_rule": f"flat: all values within {FLAT_WITHIN:.0%} of the largest; linear: "
        f"segment slopes within {LINEAR_WITHIN:g}x of each other",
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    sizes = QUICK_SIZES if quick else SIZES
    spread = QUICK_NAMESPACES if quick else NAMESPACES
    raw_count = 200 if quick else RAW_COUNT
    hey_s = 4.0 if quick else 8.0
    binary = tool_bin_dir(["hey"]) / "hey"
    namespaces = [f"scale-{i:03d}" for i in range(spread)]
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="golive-bench-scale-") as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(workdir / "cp")
        op: OperatorProcess | None = None
        watcher: Watcher | None = None
        try:
            progress(f"scale: etcd + kube-apiserver, {spread} namespaces")
            plane.start()
            plane.apply_crds(REPO / "crds")
            for ns in (POLICY_NS, "bench-raw", *namespaces):
                plane.kubectl("create", "namespace", ns)
            api = plane.api_client()
            api.configuration.connection_pool_maxsize = 16
            api = client.ApiClient(api.configuration)
            custom = client.CustomObjectsApi(api)
            core = client.CoreV1Api(api)
            progress(f"scale: raw baseline ({raw_count} status patches, empty store)")
            raw_empty = raw_patch_rate(api, plane, raw_count)

            apply_objects(plane, policy_configmaps(POLICIES, POLICY_NS))
            port = free_port()
            op = OperatorProcess(
                plane,
                workdir / "op",
                policy_namespace=POLICY_NS,
                extra_args=["--webhook-port", str(port), "--webhook-host", "127.0.0.1"],
            )
            op.start()
            assert op.process is not None
            wait_policy_loaded(op)
            url = f"https://127.0.0.1:{port}/validate"
            review = admission_review(agent_with_contract(namespaces[0], 0, prefix="hey")[0])
            body = workdir / "review.json"
            body.write_bytes(json.dumps(review).encode())
            deadline = time.monotonic() + 60
            while not webhook_answers(url, body.read_bytes()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the webhook does not answer:\n{op.log()[-3000:]}")
                time.sleep(0.5)
            time.sleep(1.0)
            idle = {
                "operator": rss_kb(op.process.pid) / 1024,
                **{p.name: rss_kb(p.pid) / 1024 for p in plane.processes},
            }
            watcher = Watcher(api, None).start()
            names: list[str] = []
            digest = ""
            started = time.monotonic()
            skipped: list[int] = []
            for index, size in enumerate(sizes):
                if steps:
                    last_step = steps[-1]
                    # Creates and decisions at the last step's rate, the change and its revert
                    # growing with the fleet.
                    per_agent = (last_step["step_s"] / last_step["new"]) * (size - len(names))
                    change = 2 * last_step["change_all_s"] * size / last_step["agents"]
                    if time.monotonic() - started + per_agent + change > BUDGET_S:
                        skipped = list(sizes[index:])
                        progress(f"scale: {size} would not end within {BUDGET_S:g} s; stopping")
                        break
                step_started = time.monotonic()
                new = range(len(names), size)
                pairs = [agent_with_contract(namespaces[i % spread], i) for i in new]
                progress(f"scale: {len(pairs)} more agents -> {size}")
                create_all(custom, "agentcontracts", [c for _, c in pairs])
                time.sleep(1.0)
                cpu_op = cpu_seconds(op.process.pid)
                created = create_all(custom, "agentdeployments", [a for a, _ in pairs])
                seen = watcher.wait_all(created, decided, 0.0, 120.0 + size * 0.1)
                cpu_op = cpu_seconds(op.process.pid) - cpu_op
                first = min(s for s, _ in created.values())
                last = max(seen.values(), default=first)
                names += list(created)
                if not digest:
                    digest = next(
                        e[2] for t, n, e in reversed(watcher.events) if n == names[0] and e[2]
                    )
                time.sleep(2.0)
                rss = {
                    "operator": rss_kb(op.process.pid) / 1024,
                    **{p.name: rss_kb(p.pid) / 1024 for p in plane.processes},
                }
                progress(f"scale: webhook at {size}, operator idle")
                quiet = hey_p99(binary, url, body, hey_s)
                progress(f"scale: policy change at {size}, webhook under the storm")
                storm: dict[str, Any] = {}
                loader = threading.Thread(
                    target=lambda out=storm: out.update(hey_p99(binary, url, body, hey_s)),
                    daemon=True,
                )
                before = operator_metrics(op)
                deny = client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(
                        name=DENY_CONFIGMAP,
                        namespace=POLICY_NS,
                        labels={"golive.dev/policy": "true"},
                    ),
                    data={"bench.deny_owner.rego": DENY_POLICY},
                )

                def change(
                    cm: client.V1ConfigMap = deny, loader: threading.Thread = loader
                ) -> None:
                    core.create_namespaced_config_map(POLICY_NS, cm)
                    time.sleep(0.3)  # the operator's reload debounce: the storm starts then
                    loader.start()

                figures, new_digest = redecide(watcher, names, change, digest, 300.0 + size * 0.2)
                loader.join(hey_s + 120)
                # /metrics carries a dozen series per agent: at 20,000 agents its rendering
                # takes seconds (more than kit's 5 s), itself a figure of how cost grows.
                scrape_started = time.monotonic()
                after = operator_metrics(op, timeout=120.0)
                scrape_s = time.monotonic() - scrape_started
                revert_s = float("nan")
                if index < len(sizes) - 1:
                    progress(f"scale: policy revert at {size}")
                    revert, _ = redecide(
                        watcher,
                        names,
                        lambda: core.delete_namespaced_config_map(DENY_CONFIGMAP, POLICY_NS),
                        new_digest,
                        300.0 + size * 0.2,
                    )
                    revert_s = revert["all"]
                steps.append(
                    {
                        "agents": size,
                        "new": len(pairs),
                        "decided": len(seen),
                        "decisions_per_s": len(seen) / (last - first) if last > first else 0.0,
                        "operator_cpu_ms_per_new_agent": cpu_op / max(1, len(pairs)) * 1000,
                        "rss_mb": rss,
                        "change_all_s": figures["all"],
                        "change_redecided": figures["decided"],
                        "change_status_writes": after["status_writes"] - before["status_writes"],
                        "revert_all_s": revert_s,
                        "webhook_quiet": quiet,
                        "webhook_storm": storm,
                        "errors": after["errors"],
                        "metrics_scrape_s": scrape_s,
                        "step_s": time.monotonic() - step_started,
                    }
                )
                # On stderr as soon as measured: a later, larger size that fails keeps these.
                progress(f"scale: step {json.dumps(steps[-1], default=str)}")
            alive = op.process.alive()
            watcher.stop()
            watcher = None
            op.stop()
            progress(f"scale: raw baseline again, operator stopped, {len(names)} agents stored")
            raw_full = raw_patch_rate(api, plane, raw_count)
        finally:
            if watcher is not None:
                watcher.stop()
            if op is not None:
                op.stop()
            plane.stop()

    out = records(spread, steps, idle, raw_empty, raw_full, alive)
    if skipped:
        out.append(
            {
                "measure": "scale_sizes_skipped",
                "sizes": skipped,
                "budget_s": BUDGET_S,
                "goal": "context: sizes not run within the time budget "
                "(GOLIVE_BENCH_SCALE_BUDGET_S)",
                "met": None,
            }
        )
    return out


def records(
    spread: int,
    steps: list[dict[str, Any]],
    idle: dict[str, float],
    raw_empty: dict[str, float],
    raw_full: dict[str, float],
    alive: bool,
) -> list[dict[str, Any]]:
    rate = raw_full["raw_patch_per_s"]
    out: list[dict[str, Any]] = []
    for step in steps:
        floor = step["agents"] / rate
        out.append(
            {
                "measure": "scale_step",
                "agents": step["agents"],
                "namespaces": spread,
                "new_agents": step["new"],
                "new_decided": step["decided"],
                "decisions_per_s": r(step["decisions_per_s"], 1),
                "decision_ratio_to_raw_patch_rate": r(step["decisions_per_s"] / rate, 3),
                "operator_cpu_ms_per_new_agent": r(step["operator_cpu_ms_per_new_agent"], 1),
                "rss_operator_mb": r(step["rss_mb"]["operator"], 1),
                "rss_kube_apiserver_mb": r(step["rss_mb"]["kube-apiserver"], 1),
                "rss_etcd_mb": r(step["rss_mb"]["etcd"], 1),
                "policy_change_all_s": r(step["change_all_s"]),
                "policy_change_redecided": step["change_redecided"],
                "policy_change_status_writes": int(step["change_status_writes"]),
                "raw_floor_s": r(floor),
                "policy_change_over_floor": r(step["change_all_s"] / floor),
                "policy_revert_all_s": r(step["revert_all_s"]),
                "webhook_p99_ms_idle": step["webhook_quiet"].get("p99_ms"),
                "webhook_p99_ms_storm": step["webhook_storm"].get("p99_ms"),
                "webhook_p50_ms_idle": step["webhook_quiet"].get("p50_ms"),
                "webhook_p50_ms_storm": step["webhook_storm"].get("p50_ms"),
                "webhook_requests_storm": step["webhook_storm"].get("requests"),
                "webhook_non_200": step["webhook_quiet"].get("non_200", 0)
                + step["webhook_storm"].get("non_200", 0),
                "reconcile_errors": int(step["errors"]),
                "goal": "context: the figures the slopes are made of",
                "met": None,
            }
        )
    first = steps[0]["agents"]
    rss_points = [(0, idle["operator"])] + [(s["agents"], s["rss_mb"]["operator"]) for s in steps]
    kb_slope = slope(rss_points[1:]) * 1024
    largest = steps[-1]
    floor_largest = largest["agents"] / rate
    out += [
        growth("rss_operator", "MB", [(a, y) for a, y in rss_points[1:]]),
        growth(
            "rss_kube_apiserver",
            "MB",
            [(s["agents"], s["rss_mb"]["kube-apiserver"]) for s in steps],
        ),
        growth("rss_etcd", "MB", [(s["agents"], s["rss_mb"]["etcd"]) for s in steps]),
        growth("policy_change_s", "s", [(s["agents"], s["change_all_s"]) for s in steps]),
        growth(
            "operator_cpu_per_new_agent_ms",
            "ms",
            [(s["agents"], s["operator_cpu_ms_per_new_agent"]) for s in steps],
        ),
        growth(
            "webhook_p99_storm_ms",
            "ms",
            [(s["agents"], float(s["webhook_storm"].get("p99_ms") or 0)) for s in steps],
        ),
        {
            "measure": "scale_rss_per_agent",
            "agents": [s["agents"] for s in steps],
            "rss_idle_mb": r(idle["operator"], 1),
            "rss_largest_mb": r(largest["rss_mb"]["operator"], 1),
            "kb_per_agent_least_squares": r(kb_slope, 2),
            "kb_per_agent_idle_to_largest": r(
                (largest["rss_mb"]["operator"] - idle["operator"]) * 1024 / largest["agents"], 2
            ),
            "goal": f"RSS <= {GOAL_KB_PER_AGENT:g} KB per agent above idle (slope from {first}) "
            f"and idle <= {GOAL_IDLE_MB:g} MB",
            "met": alive and kb_slope <= GOAL_KB_PER_AGENT and idle["operator"] <= GOAL_IDLE_MB,
            "short_by_kb_per_agent": r(max(0.0, kb_slope - GOAL_KB_PER_AGENT), 2),
            "short_by_idle_mb": r(max(0.0, idle["operator"] - GOAL_IDLE_MB), 1),
            "operator_alive": alive,
        },
        {
            "measure": "scale_policy_change",
            "agents": largest["agents"],
            "all_redecided_s": r(largest["change_all_s"]),
            "redecided": largest["change_redecided"],
            "raw_patch_per_s_full_store": r(rate, 1),
            "raw_patch_per_s_empty_store": r(raw_empty["raw_patch_per_s"], 1),
            "raw_floor_s": r(floor_largest),
            "over_floor": r(largest["change_all_s"] / floor_largest),
            "over_floor_empty_store_rate": r(
                largest["change_all_s"] * raw_empty["raw_patch_per_s"] / largest["agents"]
            ),
            "goal": f"policy change at {largest['agents']} <= {GOAL_CHANGE_FLOOR_X:g} x the raw "
            "floor (agents / raw status patches/s, full store)",
            "met": largest["change_redecided"] == largest["agents"]
            and largest["change_all_s"] <= GOAL_CHANGE_FLOOR_X * floor_largest,
            "short_by_s": r(
                max(0.0, largest["change_all_s"] - GOAL_CHANGE_FLOOR_X * floor_largest)
            ),
        },
    ]
    return out
