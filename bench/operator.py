"""The reconcile gate at scale: a fresh control plane, the CRDs, the real `golive run` process.

Phases, in one run, on one kube-apiserver + etcd on loopback:

1. raw_status_patch (baseline, no operator running): 1,000 agents created in `bench-raw`, then
   the status subresource of each merge-patched once with a status shaped like the operator's,
   from 8 threads (the operator's default --workers) of the kubernetes client. Those agents are
   then deleted, so the operator never sees them.
2. apply: the operator starts (embedded engine, the policy library from ConfigMaps via
   --policy-namespace, as the chart runs it); 1,000 AgentContracts, then 1,000 AgentDeployments
   (half compliant) are created from 16 threads. Per agent: from the moment its create call
   returned (recorded by this process) until a watch on agentdeployments shows
   status.observedGeneration == metadata.generation with a policy digest. The operator's
   effective decisions/s (agents / (last decision - first create)) is set against phase 1.
3. policy change: a ConfigMap with a policy that denies something every agent has is created;
   time until all 1,000 carry the new digest. Then it is deleted and the revert timed the same way.
4. memory: 4,000 more agents (with contracts) -> 5,000; once all are decided, VmRSS of the
   operator process (the embedded engine, OPA's Go runtime, lives in it), from /proc, next to
   the same figure at 0 and 1,000 agents.

Goals, against the raw floor of the same run (agents / raw patch rate): decisions/s >= 0.5 x the
raw patch rate; p99 apply -> decision <= 1.5 x the floor; policy change -> all re-decided <= 1.5 x
the floor; operator RSS <= 150 MB at 5,000 agents (idle RSS and KB per agent beside it).

The operator's own figures (golive_evaluation_seconds sum/count, decisions, status writes and
Deployment applies from its /metrics) are reported as evidence of where its time goes. Every
process started here is stopped in a finally.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from bench import POLICIES, agent_with_contract, percentile, progress, r
from controller.domain.decision import decide
from controller.domain.status import build_status
from controller.domain.workload import deployment_availability
from kit.controlplane import REPO, ControlPlane
from kit.operator import OperatorProcess, apply_objects, policy_configmaps

GROUP, VERSION = "golive.dev", "v1alpha1"
POLICY_NS, AGENT_NS, RAW_NS = "golive-system", "bench-agents", "bench-raw"
CREATE_THREADS = 16
PATCH_THREADS = 8  # the operator's default --workers
# The goals (issue "Throughput and memory"), against the raw floor of the same run: the time
# the API server alone needs for one status patch per agent (agents / raw patch rate).
GOAL_RATE_FRACTION = 0.5  # operator decisions/s >= 0.5 x raw status patches/s
GOAL_P99_FLOOR_X = 1.5  # p99 apply -> decision <= 1.5 x the raw floor
GOAL_REDECIDE_FLOOR_X = 1.5  # policy change -> all re-decided <= 1.5 x the raw floor
GOAL_RSS_MB = 150.0  # the whole operator process (engine included) at 5,000 agents

DENY_CONFIGMAP = "golive-policy-bench-deny"
DENY_POLICY = """# METADATA
# title: Bench - every agent is denied
# description: Added by the benchmark to force a re-decision of every agent.
# custom:
#   enforcement: deny
#   severity: low
#   checklist: owner
package golive.bench.deny_owner

import rego.v1

