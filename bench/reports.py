"""OpenReports at scale: how many Report writes a verdict change costs, and how large they are.

On a fresh control plane with golive's CRDs and OpenReports' real Report CRD (kit/openreports.py),
the real `golive run` (embedded engine, golive's library) and 1,000 agents (the bench corpus:
half compliant, the others each breaking one checklist item):

1. created: the time until every agent has its Report, and the Report writes counted by the
   operator (golive_report_writes_total) per agent: 1 is the goal (one write per first verdict);
2. size: every Report as the API server returns it (JSON, managedFields included), p50 and max
   bytes against a goal of 100 KiB (etcd refuses a request over 1.5 MiB), and the total;
3. verdict change: 100 compliant agents get a team alias as owner; writes per changed agent
   (goal exactly 1: the write of the new result, nothing for the others);
4. no change: a label on the agents' namespace (policy input) decides every agent again with
   the same results; writes (goal 0).

Every process started here is stopped in a finally.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client

from bench import agent_with_contract, percentile, progress, r, variant
from bench.operator import create_all
from kit.controlplane import REPO, ControlPlane
from kit.openreports import install_report_crd
from kit.operator import OperatorProcess

NAMESPACE = "bench-reports"
OWNER = "golive.ownership.single_owner"
GOAL_MAX_BYTES = 100 * 1024
CHANGED = 100


def metric(op: OperatorProcess, name: str, having: str = "") -> float:
    series = re.findall(rf"^{name}(\{{[^}}]*\}})?\s+(\S+)$", op.metrics(), re.MULTILINE)
    return sum(float(value) for labels, value in series if having in labels)


def reports(custom: client.CustomObjectsApi) -> list[dict[str, Any]]:
    listing: Any = custom.list_namespaced_custom_object(
        "openreports.io", "v1alpha1", NAMESPACE, "reports"
    )
    return list(listing.get("items") or [])


def wait(check: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(1.0)
    return time.monotonic() - start


def settle(op: OperatorProcess, seconds: float = 3.0) -> None:
    wait(lambda: metric(op, "golive_workqueue_depth") == 0, 300, "an empty work queue")
    time.sleep(seconds)


def run(quick: bool = False) -> list[dict[str, Any]]:
    count = 200 if quick else 1000
    changed = CHANGED // 5 if quick else CHANGED
    with tempfile.TemporaryDirectory(prefix="golive-bench-reports-") as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(workdir / "cp")
        op: OperatorProcess | None = None
        try:
            progress("reports: starting etcd + kube-apiserver, golive's and the Report CRDs")
            plane.start()
            plane.apply_crds(REPO / "crds")
            install_report_crd(plane)
            plane.kubectl("create", "namespace", NAMESPACE)
            api = plane.api_client()
            api.configuration.connection_pool_maxsize = 16
            custom = client.CustomObjectsApi(client.ApiClient(api.configuration))
            op = OperatorProcess(plane, workdir / "op").start()
            wait(lambda: metric(op, "golive_policy_loaded") == 1, 120, "the policies")

            pairs = [agent_with_contract(NAMESPACE, i) for i in range(count)]
            create_all(custom, "agentcontracts", [c for _, c in pairs])
            time.sleep(1.0)
            progress(f"reports: creating {count} agents")
            start = time.monotonic()
            create_all(custom, "agentdeployments", [a for a, _ in pairs])
            wait(lambda: len(reports(custom)) == count, 600, f"{count} Reports")
            all_reports_s = time.monotonic() - start
            settle(op)
            writes_created = metric(op, "golive_report_writes_total")

            stored = reports(custom)
            sizes = [len(json.dumps(item, separators=(",", ":"))) for item in stored]
            result_counts = {len(item["results"]) for item in stored}

            progress(f"reports: {changed} verdict changes (owner becomes a team alias)")
            chosen = [a for i, (a, _) in enumerate(pairs) if variant(i) == "compliant"][:changed]
            names = {a["metadata"]["name"] for a in chosen}
            before = metric(op, "golive_report_writes_total")
            patch = {"spec": {"owner": {"name": "Support Team", "email": "support@example.com"}}}
            for name in names:
                custom.patch_namespaced_custom_object(
                    "golive.dev", "v1alpha1", NAMESPACE, "agentdeployments", name, patch
                )

            def all_failed() -> bool:
                failing = {
                    item["scope"]["name"]
                    for item in reports(custom)
                    if any(x["policy"] == OWNER and x["result"] == "fail" for x in item["results"])
                }
                return names <= failing

            change_s = wait(all_failed, 300, "the changed verdicts in the Reports")
            settle(op)
            writes_changed = metric(op, "golive_report_writes_total") - before

            progress("reports: every agent decided again with the same results")
            before = metric(op, "golive_report_writes_total")
            decisions = metric(op, "golive_decisions_total", 'source="reconcile"')
            plane.kubectl("label", "namespace", NAMESPACE, "bench-touch=1")
            wait(
                lambda: (
                    metric(op, "golive_decisions_total", 'source="reconcile"') >= decisions + count
                ),
                300,
                "every agent decided again",
            )
            settle(op)
            writes_same = metric(op, "golive_report_writes_total") - before
            errors = metric(op, "golive_reconcile_errors_total")
        finally:
            if op is not None:
                op.stop()
            plane.stop()

    return [
        {
            "measure": "reports_writes_per_verdict_change",
            "agents": count,
            "all_reports_s": r(all_reports_s, 1),
            "writes_on_create": int(writes_created),
            "writes_per_new_agent": r(writes_created / count),
            "changed_agents": len(names),
            "changed_s": r(change_s, 1),
            "writes_for_changes": int(writes_changed),
            "writes_per_verdict_change": r(writes_changed / len(names)),
            "writes_when_nothing_changed": int(writes_same),
            "reconcile_errors": int(errors),
            "goal": "1 write per new agent and per verdict change; 0 when no result changed",
            "met": writes_created == count
            and writes_changed == len(names)
            and writes_same == 0
            and errors == 0,
        },
        {
            "measure": "reports_size",
            "agents": count,
            "reports": len(stored),
            "results_per_report": sorted(result_counts),
            "p50_bytes": int(percentile(sizes, 50)),
            "max_bytes": max(sizes),
            "total_mb": r(sum(sizes) / 1024 / 1024, 2),
            "goal": f"largest Report <= {GOAL_MAX_BYTES} bytes (etcd refuses > 1.5 MiB)",
            "met": len(stored) == count and max(sizes) <= GOAL_MAX_BYTES,
        },
    ]
