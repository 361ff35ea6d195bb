"""`golive explain`: why one policy fired for one agent, or why not, from OPA's own trace.

The agent is decided exactly as `golive check` decides it (the same files, contracts, moment
and signers), then the policy's `deny` rule is evaluated once more on that very policy input by
the embedded engine with OPA's tracer on (libopa `golive_opa_explain`, the events `opa eval
--explain` prints). Each evaluation of a `deny` body in the policy's own module is one
"attempt":
- one that reached its end (OPA's Exit) produced a finding: its expressions are listed with the
  values of their variables, the last value each took before the body succeeded;
- one that stopped (OPA's Fail) did not: the expression that failed is named, with its values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from controller.check.report import AgentReport, CheckRun, Finding
from controller.engine import libopa
from controller.engine.bundle import PolicyBundle
from controller.engine.libopa import TraceEvent
from controller.engine.protocol import encode_input


class ExplainError(ValueError):
    """The request cannot be explained (no such policy, no or several agents): a usage error."""


@dataclass(frozen=True)
class Step:
    """One expression of a rule body: where it is, its text, its variables' values."""

    file: str
    row: int
    text: str
    variables: Mapping[str, str]


@dataclass(frozen=True)
class Attempt:
    """One evaluation of a rule body of the policy's module: it succeeded (for a `deny` rule, a
    finding; for a helper rule, a value) or failed at `steps[-1]`."""

    file: str
    row: int
    head: str
    succeeded: bool
    steps: tuple[Step, ...]

    @property
    def is_deny(self) -> bool:
        return self.head.startswith("deny ")


@dataclass(frozen=True)
class Explanation:
    policy: str
    enforcement: str
    agent: AgentReport
    findings: tuple[Finding, ...]  # this policy's findings in the agent's decision
    attempts: tuple[Attempt, ...] = field(default=())

    @property
    def fired(self) -> bool:
        return bool(self.findings)


def pick_agent(run: CheckRun, name: str | None) -> int:
    """The index of the agent to explain: the one named (name or namespace/name), or the only
    one; an ExplainError otherwise."""
    if name is None:
        if len(run.agents) == 1:
            return 0
        listed = ", ".join(a.agent for a in run.agents) or "none"
        raise ExplainError(
            f"--agent: expected the agent to explain; the files hold {len(run.agents)} "
            f"AgentDeployments ({listed})"
        )
    found = [i for i, a in enumerate(run.agents) if name in (a.name, a.agent)]
    if len(found) != 1:
        listed = ", ".join(a.agent for a in run.agents) or "none"
        problem = "no AgentDeployment" if not found else "several AgentDeployments"
        raise ExplainError(f"--agent: {problem} named {name!r} in the files ({listed})")
    return found[0]


def attempts_of(events: Sequence[TraceEvent], module: str) -> tuple[Attempt, ...]:
    """Each evaluation of a rule body of `module`, in trace order (see the module docstring)."""
    entered: dict[int, TraceEvent] = {}
    steps: dict[int, dict[tuple[int, str], Step]] = {}
    outcome: dict[int, bool] = {}
    failed_at: dict[int, Step] = {}
    for event in events:
        qid = event.query_id
        if event.file != module:
            continue
        if event.rule and event.op == "Enter":
            entered.setdefault(qid, event)
            steps.setdefault(qid, {})
        elif qid not in entered:
            continue
        elif event.rule and event.op == "Exit":
            outcome[qid] = True
        elif event.op == "Eval" and not event.rule:
            steps[qid][(event.row, event.text)] = Step(
                event.file, event.row, event.text, event.variables
            )
        elif event.op == "Fail" and not event.rule:
            failed_at[qid] = Step(event.file, event.row, event.text, event.variables)
    out = []
    for qid, enter in entered.items():
        succeeded = outcome.get(qid, False)
        failure = None if succeeded else failed_at.get(qid)
        head = enter.text.splitlines()[0] if enter.text else ""
        body = _by_line(list(steps[qid].values()), failure)
        out.append(Attempt(enter.file, enter.row, head, succeeded, body))
    return tuple(out)


