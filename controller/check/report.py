"""Render `golive check` results as text (rich), JSON, JUnit XML or SARIF 2.1.0; Markdown and
GitHub annotations for pull requests are in report_ci.py."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from controller.check.loader import InputError

FORMATS = ("text", "json", "junit", "sarif", "markdown", "github")
SARIF_LEVEL = {
    "deny": "error",
    "warn": "warning",
    "dryrun": "note",
    "excepted": "note",
    "skipped": "note",
}


@dataclass(frozen=True)
class Finding:
    policy: str
    field: str
    message: str
    enforcement: str


@dataclass(frozen=True)
class AgentReport:
    """The decision for one AgentDeployment document."""

    source: str
    line: int
    namespace: str
    name: str
    result: str  # admitted | blocked | unknown
    reason: str
    message: str
    findings: list[Finding] = field(default_factory=list)
    # Each sign-off (approval, review, exception) with golive's verdict on its signature.
    signoffs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def agent(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class CheckRun:
    """Everything one `golive check` invocation found."""

    agents: list[AgentReport]
    errors: list[InputError]
    skipped: dict[str, int]
    engine: str
    digest: str
    policies: dict[str, str] = field(default_factory=dict)  # id -> title, for SARIF rules
    # The policy input each agent was decided on (same order as `agents`; not rendered: what
    # `golive explain` re-evaluates with OPA's tracer).
    policy_inputs: list[Mapping[str, Any]] = field(default_factory=list, repr=False)

    @property
    def exit_code(self) -> int:
        """0 all admitted, 1 a violation blocks (or no decision could be made), 2 input errors."""
        if self.errors:
            return 2
        if any(a.result != "admitted" for a in self.agents):
            return 1
        return 0

    def counts(self) -> dict[str, int]:
        out = {"agents": len(self.agents), "admitted": 0, "blocked": 0, "unknown": 0}
        for a in self.agents:
            out[a.result] = out.get(a.result, 0) + 1
        out["input_errors"] = len(self.errors)
        out["skipped_documents"] = sum(self.skipped.values())
        return out


def render(run: CheckRun, fmt: str) -> str:
    if fmt == "json":
        return render_json(run)
    if fmt == "junit":
        return render_junit(run)
    if fmt == "sarif":
        return render_sarif(run)
    if fmt in ("markdown", "github"):
        from controller.check import report_ci  # it builds on this module's types

        return report_ci.render_markdown(run) if fmt == "markdown" else report_ci.render_github(run)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def render_json(run: CheckRun) -> str:
    doc = {
        "summary": run.counts(),
        "engine": run.engine,
        "policyDigest": run.digest,
        "agents": [asdict(a) for a in run.agents],
        "errors": [asdict(e) for e in run.errors],
        "skipped": run.skipped,
    }
    return json.dumps(doc, indent=2, sort_keys=True)


def render_junit(run: CheckRun) -> str:
    suite = ET.Element(
        "testsuite",
        name="golive check",
        tests=str(len(run.agents) + len(run.errors)),
        failures=str(sum(1 for a in run.agents if a.result == "blocked")),
        errors=str(len(run.errors) + sum(1 for a in run.agents if a.result == "unknown")),
    )
    for agent in run.agents:
        case = ET.SubElement(suite, "testcase", classname=agent.source, name=agent.agent)
        text = "\n".join(
            f"[{f.enforcement}] {f.policy} {f.field}: {f.message}" for f in agent.findings
        )
        if agent.result == "blocked":
            ET.SubElement(case, "failure", message=agent.message, type=agent.reason).text = text
        elif agent.result == "unknown":
            ET.SubElement(case, "error", message=agent.message, type=agent.reason).text = text
        elif text:
            ET.SubElement(case, "system-out").text = text
    for err in run.errors:
        case = ET.SubElement(suite, "testcase", classname=err.source, name=f"input:{err.line}")
        ET.SubElement(case, "error", message=err.message, type="InputError")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def render_sarif(run: CheckRun) -> str:
    rule_ids = sorted({f.policy for a in run.agents for f in a.findings} | set(run.policies))
    results: list[dict[str, Any]] = []
    for agent in run.agents:
        for f in agent.findings:
            results.append(
                {
                    "ruleId": f.policy,
                    "level": SARIF_LEVEL.get(f.enforcement, "error"),
                    "message": {"text": f"{agent.agent} {f.field}: {f.message}"},
                    "locations": [_location(agent.source, agent.line)],
                    "properties": {"field": f.field, "enforcement": f.enforcement},
                }
            )
        if agent.result == "unknown":
            results.append(
                {
                    "ruleId": f"golive.{agent.reason}",
                    "level": "error",
                    "message": {"text": f"{agent.agent}: {agent.message}"},
                    "locations": [_location(agent.source, agent.line)],
                }
            )
    for err in run.errors:
        results.append(
            {
                "ruleId": "golive.InputError",
                "level": "error",
                "message": {"text": err.message},
                "locations": [_location(err.source, err.line)],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "golive",
                        "informationUri": "https://golive.dev",
                        "rules": [
                            {"id": r, "shortDescription": {"text": run.policies.get(r, r)}}
                            for r in rule_ids
                        ],
                    }
                },
                "results": results,
                "properties": {"engine": run.engine, "policyDigest": run.digest},
            }
        ],
    }
    return json.dumps(sarif, indent=2)


def _location(source: str, line: int) -> dict[str, Any]:
    loc: dict[str, Any] = {"artifactLocation": {"uri": "stdin" if source == "-" else source}}
    if line:
        loc["region"] = {"startLine": line}
    return {"physicalLocation": loc}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary_line(run: CheckRun) -> str:
    c = run.counts()
    parts = [f"{_count(c['agents'], 'agent')}: {c['admitted']} admitted, {c['blocked']} blocked"]
    if c["unknown"]:
        parts.append(f"{c['unknown']} undecided")
    if c["input_errors"]:
        parts.append(_count(c["input_errors"], "input error"))
    if c["skipped_documents"]:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(run.skipped.items()))
        parts.append(f"skipped {c['skipped_documents']} other documents ({kinds})")
    return "; ".join(parts)


def render_text(run: CheckRun, console: Any) -> None:
    """Human output with rich: a line per agent, an indented line per finding (CI-log friendly)."""
    style = {"admitted": "green", "blocked": "red", "unknown": "yellow"}
    colour = {
        "deny": "red",
        "warn": "yellow",
        "dryrun": "blue",
        "excepted": "magenta",
        "skipped": "cyan",
    }
    for err in run.errors:
        console.print(f"[red]error[/red] {err}", highlight=False)
    for agent in run.agents:
        console.print(
            f"[{style[agent.result]}]{agent.result.upper():8}[/] {agent.agent}  "
            f"[dim]{agent.source}:{agent.line}[/dim]",
            highlight=False,
        )
        if agent.result == "unknown":
            console.print(f"  {agent.reason}: {agent.message}", highlight=False)
        for f in agent.findings:
            console.print(
                f"  [{colour.get(f.enforcement, 'red')}]{f.enforcement:8}[/] {f.policy}  "
                f"[bold]{f.field}[/bold]: {f.message}",
                highlight=False,
            )
        for s in agent.signoffs:  # unverified ones are findings of golive.governance.signed_*
            if s.get("verified") is True and isinstance(s.get("signer"), dict):
                signer = s["signer"]
                console.print(
                    f"  [green]{'signed':8}[/] {s['record']}  verified: {signer['name']} "
                    f"<{signer['email']}> {signer['fingerprint']}",
                    highlight=False,
                )
    console.print(summary_line(run), highlight=False)
    console.print(f"[dim]engine {run.engine}, policies {run.digest}[/dim]", highlight=False)


def findings_from(violations: Sequence[Any]) -> list[Finding]:
    return [Finding(v.policy, v.field, v.message, v.enforcement) for v in violations]
