"""The Regal style rules `make lint` checks: each finding is reported, a clean library passes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("lint_rego", REPO / "scripts" / "lint_rego.py")
assert spec is not None and spec.loader is not None
lint_rego = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lint_rego)


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_package_must_mirror_its_folder_and_lines_stay_short(tmp_path: Path) -> None:
    write(tmp_path, "ownership/owner/policy.rego", "package golive.ownership.owner\n")
    write(tmp_path, "ownership/owner/policy_test.rego", "package golive.ownership.owner_test\n")
    write(tmp_path, "lib/names/names.rego", "package golive.lib.names\n")
    assert lint_rego.findings(tmp_path) == []
    write(
        tmp_path, "scope/narrow/policy.rego", "package golive.scope.wide\n\nx := 1 # " + "y" * 120
    )
    found = lint_rego.findings(tmp_path)
    assert len(found) == 2
    assert (
        "scope/narrow/policy.rego:1: directory-package-mismatch: package golive.scope.wide"
        in (found[0])
    )
    assert "scope/narrow/policy.rego:3: line-length: 129 characters" in found[1]
    assert lint_rego.main([str(tmp_path)]) == 1
