"""An agent's OpenReports `Report` (openreports.io/v1alpha1): one result per policy evaluated.

Pure: from a decision and the METADATA of the policies it was made with, the Report golive
keeps for that agent, and a compact record of a written Report (`ReportRecord`) that says
whether a new one differs from it. The operator writes it (controller/operator/reports.py) when
the cluster serves the `reports.openreports.io` CRD.

The shape follows Kyverno v1.19 (`pkg/utils/report`), so Policy Reporter shows golive's results
next to Kyverno's: `source` on the Report and on each result, `scope` the checked object (the
AgentDeployment, which also owns the Report, so it is garbage-collected with it), results sorted
by policy, `summary` counted from them, a `timestamp` per result. Where golive chose:

- every policy of the library gets a result, passes too (Kyverno writes `pass` results);
- enforcement to result: `deny` -> fail, `warn` -> warn, `dryrun` -> fail (Kyverno's Audit mode
  reports `fail` without blocking; `properties.enforcement` says `dryrun`), `excepted` -> skip
  (Kyverno reports a resource its PolicyException covers as `skip`), `skipped` -> skip;
- severity is METADATA's `custom.severity` (high, medium, low: OpenReports' own words),
  category its `custom.checklist` (the go-live checklist item the policy enforces);
- one result per policy: several findings of one policy are one result, their messages joined
  and cut at MAX_MESSAGE characters, their fields in `properties.field`;
- a result's timestamp is when that result was first written as it is: it is carried over
  while the result is unchanged, so re-deciding the same thing writes nothing;
- the cluster that decided (`golive run --cluster-name`) is the label `golive.dev/cluster`:
  OpenReports has no field for it (`source` names the engine, `scope` the object), and a label
  is what a fleet's collector selects and keeps (`kubectl get reports -l golive.dev/cluster=X`).
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.domain.api import (
    AGENT_KIND,
    AGENT_LABEL,
    API_VERSION,
    CLUSTER_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
)
from controller.domain.decision import Decision, Result, Violation
from controller.domain.model import AgentDeployment
from controller.domain.policy_metadata import PolicyInfo
from controller.domain.workload import owner_reference

GROUP = "openreports.io"
VERSION = "v1alpha1"
REPORT_API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Report"
PLURAL = "reports"
CRD_NAME = f"{PLURAL}.{GROUP}"
SOURCE = "golive"
NAME_PREFIX = "golive-"

# Bounded like the status conditions: a Report lives in etcd and every result is read by
# Policy Reporter. With the ~30 policies of the library a Report stays far below etcd's 1.5 MiB.
MAX_MESSAGE = 1024
MAX_FIELDS = 512
RESULTS = ("pass", "fail", "warn", "error", "skip")

# deny blocks; the others are reported only. The worst finding of a policy gives its result.
RESULT_OF = {
    "deny": "fail",
    "dryrun": "fail",
    "warn": "warn",
    "excepted": "skip",
    "skipped": "skip",
}
RANK = {"deny": 0, "dryrun": 1, "warn": 2, "excepted": 3, "skipped": 4}
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def report_name(agent: AgentDeployment) -> str:
    """`golive-<agent uid>`: Kyverno names its Report after the resource's uid; the prefix keeps
    golive's apart from Kyverno's for the same object, and a new agent of the same name gets a
    new Report while the old one is garbage-collected."""
    return f"{NAME_PREFIX}{agent.uid}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def policy_result(
    info: PolicyInfo, findings: list[Violation], generation: int, digest: str
) -> dict[str, Any]:
    """One policy's result (no timestamp): `pass` without findings, else from the worst one."""
    if findings:
        worst = min(findings, key=lambda v: RANK[v.enforcement]).enforcement
        messages = list(dict.fromkeys(v.message for v in findings))
        fields = list(dict.fromkeys(v.field for v in findings))
        outcome, message, enforcement = RESULT_OF[worst], "; ".join(messages), worst
    else:
        outcome, message, enforcement, fields = "pass", info.title, info.enforcement, []
    properties = {
        "enforcement": enforcement,
        "generation": str(generation),
        "digest": digest,
    }
    if fields:
        properties["field"] = _cut(", ".join(fields), MAX_FIELDS)
    if len(findings) > 1:
        properties["findings"] = str(len(findings))
    result: dict[str, Any] = {
        "source": SOURCE,
        "policy": info.id,
        "result": outcome,
        "severity": info.severity,
        "message": _cut(message, MAX_MESSAGE),
        "properties": properties,
    }
    if info.checklist:
        result["category"] = info.checklist
    return result


