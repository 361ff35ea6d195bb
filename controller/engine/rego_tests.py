"""Run Rego unit tests (`test_*` rules) on the embedded engine: OPA's own test runner, in
golive's sandbox, so the results are those of `opa test` on the same `.rego` files."""

from __future__ import annotations

from pathlib import Path

from controller.engine import libopa
from controller.engine.libopa import RegoTestResult

__all__ = ["RegoTestResult", "read_rego_files", "run_rego_tests"]


def read_rego_files(root: Path) -> dict[str, str]:
    """Every `*.rego` under root, tests included, named by their path relative to root."""
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.rego"))
    }


def run_rego_tests(root: Path, timeout: float = 5.0) -> list[RegoTestResult]:
    """Raises PolicyError (libopa.LibraryError) if the modules do not compile."""
    return libopa.run_tests(read_rego_files(root), timeout)
