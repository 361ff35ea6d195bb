"""The Helm chart's copies, values schema and rendered security posture.

- charts/golive/crds/ must be byte-identical copies of crds/ (Helm installs them untemplated);
- charts/golive/files/policies/ must be byte-identical copies of the installed policy library:
  policies/<area>/<rule>/policy.rego and policies/lib/**/*.rego (no tests, no samples);
  `scripts/sync-chart.sh` refreshes both and `scripts/sync-chart.sh --check` agrees with this test;
- values.yaml and every ci/*.yaml validate against values.schema.json, which rejects unknown keys
  and values outside the enums;
- rendered with the real helm (when `make tools` has built it): the ClusterRole has no "*" in
  verbs, resources or apiGroups and no access to Secrets, and the operator runs as non-root with
  a read-only root filesystem. tests/e2e/test_chart_e2e.py repeats the render for every ci
  values file and applies it to a real API server.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kit.controlplane import tool_bin_dir

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "golive"
SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def _tree(base: Path, paths: list[Path]) -> dict[str, bytes]:
    return {str(p.relative_to(base)): p.read_bytes() for p in paths}


def _library_sources() -> list[Path]:
    policies = ROOT / "policies"
    rules = [p for p in policies.glob("*/*/policy.rego") if p.parts[-3] != "lib"]
    lib = [p for p in (policies / "lib").rglob("*.rego") if not p.name.endswith("_test.rego")]
    return sorted(rules + lib)


# --- copies ---------------------------------------------------------------------------------


def test_chart_crds_are_identical_copies_of_crds() -> None:
    source = _tree(ROOT / "crds", sorted((ROOT / "crds").glob("*.yaml")))
    copied = _tree(CHART / "crds", sorted((CHART / "crds").glob("*.yaml")))
    assert source, "crds/ is empty"
    assert sorted(copied) == sorted(source), "run scripts/sync-chart.sh"
    stale = [name for name in source if copied[name] != source[name]]
    assert not stale, (
        f"charts/golive/crds/ differs from crds/ in {stale}: run scripts/sync-chart.sh"
    )


def test_chart_policy_library_is_an_identical_copy_of_policies() -> None:
    source = _tree(ROOT / "policies", _library_sources())
    copied_root = CHART / "files" / "policies"
    files = [p for p in copied_root.rglob("*") if p.is_file()] if copied_root.exists() else []
    copied = _tree(copied_root, sorted(files))
    assert source, "policies/ has no policy.rego"
    missing = sorted(set(source) - set(copied))
    extra = sorted(set(copied) - set(source))
    stale = sorted(k for k in set(source) & set(copied) if source[k] != copied[k])
    assert not (missing or extra or stale), (
        f"charts/golive/files/policies drifted from policies/: missing {missing}, extra {extra}, "
        f"stale {stale}: run scripts/sync-chart.sh"
    )


def test_sync_script_check_mode_agrees() -> None:
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "sync-chart.sh"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_tests_or_samples_are_shipped_in_the_chart() -> None:
    shipped = [p.name for p in (CHART / "files").rglob("*") if p.is_file()]
    assert not [n for n in shipped if n.endswith("_test.rego") or n.endswith(".yaml")]


# --- values schema --------------------------------------------------------------------------


def _values_files() -> list[Path]:
    return [CHART / "values.yaml", *sorted((CHART / "ci").glob("*.yaml"))]


def _merged(overrides: dict[str, Any]) -> dict[str, Any]:
    def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(base)
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    return merge(yaml.safe_load((CHART / "values.yaml").read_text()), overrides)


@pytest.mark.parametrize("path", _values_files(), ids=lambda p: p.name)
def test_values_files_validate_against_the_schema(path: Path) -> None:
    jsonschema.validate(_merged(yaml.safe_load(path.read_text()) or {}), SCHEMA)


def test_ci_values_files_exist() -> None:
    names = {p.name for p in (CHART / "ci").glob("*.yaml")}
    assert {"default-values.yaml", "remote-opa-values.yaml", "cert-manager-values.yaml"} <= names


@pytest.mark.parametrize(
    "overrides",
    [
        {"unknownKey": True},
        {"engine": {"type": "wasm"}},
        {"engine": {"type": "remote", "opaUrl": ""}},
        {"engine": {"type": "embedded", "url": "http://x"}},
        {"webhook": {"failurePolicy": "Retry"}},
        {"webhook": {"timeoutSeconds": 31}},
        {"certManager": {"enabled": "yes"}},
        {"clusterName": "prod/eu"},
        {"clusterName": "x" * 64},
    ],
    ids=lambda o: json.dumps(o, sort_keys=True),
)
def test_schema_rejects_bad_values(overrides: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_merged(overrides), SCHEMA)


def test_schema_is_strict_with_enums() -> None:
    assert SCHEMA["additionalProperties"] is False
    assert SCHEMA["properties"]["engine"]["properties"]["type"]["enum"] == ["embedded", "remote"]
    assert SCHEMA["properties"]["webhook"]["properties"]["failurePolicy"]["enum"] == [
        "Fail",
        "Ignore",
    ]


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "golive"
    assert chart["appVersion"] == "0.1.0"


# --- rendered with the real helm ------------------------------------------------------------


def _helm() -> Path:
    # Built by scripts/tools.sh when missing (never a skip): a test that cannot run must fail.
    return tool_bin_dir(["helm"]) / "helm"


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(_helm()), "template", "golive", str(CHART), "--namespace", "golive-system"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def test_rendered_clusterrole_has_no_wildcards_and_no_secrets(
    rendered: list[dict[str, Any]],
) -> None:
    role = _one(rendered, "ClusterRole")
    for rule in role["rules"]:
        for key in ("verbs", "resources", "apiGroups"):
            assert "*" not in rule.get(key, []), f"wildcard in {key}: {rule}"
            assert not any("*" in item for item in rule.get(key, [])), rule
        assert "secrets" not in rule.get("resources", []), rule
        assert "nonResourceURLs" not in rule, rule
        assert "delete" not in rule["verbs"] and "deletecollection" not in rule["verbs"], rule


def test_rendered_deployment_is_locked_down(rendered: list[dict[str, Any]]) -> None:
    deployment = _one(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["args"][:2] == ["run", "--engine=embedded"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounts


@pytest.mark.parametrize("values", sorted((CHART / "ci").glob("*.yaml")), ids=lambda p: p.stem)
def test_rendered_operator_args_are_accepted_by_golive_run(values: Path) -> None:
    """The chart's `golive run` arguments parse with the real CLI (no unknown option)."""
    import typer

    from controller.cli import app

    proc = subprocess.run(
        [str(_helm()), "template", "golive", str(CHART), "-n", "golive-system", "-f", str(values)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (deployment,) = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {"POD_NAMESPACE": "golive-system", "POD_NAME": "golive-0"}
    args = [a.replace("$(POD_NAMESPACE)", env["POD_NAMESPACE"]) for a in container["args"]]
    group = typer.main.get_command(app)
    parent = group.make_context("golive", [args[0]], resilient_parsing=False)
    command = group.get_command(parent, args[0])
    assert command is not None, f"golive has no {args[0]!r} command"
    ctx = command.make_context(args[0], args[1:], parent=parent)
    assert ctx.params["engine"] == (yaml.safe_load(values.read_text()).get("engine") or {}).get(
        "type", "embedded"
    )
    assert ctx.params["policy_namespace"] == "golive-system"
    assert ctx.params["cluster_name"] == (
        yaml.safe_load(values.read_text()).get("clusterName") or ""
    )


def test_the_image_the_chart_and_the_kit_run_golive_with_the_same_memory_settings(
    rendered: list[dict[str, Any]],
) -> None:
    """The benchmarks start golive through kit/operator.py: they measure what ships only if the
    Dockerfile's ENV and the chart's env say the same."""
    from kit.operator import OPERATOR_ENV

    (container,) = _one(rendered, "Deployment")["spec"]["template"]["spec"]["containers"]
    chart = {e["name"]: e.get("value") for e in container["env"]}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert OPERATOR_ENV
    for name, value in OPERATOR_ENV.items():
        assert chart.get(name) == value, name
        assert f"    {name}={value} \\\n" in dockerfile, name
