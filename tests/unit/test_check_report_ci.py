"""Pull-request formats: a Markdown comment that renders and fits, annotations the runner parses."""

from __future__ import annotations

import re

from controller.check.loader import InputError
from controller.check.report import AgentReport, CheckRun, Finding, render
from controller.check.report_ci import COMMENT_LIMIT

DENY = Finding("golive.ownership.single_owner", "spec.owner.email", "team | alias <x>", "deny")
WARN = Finding("golive.podsecurity.advisory", "spec.template", "100% sure,\nreally: yes", "warn")
DRYRUN = Finding("golive.economics.demo_scale", "spec.budget", "maybe", "dryrun")


def run_with(*agents: AgentReport, errors: list[InputError] | None = None) -> CheckRun:
    return CheckRun(list(agents), errors or [], {}, "embedded", "sha256:abc")


def agent(name: str, result: str, *findings: Finding, source: str = "a.yaml") -> AgentReport:
    return AgentReport(source, 3, "ns", name, result, "Violations", "why", list(findings))


def test_markdown_table_row_per_agent_and_details_per_agent_with_findings() -> None:
    text = render(
        run_with(agent("bot", "blocked", DENY, WARN), agent("ok", "admitted")), "markdown"
    )
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| Result | Agent | Manifest | Findings |"
    assert rows[2] == "| ❌ blocked | `ns/bot` | `a.yaml:3` | 1 deny, 1 warn |"
    assert rows[3] == "| ✅ admitted | `ns/ok` | `a.yaml:3` | — |"
    assert text.count("<details>") == 1  # the agent without findings has nothing to unfold
    # A message's pipe cannot break the table and its HTML is shown, not rendered.
    assert "team | alias &lt;x&gt;" in text
    assert (
        "- **warn** `golive.podsecurity.advisory` `spec.template`: 100% sure, really: yes" in text
    )
    assert text.splitlines()[2] == "**2 agents: 1 admitted, 1 blocked**"


def test_markdown_stays_within_a_comment_and_says_what_it_left_out() -> None:
    long = Finding("golive.x.y", "spec.f", "m" * 900, "warn")
    agents = [agent(f"bot-{i}", "admitted", long, long) for i in range(200)]
    text = render(run_with(*agents), "markdown")
    assert len(text) < COMMENT_LIMIT
    assert text.count("| ✅ admitted |") == 200  # the table stays whole
    shown = text.count("<details>")
    assert 0 < shown < 200
    assert f"The findings of {200 - shown} more agents do not fit in one comment" in text


def test_markdown_lists_input_errors_and_undecided_agents() -> None:
    text = render(
        run_with(agent("bot", "unknown"), errors=[InputError("b.yaml", 2, "spec: bad")]),
        "markdown",
    )
    assert "- `b.yaml:2: spec: bad`" in text
    assert "| ⚠️ undecided | `ns/bot` |" in text and "- **Violations**: why" in text


COMMAND = re.compile(r"^::(error|warning|notice) (file=[^,:]*(?:,line=\d+)?,)?title=([^:]*)::(.*)$")


def test_github_annotations_one_per_finding_with_level_file_and_line() -> None:
    text = render(
        run_with(
            agent("bot", "blocked", DENY, WARN, DRYRUN),
            agent("odd", "unknown", source="-"),
            errors=[InputError("b,c.yaml", 2, "50% bad")],
        ),
        "github",
    )
    lines = text.splitlines()
    assert lines[-1] == "2 agents: 0 admitted, 1 blocked; 1 undecided; 1 input error"
    commands = [COMMAND.match(line) for line in lines[:-1]]
    assert all(commands), lines
    assert [(m.group(1), m.group(3)) for m in commands if m] == [
        ("error", "golive input error"),
        ("error", "golive.ownership.single_owner (deny)"),
        ("warning", "golive.podsecurity.advisory (warn)"),
        ("notice", "golive.economics.demo_scale (dryrun)"),
        ("error", "golive could not decide ns/odd"),
    ]
    # Escaped as the Actions toolkit escapes: a comma in a property, % and newlines in data.
    assert lines[0] == "::error file=b%2Cc.yaml,line=2,title=golive input error::50%25 bad"
    assert lines[2].endswith("::ns/bot spec.template: 100%25 sure,%0Areally: yes")
    assert lines[1].startswith("::error file=a.yaml,line=3,title=")
    assert lines[4].startswith("::error title=")  # stdin: no file to point at