deny contains violation if {
\tinput.agent.spec.owner
\tviolation := {"field": "spec.owner", "msg": "bench: every agent with an owner is denied"}
}
"""

Status = tuple[int, int, str]  # generation, observedGeneration, digest


class Watcher:
    """Watches agentdeployments in one namespace; keeps (time, status) of every event."""

    def __init__(self, api: client.ApiClient, namespace: str | None) -> None:
        """namespace None: every namespace (the scale bench spreads agents over 200)."""
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.events: list[tuple[float, str, Status]] = []
        self.cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-watch", daemon=True)
        self.relists = 0

    def start(self) -> Watcher:
        self._resource_version = self._list()
        self._thread.start()
        return self

    def _record(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        status = obj.get("status") or {}
        entry: Status = (
            int(meta.get("generation") or 0),
            int(status.get("observedGeneration") or 0),
            str((status.get("policy") or {}).get("digest") or ""),
        )
        with self.cond:
            self.events.append((time.monotonic(), str(meta.get("name")), entry))
            self.cond.notify_all()

    def _list(self) -> str:
        listed: dict[str, Any] = self._list_call()(*self._list_args())  # type: ignore[assignment]
        for obj in listed.get("items") or []:
            self._record(obj)
        return str(listed["metadata"]["resourceVersion"])

    def _list_call(self) -> Callable[..., Any]:
        if self.namespace is None:
            return self.custom.list_cluster_custom_object
        return self.custom.list_namespaced_custom_object

    def _list_args(self) -> tuple[str, ...]:
        if self.namespace is None:
            return GROUP, VERSION, "agentdeployments"
        return GROUP, VERSION, self.namespace, "agentdeployments"

    def _loop(self) -> None:
        while not self._stop.is_set():
            w = watch.Watch()  # type: ignore[no-untyped-call]
            try:
                for event in w.stream(  # type: ignore[no-untyped-call]
                    self._list_call(),
                    *self._list_args(),
                    resource_version=self._resource_version,
                    timeout_seconds=5,
                ):
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        raise ApiException(status=obj.get("code"), reason=obj.get("message"))
                    self._resource_version = obj["metadata"]["resourceVersion"]
                    if event["type"] != "DELETED":
                        self._record(obj)
                    if self._stop.is_set():
                        break
            except ApiException as error:
                if self._stop.is_set():
                    break
                if error.status == 410:  # too old: list again (and say so in the figures)
                    self.relists += 1
                    self._resource_version = self._list()
                else:
                    time.sleep(0.2)
            except Exception:  # a dropped connection: resume from the last version
                if not self._stop.is_set():
                    time.sleep(0.2)
            finally:
                w.stop()  # type: ignore[no-untyped-call]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait_all(
        self,
        names: Iterable[str],
        satisfied: Callable[[Status], bool],
        since: float,
        timeout: float,
    ) -> dict[str, float]:
        """First time (monotonic, >= since) each name was seen satisfying; until all or timeout."""
        pending = set(names)
        found: dict[str, float] = {}
        index = 0
        deadline = time.monotonic() + timeout
        with self.cond:
            while pending:
                for t, name, entry in self.events[index:]:
                    if name in pending and t >= since and satisfied(entry):
                        found[name] = t
                        pending.discard(name)
                index = len(self.events)
                left = deadline - time.monotonic()
                if not pending or left <= 0:
                    break
                self.cond.wait(min(left, 1.0))
        if pending:
            progress(f"operator: {len(pending)} of {len(found) + len(pending)} not seen in time")
        return found


def decided(entry: Status) -> bool:
    generation, observed, digest = entry
    return observed == generation > 0 and bool(digest)


def create_all(
    custom: client.CustomObjectsApi, plural: str, objects: list[dict[str, Any]]
) -> dict[str, tuple[float, float]]:
    """Create objects from CREATE_THREADS threads; name -> (call started, call returned)."""

    def one(obj: dict[str, Any]) -> tuple[str, tuple[float, float]]:
        meta = obj["metadata"]
        start = time.monotonic()
        custom.create_namespaced_custom_object(GROUP, VERSION, meta["namespace"], plural, obj)
        return meta["name"], (start, time.monotonic())

    with ThreadPoolExecutor(CREATE_THREADS) as pool:
        return dict(pool.map(one, objects))


def realistic_status() -> dict[str, Any]:
    """The status the operator writes for a compliant, not yet running agent."""
    decision = decide([], {}, [], "embedded", "sha256:" + "0" * 64)
    return build_status(
        generation=1,
        decision=decision,
        running_generation=1,
        availability=deployment_availability(None),
        previous=None,
        now=datetime.now(UTC),
    )


def raw_patch_rate(api: client.ApiClient, plane: ControlPlane, count: int) -> dict[str, float]:
    """Baseline: create `count` agents in RAW_NS, merge-patch each one's status once."""
    custom = client.CustomObjectsApi(api)
    pairs = [agent_with_contract(RAW_NS, i, prefix="raw") for i in range(count)]
    started = time.monotonic()
    created = create_all(custom, "agentdeployments", [a for a, _ in pairs])
    create_s = max(t for _, t in created.values()) - started
    body = {"status": realistic_status()}

    def patch(name: str) -> None:
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, RAW_NS, "agentdeployments", name, body
        )

    cpu_before = {p.name: cpu_seconds(p.pid) for p in plane.processes}
    start = time.monotonic()
    with ThreadPoolExecutor(PATCH_THREADS) as pool:
        list(pool.map(patch, created))
    patch_s = time.monotonic() - start
    apiserver_cpu = sum(cpu_seconds(p.pid) - cpu_before[p.name] for p in plane.processes)
    custom.delete_collection_namespaced_custom_object(GROUP, VERSION, RAW_NS, "agentdeployments")
    return {
        "raw_create_per_s": count / create_s,
        "raw_patch_per_s": count / patch_s,
        "raw_patch_apiserver_etcd_cpu_ms_each": apiserver_cpu / count * 1000,
    }


