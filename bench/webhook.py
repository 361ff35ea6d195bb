"""The admission webhook: its latency under load, and what it adds to a create.

One run, one fresh control plane (etcd + kube-apiserver on loopback), the CRDs, and the real
`golive run --webhook-port ... --webhook-register` process (embedded engine, the full policy
library from policies/):

1. webhook_latency_1_client: one client posting AdmissionReview bodies back to back straight
   to https://127.0.0.1:<port>/validate: the service time one `kubectl apply` sees.
2. webhook_latency_50_clients: 50 concurrent clients (aiohttp, keep-alive, closed loop) posting
   real AdmissionReview bodies (the generated corpus: distinct agents, half compliant, the other
   half each breaking one checklist item) directly to the webhook; p50/p99 per request and
   throughput. The operator's own evaluation time (golive_evaluation_seconds, source admission)
   is reported next to it, to show where the time goes.
3. create_with_vs_without_webhook: compliant AgentDeployments created one after the other
   through the API server with the kubernetes client, first with the webhook configuration
   removed, then with it registered (verified active in between); p50/p99 of each and the
   p50 ratio.

Every process started here is stopped in a finally. Usage: `python -m bench webhook [--quick]`
or `from bench.webhook import run; run()`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes import client

from bench import agent, percentile, progress, r
from tests.harness.controlplane import REPO, ControlPlane, wait_until
from tests.harness.operator import OperatorProcess, admission_review

GOAL_P99_MS = 10.0
GOAL_CREATE_RATIO = 1.3
CLIENTS = 50
NS_LOAD, NS_WITHOUT, NS_WITH = "bench-webhook", "bench-create-plain", "bench-create-webhook"
GROUP, VERSION, PLURAL = "golive.dev", "v1alpha1", "agentdeployments"


def review_body(obj: dict[str, Any]) -> bytes:
    """An AdmissionReview v1 as kube-apiserver sends it for a CREATE."""
    return json.dumps(admission_review(obj, username="bench")).encode()


async def _post_all(
    url: str, ca: bytes, bodies: list[bytes], clients: int
) -> tuple[list[float], float, dict[str, int]]:
    """Closed loop: `clients` workers each post the next body as soon as their last answered.
    Returns (latencies in s, wall time in s, counts of allowed/denied/errors)."""
    context = ssl.create_default_context(cadata=ca.decode())
    connector = aiohttp.TCPConnector(limit=clients, ssl=context)
    latencies: list[float] = []
    counts = {"allowed": 0, "denied": 0, "errors": 0}
    next_index = 0
    headers = {"Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < len(bodies):
            body = bodies[next_index]
            next_index += 1
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.json()
                    ok = resp.status == 200
            except (aiohttp.ClientError, TimeoutError, ValueError):
                ok, answer = False, None
            latencies.append(time.perf_counter() - started)
            if not ok or not isinstance(answer, dict):
                counts["errors"] += 1
            elif answer["response"]["allowed"]:
                counts["allowed"] += 1
            else:
                counts["denied"] += 1

    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Open the connections (TLS handshakes) before timing, as the API server keeps its own.
        await asyncio.gather(*(session.post(url, data=b"{}") for _ in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(clients)))
        wall = time.perf_counter() - started
    return latencies, wall, counts


def _evaluation(metrics: str) -> tuple[float, float]:
    """(sum s, count) of golive_evaluation_seconds for source="admission"."""
    out = []
    for part in ("sum", "count"):
        pattern = (
            rf'golive_evaluation_seconds_{part}\{{engine="embedded",source="admission"\}} '
            r"([0-9.e+-]+)"
        )
        match = re.search(pattern, metrics)
        out.append(float(match.group(1)) if match else 0.0)
    return out[0], out[1]


def _latency_record(
    measure: str,
    latencies: list[float],
    wall: float,
    counts: dict[str, int],
    clients: int,
    evaluation: tuple[float, float],
) -> dict[str, Any]:
    p99 = percentile(latencies, 99) * 1000
    eval_sum, eval_count = evaluation
    return {
        "measure": measure,
        "clients": clients,
        "requests": len(latencies),
        "p50_ms": r(percentile(latencies, 50) * 1000, 2),
        "p90_ms": r(percentile(latencies, 90) * 1000, 2),
        "p99_ms": r(p99, 2),
        "max_ms": r(max(latencies) * 1000, 2),
        "throughput_per_s": r(len(latencies) / wall, 1),
        **counts,
        "operator_evaluate_mean_ms": r(eval_sum / eval_count * 1000 if eval_count else 0.0, 2),
        "goal_p99_ms": GOAL_P99_MS,
        "goal": f"p99 <= {GOAL_P99_MS:g} ms at the webhook",
        "met": counts["errors"] == 0 and p99 <= GOAL_P99_MS,
    }


def _create_latencies(
    api: client.CustomObjectsApi, namespace: str, count: int, prefix: str = "create"
) -> list[float]:
    """Create `count` compliant agents one after the other; seconds per create call."""
    out = []
    for i in range(count):
        obj = agent(namespace, 2 * i, prefix=prefix)  # even indexes: compliant variants
        started = time.perf_counter()
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, obj)
        out.append(time.perf_counter() - started)
    return out


def _webhook_active(cluster: ControlPlane, namespace: str) -> bool:
    """True when the API server calls the webhook: a team-owned agent is refused (dry run)."""
    bad = agent(namespace, 1, prefix="probe")  # index 1: the team-owner variant
    proc = cluster.kubectl(
        "create", "--dry-run=server", "-f", "-", input=json.dumps(bad), check=False
    )
    return proc.returncode != 0 and "golive denied" in proc.stderr


def run(quick: bool = False) -> list[dict[str, Any]]:
    requests = 1000 if quick else 5000
    sequential = 100 if quick else 500
    creates = 100 if quick else 500
    workdir = Path(tempfile.mkdtemp(prefix="golive-bench-webhook-"))
    cluster = ControlPlane(workdir / "controlplane")
    operator = OperatorProcess(cluster, workdir / "operator", webhook=True)
    records: list[dict[str, Any]] = []
    try:
        progress("webhook: control plane")
        cluster.start()
        cluster.apply_crds(REPO / "crds")
        for ns in (NS_LOAD, NS_WITHOUT, NS_WITH):
            cluster.kubectl("create", "namespace", ns)
        progress("webhook: operator with the webhook")
        operator.start()
        url, ca = operator.webhook_url, operator.webhook_ca

        bodies = [review_body(agent(NS_LOAD, i, prefix="review")) for i in range(requests)]
        warmup = [review_body(agent(NS_LOAD, i, prefix="warmup")) for i in range(200)]
        asyncio.run(_post_all(url, ca, warmup, CLIENTS))

        progress(f"webhook: {sequential} reviews from 1 client")
        before = _evaluation(operator.metrics())
        lat, wall, counts = asyncio.run(_post_all(url, ca, bodies[:sequential], 1))
        after = _evaluation(operator.metrics())
        delta = (after[0] - before[0], after[1] - before[1])
        records.append(
            _latency_record("webhook_latency_1_client", lat, wall, counts, 1, delta)
            | {"goal": "context: the service time of one review", "met": None}
        )

        progress(f"webhook: {requests} reviews from {CLIENTS} clients")
        before = after
        lat, wall, counts = asyncio.run(_post_all(url, ca, bodies, CLIENTS))
        after = _evaluation(operator.metrics())
        delta = (after[0] - before[0], after[1] - before[1])
        records.append(
            _latency_record("webhook_latency_50_clients", lat, wall, counts, CLIENTS, delta)
        )

        progress(f"webhook: {creates} creates without, then with the webhook")
        api = client.CustomObjectsApi(cluster.api_client())
        saved = json.loads(
            cluster.kubectl(
                "get", "validatingwebhookconfiguration", operator.WEBHOOK_CONFIG, "-o", "json"
            ).stdout
        )
        operator.delete_webhook_config()
        wait_until(lambda: not _webhook_active(cluster, NS_WITHOUT), 30, "webhook inactive")
        _create_latencies(api, NS_WITHOUT, 20, "warmup")  # warm the client and server paths
        without = _create_latencies(api, NS_WITHOUT, creates)
        config = copy.deepcopy(saved)
        for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
            config["metadata"].pop(key, None)
        cluster.kubectl("create", "-f", "-", input=json.dumps(config))
        wait_until(lambda: _webhook_active(cluster, NS_WITH), 30, "webhook active")
        with_hook = _create_latencies(api, NS_WITH, creates)
        # The with-webhook creates must really have gone through golive.
        assert _webhook_active(cluster, NS_WITH)
        p50_without, p50_with = percentile(without, 50), percentile(with_hook, 50)
        ratio = p50_with / p50_without
        records.append(
            {
                "measure": "create_with_vs_without_webhook",
                "creates_each": creates,
                "without_p50_ms": r(p50_without * 1000, 2),
                "without_p99_ms": r(percentile(without, 99) * 1000, 2),
                "with_p50_ms": r(p50_with * 1000, 2),
                "with_p99_ms": r(percentile(with_hook, 99) * 1000, 2),
                "p50_ratio": r(ratio, 3),
                "p99_ratio": r(percentile(with_hook, 99) / percentile(without, 99), 3),
                "client": "kubernetes python client, sequential creates",
                "goal_p50_ratio": GOAL_CREATE_RATIO,
                "goal": f"with/without webhook create p50 ratio <= {GOAL_CREATE_RATIO:g}",
                "met": ratio <= GOAL_CREATE_RATIO,
            }
        )
        alive = operator.process is not None and operator.process.alive()
        for record in records:
            record["operator_alive"] = alive
        return records
    finally:
        operator.stop()
        cluster.stop()
