"""`golive policy test`: the Rego unit tests of a library (on the embedded engine or an opa
binary) and its samples, as report lines (rich markup) and a count of failures; the CLI only
prints them."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from controller.check.samples import SAMPLE_GLOB, SAMPLE_KINDS, SampleResult
from controller.engine.rego_tests import run_rego_tests

RUNNERS = ("embedded", "opa")
POLICY_FILE = "policy.rego"  # a policy folder (<area>/<rule>/policy.rego); lib/ has none


@dataclass
class LibraryReport:
    lines: list[str] = field(default_factory=list)
    failures: int = 0


def rego_tests(directory: Path, runner: str, opa: str, report: LibraryReport) -> None:
    """Run the library's Rego tests; raises EngineError when the embedded runner cannot."""
    if runner == "opa":
        # opa prints its own report.
        proc = subprocess.run([opa, "test", str(directory)], check=False)
        report.failures += proc.returncode != 0
        return
    results = run_rego_tests(directory)
    for r in results:
        if r.failed:
            where = f"{r.file}:{r.row}" if r.file else r.package
            report.lines.append(
                f"[red]{r.outcome.upper()}[/red] {where} {r.package}.{r.name}: {r.message}"
            )
    failed = sum(r.failed for r in results)
    report.lines.append(f"rego tests: {len(results) - failed} passed, {failed} failed")
    report.failures += failed
    if not results:
        report.lines.append("[red]no Rego tests found[/red]")
        report.failures += 1


def samples(directory: Path, results: list[SampleResult], report: LibraryReport) -> None:
    """The samples' results, and every policy folder short of samples: an error, because a
    rule never shown denying a manifest (and a library never shown admitting one) is checked
    only by its Rego tests, never through golive's decision (docs/policies.md, "Samples")."""
    for s in results:
        if not s.passed:
            report.lines.append(f"[red]FAIL[/red] {s.path} ({s.expected}): {s.detail}")
    bad = sum(not s.passed for s in results)
    report.lines.append(f"samples: {len(results) - bad} passed, {bad} failed")
    report.failures += bad
    for folder, missing in folders_without_samples(directory, results):
        wanted = " and ".join(f"samples/{kind}/{SAMPLE_GLOB}" for kind in missing)
        report.lines.append(
            f"[red]NO SAMPLES[/red] {folder}: expected {wanted} (a manifest its rule denies, "
            "one the library admits; docs/policies.md, Samples)"
        )
        report.failures += 1


def folders_without_samples(
    directory: Path, results: list[SampleResult]
) -> list[tuple[str, list[str]]]:
    """Each policy folder (one with a policy.rego) that has no allowed or no disallowed sample,
    with what it lacks."""
    found = {(str(Path(s.path).parent.parent.parent), s.expected) for s in results}
    out = []
    for policy in sorted(directory.rglob(POLICY_FILE)):
        folder = policy.parent
        missing = [kind for kind in SAMPLE_KINDS if (str(folder), kind) not in found]
        if missing:
            out.append((str(folder), missing))
    return out