def rss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def memory(pid: int) -> dict[str, float]:
    """RSS of the operator: one process, the embedded engine (OPA's Go runtime) included."""
    return {"total_mb": rss_kb(pid) / 1024}


def _stat_fields(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process so far, all its threads (0 if it is gone)."""
    fields = _stat_fields(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(plane: ControlPlane, op: OperatorProcess) -> dict[str, float]:
    """CPU seconds so far of each process taking part (the bench client is this process); the
    operator's include its embedded engine's evaluations (OPA in-process)."""
    assert op.process is not None
    snap = {p.name: cpu_seconds(p.pid) for p in plane.processes}
    snap["operator"] = cpu_seconds(op.process.pid)
    times = os.times()
    snap["bench_client"] = times.user + times.system
    return snap


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {f"cpu_s_{k.replace('-', '_')}": r(after[k] - before[k], 2) for k in after}


def operator_metrics(op: OperatorProcess, timeout: float = 5.0) -> dict[str, float]:
    text = op.metrics(timeout)

    def value(pattern: str) -> float:
        found = re.search(pattern + r"\s+([0-9.e+-]+)", text)
        return float(found.group(1)) if found else 0.0

    return {
        "eval_sum_s": value(
            r'golive_evaluation_seconds_sum\{engine="embedded",source="reconcile"\}'
        ),
        "eval_count": value(
            r'golive_evaluation_seconds_count\{engine="embedded",source="reconcile"\}'
        ),
        "errors": sum(
            float(v) for v in re.findall(r"golive_reconcile_errors_total\{[^}]*\}\s+(\S+)", text)
        ),
        "policy_loaded": value(r"golive_policy_loaded"),
        "status_writes": value(r"golive_status_writes_total"),
        "deployment_applies": value(r"golive_deployment_applies_total"),
        "events_written": sum(
            float(v)
            for v in re.findall(
                r'golive_events_total\{outcome="(?:created|patched)"\}\s+(\S+)', text
            )
        ),
        "events_dropped": value(r'golive_events_total\{outcome="dropped"\}'),
        "decisions_reused": value(r"golive_decisions_reused_total"),
        "decisions": sum(
            float(v)
            for v in re.findall(
                r'golive_decisions_total\{[^}]*source="reconcile"[^}]*\}\s+(\S+)', text
            )
        ),
    }


def wait_policy_loaded(op: OperatorProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if operator_metrics(op)["policy_loaded"] == 1.0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the operator did not load the policies:\n{op.log()[-3000:]}")


def latency_figures(
    created: dict[str, tuple[float, float]], seen: dict[str, float]
) -> dict[str, Any]:
    lat = [seen[n] - created[n][1] for n in seen]
    first = min(start for start, _ in created.values())
    last = max(seen.values()) if seen else first
    return {
        "p50": percentile(lat, 50),
        "p99": percentile(lat, 99),
        "max": max(lat) if lat else float("nan"),
        "total": last - first,
        "decided": len(seen),
    }


def redecide(
    watcher: Watcher, names: list[str], action: Callable[[], object], old: str, timeout: float
) -> tuple[dict[str, Any], str]:
    """Run `action` (a policy change) and time until every agent shows a new digest."""
    start = time.monotonic()
    action()
    seen = watcher.wait_all(names, lambda e: decided(e) and e[2] != old, start, timeout)
    digests = {e[2] for t, n, e in watcher.events if n in seen and t == seen[n]}
    lat = [t - start for t in seen.values()]
    figures = {
        "p50": percentile(lat, 50),
        "p99": percentile(lat, 99),
        "all": max(lat) if len(seen) == len(names) else float("nan"),
        "decided": len(seen),
    }
    return figures, (digests.pop() if len(digests) == 1 else "")


def run(quick: bool = False) -> list[dict[str, Any]]:
    count = 200 if quick else 1000
    extra = 300 if quick else 4000
    total_agents = count + extra
    with tempfile.TemporaryDirectory(prefix="golive-bench-operator-") as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(workdir / "cp")
        op: OperatorProcess | None = None
        watcher: Watcher | None = None
        try:
            progress("operator: starting etcd + kube-apiserver")
            plane.start()
            plane.apply_crds(REPO / "crds")
            for ns in (POLICY_NS, AGENT_NS, RAW_NS):
                plane.kubectl("create", "namespace", ns)
            api = plane.api_client()
            api.configuration.connection_pool_maxsize = CREATE_THREADS
            api = client.ApiClient(api.configuration)
            custom = client.CustomObjectsApi(api)
            core = client.CoreV1Api(api)

            progress(f"operator: raw baseline, {count} status patches from {PATCH_THREADS} threads")
            raw = raw_patch_rate(api, plane, count)

            apply_objects(plane, policy_configmaps(POLICIES, POLICY_NS))
            op = OperatorProcess(plane, workdir / "op", policies=None, policy_namespace=POLICY_NS)
            op.start()
            wait_policy_loaded(op)
            time.sleep(1.0)
            mem_idle = memory(op.process.pid)  # type: ignore[union-attr]

            pairs = [agent_with_contract(AGENT_NS, i) for i in range(count)]
            create_all(custom, "agentcontracts", [c for _, c in pairs])
            time.sleep(1.0)  # the operator sees the contracts before the agents
            watcher = Watcher(api, AGENT_NS).start()
            progress(f"operator: creating {count} agents from {CREATE_THREADS} threads")
            before = operator_metrics(op)
            cpu_before = cpu_snapshot(plane, op)
            created = create_all(custom, "agentdeployments", [a for a, _ in pairs])
            seen = watcher.wait_all(created, decided, 0.0, 180.0 if not quick else 60.0)
            cpu_apply = cpu_delta(cpu_before, cpu_snapshot(plane, op))
            after = operator_metrics(op)
            apply_fig = latency_figures(created, seen)
            create_window = max(t for _, t in created.values()) - min(
                s for s, _ in created.values()
            )
            names = list(created)
            digest = next(e[2] for t, n, e in reversed(watcher.events) if n == names[0] and e[2])
            time.sleep(1.0)
            mem_1k = memory(op.process.pid)  # type: ignore[union-attr]

            deny = client.V1ConfigMap(
                metadata=client.V1ObjectMeta(
                    name=DENY_CONFIGMAP,
                    namespace=POLICY_NS,
                    labels={"golive.dev/policy": "true"},
                ),
                data={"bench.deny_owner.rego": DENY_POLICY},
            )
            progress("operator: policy change (a deny-everything policy ConfigMap)")
            before_change = operator_metrics(op)
            cpu_before = cpu_snapshot(plane, op)
            change, new_digest = redecide(
                watcher,
                names,
                lambda: core.create_namespaced_config_map(POLICY_NS, deny),
                digest,
                120.0 if not quick else 60.0,
            )
            cpu_change = cpu_delta(cpu_before, cpu_snapshot(plane, op))
            time.sleep(1.0)  # let stragglers (a second decision of one agent) show
            after_deny = operator_metrics(op)
            progress("operator: policy revert (the ConfigMap deleted)")
            revert, _ = redecide(
                watcher,
                names,
                lambda: core.delete_namespaced_config_map(DENY_CONFIGMAP, POLICY_NS),
                new_digest,
                120.0 if not quick else 60.0,
            )
            after_change = operator_metrics(op)

            progress(f"operator: {extra} more agents for the memory figure")
            more = [agent_with_contract(AGENT_NS, count + i) for i in range(extra)]
            create_all(custom, "agentcontracts", [c for _, c in more])
            time.sleep(1.0)
            created_more = create_all(custom, "agentdeployments", [a for a, _ in more])
            seen_more = watcher.wait_all(created_more, decided, 0.0, 420.0 if not quick else 60.0)
            more_fig = latency_figures(created_more, seen_more)
            time.sleep(2.0)
            mem_5k = memory(op.process.pid)  # type: ignore[union-attr]
            final = operator_metrics(op)
            alive = op.process is not None and op.process.alive()
        finally:
            if watcher is not None:
                watcher.stop()
            if op is not None:
                op.stop()
            plane.stop()

    decisions_per_s = apply_fig["decided"] / apply_fig["total"]
    rate_ratio = decisions_per_s / raw["raw_patch_per_s"]
    floor_s = count / raw["raw_patch_per_s"]  # the API server alone: one patch per agent
    goal_p99_s = GOAL_P99_FLOOR_X * floor_s
    goal_redecide_s = GOAL_REDECIDE_FLOOR_X * floor_s

    def change_count(name: str) -> int:
        return int(after_deny[name] - before_change[name])

    per_agent_kb = (mem_5k["total_mb"] - mem_idle["total_mb"]) * 1024 / total_agents
    evals = after["eval_count"] - before["eval_count"]
    eval_s = after["eval_sum_s"] - before["eval_sum_s"]
    return [
        {
            "measure": "operator_apply_to_decision",
            "agents": count,
            "decided": apply_fig["decided"],
            "p50_s": r(apply_fig["p50"]),
            "p99_s": r(apply_fig["p99"]),
            "max_s": r(apply_fig["max"]),
            "total_s": r(apply_fig["total"]),
            "create_window_s": r(create_window),
            "raw_floor_s": r(floor_s),
            "goal_s": r(goal_p99_s),
            "p99_over_floor": r(apply_fig["p99"] / floor_s),
            "goal": f"p99 apply -> decision <= {GOAL_P99_FLOOR_X:g} x the raw floor "
            f"({count} / raw status patches/s)",
            "met": apply_fig["decided"] == count and apply_fig["p99"] <= goal_p99_s,
            "short_by_s": r(max(0.0, apply_fig["p99"] - goal_p99_s)),
        },
        {
            "measure": "operator_decision_rate",
            "agents": count,
            "operator_decisions_per_s": r(decisions_per_s, 1),
            "raw_status_patch_per_s": r(raw["raw_patch_per_s"], 1),
            "raw_create_per_s": r(raw["raw_create_per_s"], 1),
            "ratio": r(rate_ratio, 3),
            "raw_patch_threads": PATCH_THREADS,
            "raw_patch_apiserver_etcd_cpu_ms_each": r(
                raw["raw_patch_apiserver_etcd_cpu_ms_each"], 1
            ),
            "apply_window_apiserver_etcd_cpu_ms_per_agent": r(
                (cpu_apply["cpu_s_kube_apiserver"] + cpu_apply["cpu_s_etcd"]) / count * 1000, 1
            ),
            "operator_own_cpu_ms_per_decision": r(cpu_apply["cpu_s_operator"] / count * 1000, 1),
            "operator_evaluations": int(evals),
            "operator_evaluate_mean_ms": r(eval_s / evals * 1000 if evals else float("nan")),
            "operator_evaluate_busy_s": r(eval_s),
            "reconcile_errors": int(after["errors"]),
            **cpu_apply,
            "operator_decisions_counted": int(after["decisions"] - before["decisions"]),
            "operator_decisions_reused": int(
                after["decisions_reused"] - before["decisions_reused"]
            ),
            "events_written_in_window": int(after["events_written"] - before["events_written"]),
            "goal": f"operator decisions/s >= {GOAL_RATE_FRACTION:g} x raw status patch rate",
            "met": apply_fig["decided"] == count and rate_ratio >= GOAL_RATE_FRACTION,
            "short_by_ratio": r(max(0.0, GOAL_RATE_FRACTION - rate_ratio), 3),
        },
        {
            "measure": "operator_policy_change",
            "agents": count,
            "redecided": change["decided"],
            "all_redecided_s": r(change["all"]),
            "p50_s": r(change["p50"]),
            "p99_s": r(change["p99"]),
            "redecide_per_s": r(change["decided"] / change["all"], 1),
            "revert_all_redecided_s": r(revert["all"]),
            "revert_redecided": revert["decided"],
            "reconcile_errors": int(after_change["errors"]),
            # What the re-decision cost: one status patch per agent and nothing else expected
            # (the outcome moves to blocked here, so one Warning Event each as well).
            "status_writes": change_count("status_writes"),
            # Written by the recorder's thread, off the reconcile path: counted once the
            # window plus one second has passed (some may still be queued then).
            "events_written": change_count("events_written"),
            "events_dropped": change_count("events_dropped"),
            "deployment_applies": change_count("deployment_applies"),
            "decisions": change_count("decisions"),
            **cpu_change,
            "raw_floor_s": r(floor_s),
            "goal_s": r(goal_redecide_s),
            "all_over_floor": r(change["all"] / floor_s),
            "goal": f"all {count} re-decided <= {GOAL_REDECIDE_FLOOR_X:g} x the raw floor "
            "after a policy change",
            "met": change["decided"] == count and change["all"] <= goal_redecide_s,
            "short_by_s": r(max(0.0, change["all"] - goal_redecide_s)),
        },
        {
            "measure": "operator_memory",
            "agents": total_agents,
            "decided": more_fig["decided"] + apply_fig["decided"],
            "rss_total_mb": r(mem_5k["total_mb"], 1),
            "rss_total_at_0_mb": r(mem_idle["total_mb"], 1),
            "rss_total_at_1000_mb": r(mem_1k["total_mb"], 1),
            "rss_per_agent_kb": r(per_agent_kb, 1),
            "extra_agents_decided_in_s": r(more_fig["total"]),
            "extra_p99_s": r(more_fig["p99"]),
            "operator_alive": alive,
            "reconcile_errors": int(final["errors"]),
            "goal": f"operator RSS (engine included) <= {GOAL_RSS_MB:g} MB at {total_agents}",
            "met": alive and mem_5k["total_mb"] <= GOAL_RSS_MB,
            "short_by_mb": r(max(0.0, mem_5k["total_mb"] - GOAL_RSS_MB), 1),
        },
    ]
