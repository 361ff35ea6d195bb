"""`golive check` output for pull requests: a Markdown comment and GitHub Actions annotations.

- `markdown`: a comment for the pull request (GitHub, GitLab and Gitea render the same subset):
  the summary, a table with a row per agent, and per agent with findings a collapsed
  `<details>` block listing them. A comment holds at most 65,536 characters on GitHub, so the
  details stop before that limit and say how many agents were left out (the table stays whole).
- `github`: GitHub Actions workflow commands, one per finding (`::error file=F,line=L,title=T::M`;
  deny -> error, warn -> warning, dryrun/excepted/skipped -> notice), which the runner turns
  into annotations on the manifest's lines in the pull request's diff, plus one per undecided
  agent and per input error, and the summary as the last, plain line. Values are escaped as the
  runner's toolkit escapes them (`%`, CR and LF in the message; also `:` and `,` in properties).
"""

from __future__ import annotations

from controller.check.report import AgentReport, CheckRun, Finding, summary_line

# GitHub's limit for an issue or pull-request comment body.
COMMENT_LIMIT = 65_536
# Room kept for the table, the summary and the note on what was left out.
_DETAILS_ROOM = COMMENT_LIMIT - 8_192

ANNOTATION_LEVEL = {
    "deny": "error",
    "warn": "warning",
    "dryrun": "notice",
    "excepted": "notice",
    "skipped": "notice",
}
RESULT_MARK = {"admitted": "✅ admitted", "blocked": "❌ blocked", "unknown": "⚠️ undecided"}
ENFORCEMENTS = ("deny", "warn", "dryrun", "excepted", "skipped")


def _cell(text: str) -> str:
    """A table cell: pipes escaped, no line breaks (they would end the row)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _inline(text: str) -> str:
    """Text inside a list item, with no HTML a renderer would interpret."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _counts(agent: AgentReport) -> str:
    found = [f.enforcement for f in agent.findings]
    parts = [f"{found.count(e)} {e}" for e in ENFORCEMENTS if found.count(e)]
    return ", ".join(parts) if parts else "—"


def _finding_line(finding: Finding) -> str:
    return (
        f"- **{finding.enforcement}** `{finding.policy}` `{_inline(finding.field)}`: "
        f"{_inline(finding.message)}"
    )


def _details(agent: AgentReport) -> str:
    lines = [
        "<details>",
        f"<summary><code>{_inline(agent.agent)}</code> — {RESULT_MARK[agent.result]}: "
        f"{_inline(_counts(agent))}</summary>",
        "",
    ]
    if agent.result == "unknown":
        lines.append(f"- **{_inline(agent.reason)}**: {_inline(agent.message)}")
    lines += [_finding_line(f) for f in agent.findings]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def render_markdown(run: CheckRun) -> str:
    out = ["### golive check", "", f"**{summary_line(run)}**", ""]
    if run.errors:
        out += ["Input errors (nothing in these documents was decided):", ""]
        out += [f"- `{_inline(str(err))}`" for err in run.errors]
        out.append("")
    if run.agents:
        out += ["| Result | Agent | Manifest | Findings |", "| --- | --- | --- | --- |"]
        out += [
            f"| {RESULT_MARK[a.result]} | `{_cell(a.agent)}` | `{_cell(a.source)}:{a.line}` | "
            f"{_counts(a)} |"
            for a in run.agents
        ]
        out.append("")
    used = sum(len(line) + 1 for line in out)
    shown = 0
    with_details = [a for a in run.agents if a.findings or a.result == "unknown"]
    for agent in with_details:
        block = _details(agent)
        if used + len(block) > _DETAILS_ROOM:
            break
        out.append(block)
        used += len(block) + 1
        shown += 1
    if shown < len(with_details):
        left = len(with_details) - shown
        out += [
            f"_The findings of {left} more agent{'s' if left != 1 else ''} do not fit in one "
            "comment; run `golive check` on the branch, or use `--format github` for "
            "annotations._",
            "",
        ]
    out.append(f"<sub>engine {run.engine}, policies {run.digest}</sub>")
    return "\n".join(out)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, source: str, line: int, title: str, message: str) -> str:
    properties = [f"file={_escape_property(source)}"] if source != "-" else []
    if line and properties:
        properties.append(f"line={line}")
    properties.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


def render_github(run: CheckRun) -> str:
    out = [
        _command("error", err.source, err.line, "golive input error", err.message)
        for err in run.errors
    ]
    for agent in run.agents:
        if agent.result == "unknown":
            out.append(
                _command(
                    "error",
                    agent.source,
                    agent.line,
                    f"golive could not decide {agent.agent}",
                    f"{agent.reason}: {agent.message}",
                )
            )
        for f in agent.findings:
            out.append(
                _command(
                    ANNOTATION_LEVEL.get(f.enforcement, "error"),
                    agent.source,
                    agent.line,
                    f"{f.policy} ({f.enforcement})",
                    f"{agent.agent} {f.field}: {f.message}",
                )
            )
    out.append(summary_line(run))
    return "\n".join(out)
