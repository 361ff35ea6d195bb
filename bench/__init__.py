"""golive's benchmarks: `python -m bench [NAME...] [--quick]` (what `make bench` runs).

Every module here exposes `run(quick: bool = False) -> list[dict]`: one dict per measure, each
holding the figure, its baseline measured side by side in the same run, the goal and whether it
was met. Benchmarks are bounded in count and time and only talk to loopback; every process one
starts is stopped in a `finally`. Progress goes to stderr, figures to stdout (see __main__).

This module holds what the benchmarks share: the generated agents (a deterministic mix of
compliant and non-compliant AgentDeployments, each with its AgentContract, all valid under the
CRD schemas), percentiles and progress output.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
POLICIES = REPO / "policies"
EXAMPLE = REPO / "examples" / "invoice-triage.yaml"

# Variant i % len(VARIANTS): half compliant, the other half each breaking one checklist item.
VARIANTS = (
    "compliant",
    "team-owner",
    "compliant",
    "no-fallback",
    "compliant",
    "budget-below-100x",
    "compliant",
    "latest-image",
    "compliant",
    "no-review-cadence",
)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def r(value: float, digits: int = 3) -> float:
    """Rounded for the JSON line (NaN stays NaN, printed as null by the runner)."""
    return round(value, digits) if math.isfinite(value) else math.nan


@cache
def _example(kind: str) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d and d.get("kind") == kind]
    return dict(docs[0])


def variant(index: int) -> str:
    return VARIANTS[index % len(VARIANTS)]


def contract(namespace: str, name: str) -> dict[str, Any]:
    obj = copy.deepcopy(_example("AgentContract"))
    obj["metadata"] = {"name": name, "namespace": namespace}
    return obj


def agent(namespace: str, index: int, prefix: str = "agent") -> dict[str, Any]:
    """Agent number `index` of the generated corpus; its contract is `<name>-contract`."""
    name = f"{prefix}-{index:05d}"
    obj = copy.deepcopy(_example("AgentDeployment"))
    obj["metadata"] = {"name": name, "namespace": namespace}
    spec = obj["spec"]
    spec["contractRef"] = {"name": f"{name}-contract"}
    spec["scope"]["process"] = f"triage-{index}"
    spec["budget"]["expectedDailyRequests"] = 1000 + index % 1000
    spec["template"]["metadata"]["labels"] = {"app": name}
    container = spec["template"]["spec"]["containers"][0]
    container["image"] = f"registry.example.com/agents/{name}:1.{index % 50}.0"
    kind = variant(index)
    if kind == "team-owner":
        spec["owner"] = {"name": "AI Platform Team", "email": "team-ai@example.com"}
    elif kind == "no-fallback":
        del spec["fallback"]
    elif kind == "budget-below-100x":
        spec["budget"]["monthlyLimit"] = "100"
    elif kind == "latest-image":
        container["image"] = f"registry.example.com/agents/{name}:latest"
    elif kind == "no-review-cadence":
        del spec["governance"]["reviewCadence"]
    return obj


def agent_with_contract(
    namespace: str, index: int, prefix: str = "agent"
) -> tuple[dict[str, Any], dict[str, Any]]:
    obj = agent(namespace, index, prefix)
    return obj, contract(namespace, obj["spec"]["contractRef"]["name"])
