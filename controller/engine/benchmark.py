"""Per-call latency of the engines on a policy library: `python -m controller.engine.benchmark`.

    python -m controller.engine.benchmark policies/ [--calls 2000] [--opa http://127.0.0.1:8181]

Evaluates the design.md example agent (compliant) and an empty agent (many violations) and
prints mean / p50 / p99 per evaluate() call, IPC or HTTP included.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.domain.contract import resolve_contract
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import load_bundle_dir
from controller.engine.embedded import EmbeddedEngine
from controller.engine.protocol import Engine
from controller.engine.remote import RemoteEngine

DESIGN_SPEC: dict[str, Any] = {
    "owner": {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"},
    "scope": {"process": "invoice-triage", "inputFormat": "application/pdf",
              "outputFormat": "application/json"},
    "contractRef": {"name": "invoice-triage-v3"},
    "fallback": {"mode": "human-review", "target": "queue/ap-clerks", "timeoutSeconds": 30},
    "budget": {"currency": "USD", "monthlyLimit": "4000", "costPerRequest": "0.0004",
               "expectedDailyRequests": 2000},
    "monitoring": {"metricsPath": "/metrics", "dashboard": "https://grafana.example.com/d/invoice",
                   "alerts": ["InvoiceTriageErrorRate"]},
    "governance": {"regulated": True, "domain": "finance", "reviewCadence": "weekly",
                   "approvals": [{"name": "Lee Park", "email": "lee.park@example.com",
                                  "role": "compliance", "at": "2026-11-20"}]},
    "replicas": 2,
    "template": {"metadata": {"labels": {"app": "invoice-triage"}},
                 "spec": {"containers": [{"name": "agent",
                                          "image": "registry.example.com/a/invoice:3.4.1"}]}},
}  # fmt: skip


def _input(spec: dict[str, Any]) -> dict[str, Any]:
    agent = {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "invoice-triage", "namespace": "finance"},
        "spec": spec,
    }
    contract = {"spec": {"owner": {"name": "Priya Nair", "email": "priya.nair@example.com"},
                         "version": "3", "inputSchema": {"type": "object"},
                         "outputSchema": {"type": "object"}}}  # fmt: skip
    context = PolicyContext(Operation.RECONCILE, datetime.now(UTC))
    return build_policy_input(agent, resolve_contract("invoice-triage-v3", contract), [], context)


def _measure(engine: Engine, policy_input: dict[str, Any], calls: int) -> str:
    for _ in range(min(100, calls)):
        engine.evaluate(policy_input)
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        found = engine.evaluate(policy_input)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return (
        f"{len(found):2d} violations  mean {statistics.fmean(samples):.3f} ms  "
        f"p50 {samples[len(samples) // 2]:.3f} ms  p99 {p99:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("policies", type=Path)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--opa", help="also measure a running OPA server at this URL")
    args = parser.parse_args()
    bundle = load_bundle_dir(args.policies)
    start = time.perf_counter()
    engines: list[Engine] = [EmbeddedEngine(bundle)]
    print(f"embedded: compile + smoke in a fresh worker {time.perf_counter() - start:.3f} s")
    if args.opa:
        engines.append(RemoteEngine(bundle, args.opa))
    try:
        for engine in engines:
            for label, spec in (("compliant", DESIGN_SPEC), ("empty spec", {})):
                print(f"{engine.name:8s} {label:10s} {_measure(engine, _input(spec), args.calls)}")
    finally:
        for engine in engines:
            engine.close()


if __name__ == "__main__":
    main()
