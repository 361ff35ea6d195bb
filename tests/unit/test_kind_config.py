"""kind-config.yaml at the repository root parses and is a one-node kind cluster config."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_kind_config_is_a_one_node_cluster() -> None:
    docs = [d for d in yaml.safe_load_all((ROOT / "kind-config.yaml").read_text()) if d]
    assert len(docs) == 1
    config = docs[0]
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["kind"] == "Cluster"
    assert [node["role"] for node in config["nodes"]] == ["control-plane"]


def test_makefile_kind_targets_use_the_config() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("kind-up:", "deploy:", "kind-down:"):
        assert f"\n{target}" in makefile, f"Makefile has no {target} target"
    assert "--config kind-config.yaml" in makefile
