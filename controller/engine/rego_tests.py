"""Run Rego unit tests (`test_*` rules in `*_test` packages) on the embedded engine.

Each test package runs in its own child process: regopy can crash the process on some test
constructs (see docs/design.md), and a crash must be reported as a failure, not take the
runner down. `golive policy test --runner opa` runs the same files with `opa test` instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from controller.domain.policy_metadata import package_of

TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]+)\b", re.MULTILINE)


@dataclass(frozen=True)
class RegoTestResult:
    package: str
    name: str
    passed: bool
    detail: str = ""


def read_rego_files(root: Path) -> dict[str, str]:
    """Every `*.rego` under root, tests included, named by their path relative to root."""
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.rego"))
    }


def test_packages(modules: Mapping[str, str]) -> dict[str, list[str]]:
    """package -> test rule names, from every module whose package ends in `_test`."""
    out: dict[str, list[str]] = {}
    for text in modules.values():
        package = package_of(text)
        if package and package.endswith("_test"):
            out.setdefault(package, []).extend(dict.fromkeys(TEST_RULE.findall(text)))
    return out


def run_rego_tests(modules: Mapping[str, str], timeout: float = 60.0) -> list[RegoTestResult]:
    results: list[RegoTestResult] = []
    library = {n: t for n, t in modules.items() if not (package_of(t) or "").endswith("_test")}
    for package, names in sorted(test_packages(modules).items()):
        # One test package per interpreter: rego-cpp 1.5.2 reports "Unable to unify due to
        # cycle" when several test packages are loaded together (each alone passes).
        own = {n: t for n, t in modules.items() if package_of(t) == package}
        request = json.dumps({"modules": {**library, **own}, "query": f"data.{package}"})
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "controller.engine.rego_test_worker"],
                input=request,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            results += [RegoTestResult(package, n, False, "timed out") for n in names]
            continue
        if proc.returncode != 0:
            why = f"the embedded engine crashed (exit {proc.returncode}): {proc.stderr[-500:]}"
            results += [RegoTestResult(package, n, False, why) for n in names]
            continue
        # rego-cpp prints its diagnostics on stdout; the worker's answer is the last line.
        *diagnostics, last = proc.stdout.strip().splitlines() or [""]
        try:
            answer = json.loads(last)
        except json.JSONDecodeError:
            answer = {"error": proc.stdout[-1000:] or "no answer from the worker"}
        if "error" in answer:
            why = " ".join([*diagnostics, answer["error"]]).strip()[-1000:]
            results += [RegoTestResult(package, n, False, why) for n in names]
            continue
        value = answer.get("value") or {}
        for name in names:
            ok = value.get(name) is True
            results.append(RegoTestResult(package, name, ok, "" if ok else "false or undefined"))
    return results