def _by_line(steps: list[Step], failure: Step | None) -> tuple[Step, ...]:
    """One step per source line: the compiler splits an expression into parts (`input`,
    `problem.attr`) that OPA traces one by one; the whole expression (the longest text of the
    line) is shown with every variable its parts bound. The failed expression comes last."""
    rows: dict[int, list[Step]] = {}
    for step in steps:
        rows.setdefault(step.row, []).append(step)
    if failure is not None:
        rows.pop(failure.row, None)
    merged = []
    for row, parts in rows.items():
        variables: dict[str, str] = {}
        for part in parts:
            variables.update(part.variables)
        whole = max(parts, key=lambda p: len(p.text))
        merged.append(Step(whole.file, row, whole.text, variables))
    if failure is not None:
        merged.append(failure)
    return tuple(merged)


def explain(
    run: CheckRun, bundle: PolicyBundle, policy: str, agent_name: str | None, now: datetime
) -> Explanation:
    """Explain `policy` for one agent of a `golive check` run (decided with `bundle`)."""
    info = bundle.policies.get(policy)
    if info is None:
        near = sorted(p for p in bundle.policies if p.split(".")[-1] in policy)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise ExplainError(
            f"--policy: expected a policy id of the library (golive.<area>.<rule>), got "
            f"{policy!r}{hint}"
        )
    index = pick_agent(run, agent_name)
    agent = run.agents[index]
    policy_input = run.policy_inputs[index]
    now_ns = int(now.timestamp() * 1_000_000_000)
    _, events = libopa.explain(
        bundle.modules, f"data.{info.package}.deny", encode_input(policy_input), now_ns
    )
    return Explanation(
        policy,
        str(info.enforcement),
        agent,
        tuple(f for f in agent.findings if f.policy == policy),
        attempts_of(events, info.module),
    )


def render(explanation: Explanation) -> list[str]:
    """Plain lines: the verdict, the findings, then OPA's trace attempt by attempt."""
    e = explanation
    head = f"{e.policy} on {e.agent.agent} ({e.agent.source}:{e.agent.line}): "
    if e.fired:
        kinds = sorted({f.enforcement for f in e.findings})
        lines = [head + f"fired, {len(e.findings)} finding(s), {', '.join(kinds)}"]
        lines += [f"  {f.field}: {f.message}" for f in e.findings]
    else:
        lines = [head + "did not fire"]
    lines.append("")
    lines.append(f"OPA's trace of data.{e.policy}.deny, each evaluation of a deny body:")
    denies = [a for a in e.attempts if a.is_deny]
    if not denies:
        lines.append("  no deny body was evaluated (a rule's index found none to try)")
    for attempt in denies:
        verdict = "succeeded: a finding" if attempt.succeeded else "failed: no finding"
        lines.append(f"  {attempt.file}:{attempt.row} {attempt.head}  -> {verdict}")
        for i, step in enumerate(attempt.steps):
            last = i == len(attempt.steps) - 1
            mark = "FAILED " if last and not attempt.succeeded else ""
            lines.append(f"    {mark}{step.file}:{step.row}  {_one_line(step.text)}")
            for name, value in sorted(step.variables.items()):
                lines.append(f"        {name} = {value}")
    helpers = [a for a in e.attempts if not a.is_deny]
    if helpers:
        lines.append("The module's other rules, as they evaluated:")
        for attempt in helpers:
            value = "defined" if attempt.succeeded else "undefined"
            lines.append(f"  {attempt.file}:{attempt.row} {_one_line(attempt.head)}  -> {value}")
    return lines


def _one_line(text: str) -> str:
    return " ".join(text.split())


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    e = explanation
    return {
        "policy": e.policy,
        "agent": e.agent.agent,
        "fired": e.fired,
        "findings": [vars(f) for f in e.findings],
        "attempts": [
            {
                "file": a.file,
                "row": a.row,
                "head": a.head,
                "rule": "deny" if a.is_deny else "helper",
                "succeeded": a.succeeded,
                "steps": [vars(s) | {"variables": dict(s.variables)} for s in a.steps],
            }
            for a in e.attempts
        ],
    }
