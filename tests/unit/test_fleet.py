"""golive in a fleet (docs/fleet.md): the library as ConfigMaps with its declared digest
(`golive policy configmaps`), drift between what is declared and what is loaded, the cluster's
name on golive_policy_info and on the Reports, and `--cluster-name` checked with the other
options. The real OPA evaluator loads the ConfigMaps here, as in the operator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from controller.check.library import configmap_name, library_configmaps, render_configmaps
from controller.cli import app
from controller.domain.api import CLUSTER_LABEL, POLICY_DIGEST, POLICY_LABEL
from controller.domain.decision import decide
from controller.domain.fleet import cluster_name_problem, library_state
from controller.domain.model import read_agent
from controller.domain.report import build_report
from controller.engine.bundle import load_library
from controller.operator import metrics
from controller.operator.main import OperatorOptions
from controller.operator.policies import PolicyManager

REPO = Path(__file__).resolve().parents[2]


def safe_library_maps() -> list[dict[str, Any]]:
    return library_configmaps([], True, "golive-system")


def manager_with(maps: list[dict[str, Any]]) -> PolicyManager:
    manager = PolicyManager("embedded", namespace="golive-system")
    for cm in maps:
        meta = cm["metadata"]
        manager.set_configmap(meta["name"], cm["data"], meta["annotations"].get(POLICY_DIGEST, ""))
    return manager


# --- the library as ConfigMaps ----------------------------------------------------------------


def test_the_configmaps_load_to_the_digest_they_declare_and_golive_check_prints() -> None:
    maps = safe_library_maps()
    digest = load_library().digest  # what `golive check` prints for the SAFE library
    assert {cm["metadata"]["annotations"][POLICY_DIGEST] for cm in maps} == {digest}
    assert all(cm["metadata"]["labels"] == {POLICY_LABEL: "true"} for cm in maps)
    keys = [key for cm in maps for key in cm["data"]]
    assert keys and not any(key.endswith("_test.rego") for key in keys)
    manager = manager_with(maps)
    try:
        assert manager.load()
        assert manager.digest == digest
        assert manager.library.drifted is False
    finally:
        manager.close()


def test_the_configmaps_are_named_and_laid_out_as_the_chart_names_them() -> None:
    maps = {cm["metadata"]["name"]: cm for cm in safe_library_maps()}
    owner = maps["golive-policy-ownership-single-owner"]
    assert owner["metadata"]["annotations"]["golive.dev/policy-path"] == "ownership/single_owner"
    assert set(owner["data"]) == {"policy.rego"}
    assert (
        owner["data"]["policy.rego"]
        == (REPO / "policies/ownership/single_owner/policy.rego").read_text()
    )
    # The chart's template: <fullname>-policy-<folder with / and _ as ->, cut at 63.
    assert configmap_name("golive", "lib/podsecurity") == "golive-policy-lib-podsecurity"
    assert len(configmap_name("x" * 60, "a/b")) <= 63


def test_the_rendered_stream_reads_back_exactly_with_the_rego_as_literal_blocks() -> None:
    maps = safe_library_maps()
    text = render_configmaps(maps, "a header\nsecond line")
    assert text.startswith("# a header\n# second line\n")
    assert list(yaml.safe_load_all(text)) == maps
    assert "  policy.rego: |\n    # METADATA\n" in text  # readable in git, tabs and all
    data = {"a.rego": " leading space\n", "b.rego": "no newline", "c.rego": "two\n\n"}
    odd = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": data}]
    assert list(yaml.safe_load_all(render_configmaps(odd))) == odd


def test_a_team_folder_joins_the_library_and_changes_the_digest(tmp_path: Path) -> None:
    rule = tmp_path / "team" / "naming" / "prefix"
    rule.mkdir(parents=True)
    source = REPO / "policies/ownership/single_owner/policy.rego"
    (rule / "policy.rego").write_text(
        source.read_text().replace("golive.ownership.single_owner", "golive.naming.prefix")
    )
    (rule / "policy_test.rego").write_text("package golive.naming.prefix_test\n")
    maps = library_configmaps([tmp_path / "team"], True, "policies")
    names = {cm["metadata"]["name"] for cm in maps}
    assert "golive-policy-naming-prefix" in names
    assert {cm["metadata"]["namespace"] for cm in maps} == {"policies"}
    digest = maps[0]["metadata"]["annotations"][POLICY_DIGEST]
    assert digest == load_library([tmp_path / "team"]).digest != load_library().digest


def test_the_cli_prints_the_library_and_refuses_a_bad_namespace() -> None:
    result = CliRunner().invoke(app, ["policy", "configmaps", "-n", "golive-system"])
    assert result.exit_code == 0, result.output
    assert f"# library digest {load_library().digest}\n" in result.output
    assert list(yaml.safe_load_all(result.output)) == safe_library_maps()
    bad = CliRunner().invoke(app, ["policy", "configmaps", "-n", "Not_A_Namespace"])
    assert bad.exit_code == 2 and "--namespace: expected a namespace name" in bad.output
    empty = CliRunner().invoke(app, ["policy", "configmaps", "--no-safe-library"])
    assert empty.exit_code == 2 and "nothing is written" in empty.output


# --- drift --------------------------------------------------------------------------------------


def test_drift_is_what_is_loaded_against_what_the_configmaps_declare() -> None:
    assert library_state("sha256:a", [None, ""]).drifted is None  # nothing declared
    assert library_state("sha256:a", ["sha256:a", "sha256:a"]).drifted is False
    assert library_state("sha256:b", ["sha256:a", "sha256:a"]).drifted is True  # hand edit
    half = library_state("sha256:a", ["sha256:a", "sha256:b"])  # a sync stopped half-way
    assert half.drifted is True and half.expected == ""
    assert library_state("", ["sha256:a"]).drifted is True  # nothing usable loaded
    assert library_state("sha256:a", ["sha256:a", None]).expected == "sha256:a"


def test_a_hand_edit_shows_as_drift_until_git_is_back() -> None:
    maps = safe_library_maps()
    manager = manager_with(maps)
    try:
        assert manager.load() and manager.library.drifted is False
        owner = next(cm for cm in maps if cm["metadata"]["name"].endswith("single-owner"))
        name, declared = owner["metadata"]["name"], owner["metadata"]["annotations"][POLICY_DIGEST]
        edited = {"policy.rego": owner["data"]["policy.rego"] + "\n# edited by hand\n"}
        assert manager.set_configmap(name, edited, declared)
        assert manager.load() and manager.library.drifted is True
        assert manager.library.expected == declared != manager.digest
        # A new declaration alone loads nothing; git's data back ends the drift.
        assert not manager.set_configmap(name, edited, declared)
        assert manager.set_configmap(name, owner["data"], declared)
        assert manager.load() and manager.library.drifted is False
        # A ConfigMap deleted by hand: the rest still declare the library, which is not loaded.
        assert manager.set_configmap(name, None)
        assert manager.load() and manager.library.drifted is True
    finally:
        manager.close()


# --- what the operator exports --------------------------------------------------------------


def samples(name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_the_info_series_carries_cluster_and_digests_and_drift_is_a_gauge() -> None:
    state = {"now": library_state("sha256:a", ["sha256:a"])}
    metrics.LIBRARY.watch("prod-eu", lambda: state["now"])
    info = (("cluster", "prod-eu"), ("digest", "sha256:a"), ("expected_digest", "sha256:a"))
    assert samples("golive_policy_info") == {info: 1.0}
    assert samples("golive_policy_drift") == {(): 0.0}
    state["now"] = library_state("sha256:b", ["sha256:a"])
    edited = (("cluster", "prod-eu"), ("digest", "sha256:b"), ("expected_digest", "sha256:a"))
    assert samples("golive_policy_info") == {edited: 1.0}  # one series, read at the scrape
    assert samples("golive_policy_drift") == {(): 1.0}
    state["now"] = library_state("sha256:b", [])
    assert samples("golive_policy_drift") == {(): 0.0}  # nothing declared: nothing to compare


def test_reports_carry_the_cluster_label_where_the_cluster_is_named() -> None:
    agent = read_agent(
        {
            "apiVersion": "golive.dev/v1alpha1",
            "kind": "AgentDeployment",
            "metadata": {"name": "bot", "namespace": "agents", "uid": "u-1", "generation": 1},
            "spec": {},
        }
    )
    decision = decide([], {}, [], "embedded", "sha256:a")
    now = datetime(2026, 12, 8, tzinfo=UTC)
    named = build_report(agent, decision, {}, None, now, "prod-eu")
    assert named is not None and named["metadata"]["labels"][CLUSTER_LABEL] == "prod-eu"
    unnamed = build_report(agent, decision, {}, None, now)
    assert unnamed is not None and CLUSTER_LABEL not in unnamed["metadata"]["labels"]
    assert named["source"] == unnamed["source"] == "golive"  # the engine, not the cluster


@pytest.mark.parametrize("name", ["", "prod-eu", "dev_1", "a.b", "x" * 63])
def test_cluster_names_that_are_label_values_are_accepted(name: str) -> None:
    assert cluster_name_problem(name) is None
    assert OperatorOptions(cluster_name=name).problems() == []


@pytest.mark.parametrize("name", ["-prod", "prod eu", "prod/eu", "x" * 64, "é"])
def test_other_cluster_names_are_refused_naming_the_option(name: str) -> None:
    (problem,) = OperatorOptions(cluster_name=name).problems()
    assert problem.startswith("--cluster-name: expected a label value")
    result = CliRunner().invoke(app, ["run", "--cluster-name", name])
    assert result.exit_code == 2 and "--cluster-name" in result.output


def test_the_fleet_example_team_rule_passes_its_tests_and_samples_with_the_safe_library() -> None:
    # What the platform team's CI runs before writing library/ (docs/fleet.md).
    result = CliRunner().invoke(
        app, ["policy", "test", str(REPO / "examples/fleet/policies"), "--with-safe-library"]
    )
    assert result.exit_code == 0, result.output
    assert "rego tests: 4 passed, 0 failed" in result.output
    assert "samples: 2 passed, 0 failed" in result.output
