"""The CRD schemas `golive check` validates with: shipped in the package, never silently absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from controller.bundled import CRDS
from controller.check.schema import SchemaError, SchemaSet

REPO = Path(__file__).resolve().parents[2]


def test_the_package_carries_the_repositorys_crds() -> None:
    shipped = {p.name: p.read_text() for p in CRDS.glob("*.yaml")}
    in_repo = {p.name: p.read_text() for p in (REPO / "crds").glob("*.yaml")}
    assert shipped == in_repo and len(shipped) == 3
    assert sorted(SchemaSet().validators) == ["AgentContract", "AgentDeployment", "AgentException"]


def test_a_missing_folder_is_an_error_not_an_empty_set(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="is not a folder"):
        SchemaSet(tmp_path / "nowhere")


def test_a_missing_kind_is_an_error(tmp_path: Path) -> None:
    for path in CRDS.glob("*.yaml"):
        if "agentexceptions" not in path.name:
            shutil.copy(path, tmp_path / path.name)
    with pytest.raises(SchemaError, match="lack AgentException"):
        SchemaSet(tmp_path)


def test_schema_errors_name_the_field() -> None:
    errors = list(SchemaSet().errors({"kind": "AgentDeployment", "spec": {"replicas": "two"}}))
    assert any(e.startswith("spec.replicas:") for e in errors), errors
