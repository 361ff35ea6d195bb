"""Report formats: parseable, complete, and the exit code follows the worst result."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from controller.check.loader import InputError
from controller.check.report import AgentReport, CheckRun, Finding, render, summary_line

DENY = Finding("golive.ownership.single_owner", "spec.owner.email", "team alias", "deny")
WARN = Finding("golive.governance.review_cadence", "spec.governance", "no cadence", "warn")


def run_with(*agents: AgentReport, errors: list[InputError] | None = None) -> CheckRun:
    return CheckRun(list(agents), errors or [], {"v1 ConfigMap": 2}, "embedded", "sha256:abc")


def agent(result: str, *findings: Finding) -> AgentReport:
    return AgentReport("a.yaml", 3, "ns", "bot", result, "Violations", "m", list(findings))


def test_exit_codes() -> None:
    assert run_with(agent("admitted", WARN)).exit_code == 0
    assert run_with(agent("admitted"), agent("blocked", DENY)).exit_code == 1
    assert run_with(agent("unknown")).exit_code == 1
    assert run_with(agent("admitted"), errors=[InputError("b.yaml", 2, "bad")]).exit_code == 2


def test_json_has_summary_and_findings() -> None:
    doc = json.loads(render(run_with(agent("blocked", DENY, WARN)), "json"))
    assert doc["summary"]["blocked"] == 1
    assert doc["summary"]["skipped_documents"] == 2
    assert doc["agents"][0]["findings"][0]["field"] == "spec.owner.email"


def test_junit_marks_blocked_as_failure_and_input_errors_as_error() -> None:
    xml = render(run_with(agent("blocked", DENY), errors=[InputError("b.yaml", 2, "bad")]), "junit")
    suite = ET.fromstring(xml.split("?>", 1)[1])
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and "spec.owner.email" in (failure.text or "")


def test_sarif_levels_and_locations() -> None:
    doc = json.loads(render(run_with(agent("blocked", DENY, WARN)), "sarif"))
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    assert [r["level"] for r in results] == ["error", "warning"]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3}
    rules = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert DENY.policy in rules and WARN.policy in rules


def test_the_summary_line_counts_in_words() -> None:
    one = summary_line(run_with(agent("admitted"), errors=[InputError("b.yaml", 2, "bad")]))
    assert one.startswith("1 agent: 1 admitted, 0 blocked; 1 input error;")
    two = summary_line(run_with(agent("admitted"), agent("blocked", DENY)))
    assert two.startswith("2 agents: 1 admitted, 1 blocked")