def policy_results(
    decision: Decision, policies: Mapping[str, PolicyInfo], generation: int
) -> list[dict[str, Any]]:
    """A result per policy evaluated, sorted by policy id (no timestamps).

    A finding of a policy outside `policies` (no METADATA: decided as deny) gets a result too,
    with the severity `high` and no category, so nothing the decision says is left out.
    """
    by_policy: dict[str, list[Violation]] = {}
    for violation in decision.violations:
        by_policy.setdefault(violation.policy, []).append(violation)
    results = []
    for policy_id in sorted(set(policies) | set(by_policy)):
        info = policies.get(policy_id) or PolicyInfo(
            id=policy_id,
            title=policy_id,
            description="",
            enforcement="deny",
            severity="high",
            checklist="",
            package=policy_id,
            module="",
        )
        results.append(
            policy_result(info, by_policy.get(policy_id, []), generation, decision.digest)
        )
    return results


def summary(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(RESULTS, 0)
    for result in results:
        counts[result["result"]] += 1
    return counts


def _hash(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


_STAMP = struct.Struct("<8sq")  # a result's hash (no timestamp), its timestamp's seconds


@dataclass(frozen=True)
class ReportRecord:
    """What a written Report holds, in a few hundred bytes (one per agent is kept in memory).

    name: the Report's name (a Report of an earlier agent of the same name is another one);
    fingerprint: of everything golive writes, timestamps included;
    stamps: each result's hash (without its timestamp) and that timestamp's seconds, packed.
    """

    name: str
    fingerprint: bytes
    stamps: bytes

    def seconds(self) -> dict[bytes, int]:
        return {key: sec for key, sec in _STAMP.iter_unpack(self.stamps)}


def _written(report: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a Report golive writes and compares (others' labels are not golive's)."""
    meta = report.get("metadata") or {}
    labels = meta.get("labels") or {}
    return {
        "labels": {k: labels.get(k) for k in (MANAGED_BY_LABEL, AGENT_LABEL, CLUSTER_LABEL)},
        "ownerReferences": meta.get("ownerReferences"),
        "scope": report.get("scope"),
        "source": report.get("source"),
        "results": report.get("results"),
        "summary": report.get("summary"),
    }


def _without_timestamp(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "timestamp"}


def record_of(report: Mapping[str, Any]) -> ReportRecord:
    """The record of a Report as built here or as the API server returns it."""
    stamps = b""
    for result in report.get("results") or []:
        if not isinstance(result, Mapping):
            continue
        seconds = (result.get("timestamp") or {}).get("seconds")
        if isinstance(seconds, int):
            stamps += _STAMP.pack(_hash(_without_timestamp(result)), seconds)
    name = str((report.get("metadata") or {}).get("name") or "")
    return ReportRecord(name, _hash(_written(report)), stamps)


def build_report(
    agent: AgentDeployment,
    decision: Decision,
    policies: Mapping[str, PolicyInfo],
    previous: ReportRecord | None,
    now: datetime,
    cluster: str = "",
) -> dict[str, Any] | None:
    """The Report for this decision, as a server-side-apply body; None for a decision that was
    not made (Unknown: the Report keeps the results of the last one, the status says why) or
    an agent with no uid yet (a file, not a stored object).

    previous: the record of the Report as last written (or seen); a result equal to one there
    keeps its timestamp. cluster: the name of the cluster that decided ("": unnamed).
    """
    if decision.result is Result.UNKNOWN or not agent.uid:
        return None
    name = report_name(agent)
    kept = previous.seconds() if previous is not None and previous.name == name else {}
    stamp = int(now.timestamp())
    results = []
    for result in policy_results(decision, policies, agent.current_generation):
        seconds = kept.get(_hash(result), stamp)
        results.append({**result, "timestamp": {"seconds": seconds, "nanos": 0}})
    return {
        "apiVersion": REPORT_API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": agent.namespace,
            "labels": report_labels(agent, cluster),
            "ownerReferences": [owner_reference(agent)],
        },
        "scope": {
            "apiVersion": API_VERSION,
            "kind": AGENT_KIND,
            "name": agent.name,
            "namespace": agent.namespace,
            "uid": agent.uid,
        },
        "source": SOURCE,
        "results": results,
        "summary": summary(results),
    }


def report_labels(agent: AgentDeployment, cluster: str = "") -> dict[str, str]:
    """managed-by golive (the operator's watch selects its Reports by it), the agent's name
    (`kubectl get reports -l golive.dev/agent=NAME`) where it fits a label value, and the
    cluster's name where it has one (checked as a label value when the operator starts)."""
    labels = {MANAGED_BY_LABEL: MANAGED_BY}
    if LABEL_VALUE.match(agent.name):
        labels[AGENT_LABEL] = agent.name
    if cluster:
        labels[CLUSTER_LABEL] = cluster
    return labels


def report_changed(previous: ReportRecord | None, desired: Mapping[str, Any]) -> bool:
    return previous is None or previous != record_of(desired)


def report_agent(report: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, agent name) of a Report golive wrote, from its scope; None for another's."""
    scope = report.get("scope") or {}
    if scope.get("kind") != AGENT_KIND or scope.get("apiVersion") != API_VERSION:
        return None
    namespace = (report.get("metadata") or {}).get("namespace")
    name = scope.get("name")
    if not isinstance(namespace, str) or not isinstance(name, str):
        return None
    return namespace, name
