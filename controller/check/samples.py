"""Policy samples: every `samples/allowed` manifest passes the whole library, every
`samples/disallowed` manifest is denied by its own folder's rule.

Samples are YAML manifests named `*.yaml.sample`: OPA's loader reads `*.yaml` under a policy
folder as data (merge errors in a plain `opa test policies/`) and ignores other suffixes.

A sample whose verdict depends on the date (a review that falls due) names the moment it is
decided at in a comment line `# golive-sample-at: 2026-12-02T00:00:00Z`, as `golive check --at`
would; the others are decided now. A sample of a rule that judges what Prometheus observes
states the observation in a line `# golive-sample-observed: {...}` (controller/check/observe.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from controller.check.observe import SampleObserver
from controller.check.report import CheckRun
from controller.check.run import check
from controller.check.schema import SchemaSet
from controller.domain.errors import SpecError
from controller.domain.moments import parse_timestamp
from controller.engine.decision_pipeline import PolicySet

SAMPLE_GLOB = "*.yaml.sample"
SAMPLE_KINDS = ("allowed", "disallowed")
SAMPLE_AT = re.compile(r"^# golive-sample-at: (\S+)[ \t]*$", re.MULTILINE)
SAMPLE_OBSERVED = re.compile(r"^# golive-sample-observed: (.+?)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class SampleResult:
    path: str
    expected: str  # "allowed" | "disallowed"
    passed: bool
    detail: str


def policy_id_of(rule_dir: Path, root: Path) -> str:
    return "golive." + ".".join(rule_dir.relative_to(root).parts)


def check_samples(
    root: Path, policy_set: PolicySet, now: datetime, schemas: SchemaSet
) -> list[SampleResult]:
    results = []
    for samples in sorted(root.rglob("samples")):
        rule_dir = samples.parent
        policy = policy_id_of(rule_dir, root)
        for expected in SAMPLE_KINDS:
            for path in sorted((samples / expected).glob(SAMPLE_GLOB)):
                try:
                    at = sample_time(path) or now
                except SpecError as error:
                    results.append(SampleResult(str(path), expected, False, str(error)))
                    continue
                try:
                    observer = sample_observer(path, at)
                except SpecError as error:
                    results.append(SampleResult(str(path), expected, False, str(error)))
                    continue
                run = check([str(path)], [], policy_set, at, schemas, observer=observer)
                results.append(judge(str(path), expected, policy, run))
    return results


def sample_time(path: Path) -> datetime | None:
    """The `# golive-sample-at:` moment of a sample, if it names one (a SpecError if malformed)."""
    found = SAMPLE_AT.search(path.read_text(encoding="utf-8"))
    return None if found is None else parse_timestamp(found.group(1), f"{path}: golive-sample-at")


def sample_observer(path: Path, at: datetime) -> SampleObserver | None:
    found = SAMPLE_OBSERVED.search(path.read_text(encoding="utf-8"))
    return None if found is None else SampleObserver(found.group(1), at, str(path))


def judge(path: str, expected: str, policy: str, run: CheckRun) -> SampleResult:
    if run.errors:
        return SampleResult(path, expected, False, "; ".join(str(e) for e in run.errors))
    if not run.agents:
        return SampleResult(path, expected, False, "no AgentDeployment in the sample")
    if expected == "allowed":
        bad = [a for a in run.agents if a.result != "admitted"]
        detail = "; ".join(f"{a.agent}: {a.message}" for a in bad)
        return SampleResult(path, expected, not bad, detail or "admitted")
    denied_here = all(
        any(f.policy == policy and f.enforcement in ("deny", "warn", "dryrun") for f in a.findings)
        for a in run.agents
    )
    detail = "reported by " + policy if denied_here else f"{policy} did not report it"
    return SampleResult(path, expected, denied_here, detail)
