"""The policy library under both engines' test runners, its samples, and its hygiene."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from controller.engine.rego_tests import run_rego_tests
from kit.controlplane import tool_bin_dir

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"


def opa() -> str:
    return str(tool_bin_dir(["opa"]) / "opa")


def test_opa_test_passes_with_the_real_opa() -> None:
    # Samples are YAML manifests, not data documents: OPA must not load them.
    proc = subprocess.run(
        [opa(), "test", str(POLICIES), "-v"],  # as every Rego author types it
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    passed = re.search(r"PASS: (\d+)/(\d+)", proc.stdout)
    assert passed and passed.group(1) == passed.group(2) and int(passed.group(1)) >= 50


def outcome_of(result: dict[str, object]) -> str:
    """The outcome of one `opa test --format json` entry, in golive's words."""
    if result.get("skip"):
        return "skip"
    if result.get("error"):
        return "error"
    return "fail" if result.get("fail") else "pass"


def test_embedded_runner_gives_the_same_results_as_opa_test(tmp_path: Path) -> None:
    # A failing and a skipped test beside the library's, so the comparison covers every outcome.
    library = tmp_path / "policies"
    shutil.copytree(POLICIES, library)
    (library / "ownership" / "single_owner" / "extra_test.rego").write_text(
        "package golive.ownership.single_owner_test\n\nimport rego.v1\n\n"
        "test_extra_fails if 1 == 2\n\ntodo_test_extra_later if true\n"
    )
    proc = subprocess.run(
        [opa(), "test", str(library), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    opa_results = {
        (str(r["package"]).removeprefix("data."), str(r["name"])): outcome_of(r)
        for r in json.loads(proc.stdout)
    }
    golive_results = {(r.package, r.name): r.outcome for r in run_rego_tests(library)}
    assert golive_results == opa_results
    assert opa_results[("golive.ownership.single_owner_test", "test_extra_fails")] == "fail"
    assert opa_results[("golive.ownership.single_owner_test", "todo_test_extra_later")] == "skip"
    assert sum(o == "pass" for o in opa_results.values()) >= 50


def test_opa_check_strict_and_fmt_are_clean() -> None:
    check = subprocess.run(
        [opa(), "check", "--strict", str(POLICIES)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([opa(), "fmt", "--list", str(POLICIES)], capture_output=True, text=True)
    assert fmt.returncode == 0 and fmt.stdout.strip() == "", fmt.stdout


def test_golive_policy_test_runs_rego_tests_and_samples_on_the_embedded_engine() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "controller.cli", "policy", "test", str(POLICIES)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    rego = re.search(r"rego tests: (\d+) passed, (\d+) failed", proc.stdout)
    samples = re.search(r"samples: (\d+) passed, (\d+) failed", proc.stdout)
    assert rego and int(rego.group(1)) >= 50 and rego.group(2) == "0"
    assert samples and int(samples.group(1)) >= 20 and samples.group(2) == "0"


def test_every_rule_folder_has_tests_and_both_kinds_of_samples() -> None:
    rules = [p.parent for p in POLICIES.rglob("policy.rego") if "lib" not in p.parts]
    assert len(rules) >= 9
    for rule in rules:
        assert (rule / "policy_test.rego").is_file(), rule
        assert list((rule / "samples" / "allowed").glob("*.yaml.sample")), rule
        assert list((rule / "samples" / "disallowed").glob("*.yaml.sample")), rule
        text = (rule / "policy.rego").read_text()
        assert "# METADATA" in text and "enforcement:" in text, rule
        assert "\nimport rego.v1\n" in text, rule  # written for Rego v1, as OPA documents it


def test_a_broken_sample_makes_policy_test_fail(tmp_path: Path) -> None:
    """The sample check can fail: an allowed sample that breaks a rule is reported."""

    lib = tmp_path / "policies"
    shutil.copytree(POLICIES, lib)
    allowed = next(
        (lib / "ownership" / "single_owner" / "samples" / "allowed").glob("*.yaml.sample")
    )
    text = allowed.read_text()
    allowed.write_text(re.sub(r"(owner:\s*\n\s*name:)[^\n]*", r"\1 Platform Team", text, count=1))
    proc = subprocess.run(
        [sys.executable, "-m", "controller.cli", "policy", "test", str(lib)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 1
    assert "FAIL" in proc.stdout and allowed.name in proc.stdout.replace("\n", "")


def test_a_library_without_samples_says_which_folder_lacks_which(tmp_path: Path) -> None:
    """Rego tests pass, samples are missing: exit 1 with the reason per policy folder (it used
    to print only "samples: 0 passed, 0 failed")."""
    lib = tmp_path / "policies"
    shutil.copytree(POLICIES, lib)
    single_owner = lib / "ownership" / "single_owner"
    for sample in (lib / "fallback").rglob("*.yaml.sample"):
        sample.unlink()  # fallback/fallback_defined: no sample of either kind
    shutil.rmtree(single_owner / "samples" / "allowed")  # single_owner: no allowed one
    proc = subprocess.run(
        [sys.executable, "-m", "controller.cli", "policy", "test", str(lib)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert re.search(r"rego tests: \d+ passed, 0 failed", proc.stdout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("NO SAMPLES")]
    assert lines == [
        f"NO SAMPLES {lib / 'fallback' / 'fallback_defined'}: expected "
        "samples/allowed/*.yaml.sample and samples/disallowed/*.yaml.sample (a manifest its "
        "rule denies, one the library admits; docs/policies.md, Samples)",
        f"NO SAMPLES {single_owner}: expected samples/allowed/*.yaml.sample (a manifest its "
        "rule denies, one the library admits; docs/policies.md, Samples)",
    ]
