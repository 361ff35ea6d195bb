"""Bundle loading: entry point, digest, refusals (static scan), result parsing, rego errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.domain.decision import RawViolation
from controller.engine.bundle import (
    ENTRYPOINT_MODULE,
    bundle_from_modules,
    compute_digest,
    load_bundle_dir,
    violations_from_result,
)
from controller.engine.module_scan import blank_comments_and_strings, forbidden_uses
from controller.engine.protocol import PolicyError
from controller.engine.rego_errors import describe_rego_errors, line_and_column
from tests.unit.rego_samples import LIB, OWNER, REPLICAS, policy


def test_entrypoint_collects_rule_packages_only() -> None:
    bundle = bundle_from_modules(
        {
            "ownership/owner/policy.rego": OWNER,
            "release/replicas/policy.rego": REPLICAS,
            "lib/names.rego": LIB,
            "ownership/owner/policy_test.rego": "package golive.ownership.owner_test\n",
            "README.md": "not rego",
        }
    )
    assert sorted(bundle.policies) == ["golive.ownership.owner", "golive.release.replicas"]
    assert set(bundle.modules) == {
        "ownership/owner/policy.rego", "release/replicas/policy.rego", "lib/names.rego",
        ENTRYPOINT_MODULE,
    }  # fmt: skip
    entry = bundle.entrypoint
    assert "package golive_entrypoint" in entry
    assert "some v in data.golive.ownership.owner.deny" in entry
    assert "some v in data.golive.release.replicas.deny" in entry
    assert "golive.lib" not in entry and "_test" not in entry


def test_digest_is_stable_and_content_sensitive() -> None:
    one = bundle_from_modules({"a.rego": OWNER, "b.rego": REPLICAS})
    two = bundle_from_modules({"b.rego": REPLICAS, "a.rego": OWNER})
    assert one.digest == two.digest and one.digest.startswith("sha256:")
    changed = bundle_from_modules({"a.rego": OWNER + "\n", "b.rego": REPLICAS})
    assert changed.digest != one.digest
    # Length-prefixed: moving text between name and body changes the digest.
    assert compute_digest({"ab": "c"}) != compute_digest({"a": "bc"})


@pytest.mark.parametrize(
    ("modules", "problem"),
    [
        ({"x.rego": "import rego.v1\n"}, "x.rego: no `package` line"),
        ({"x.rego": "package other.rules\n"}, "outside golive.*"),
        ({"x.rego": "package golive.lib.x\n\ndeny contains 1 if true\n"}, "never be evaluated"),
        ({"x.rego": "package golive.a.b\n\nimport rego.v1\n\ndeny contains 1 if true\n"},
         "x.rego: package golive.a.b defines deny rules but no module"),
        ({"lib.rego": LIB}, "empty library"),
        ({ENTRYPOINT_MODULE: OWNER}, "reserved"),
    ],
)  # fmt: skip
def test_refusals_name_the_module(modules: dict[str, str], problem: str) -> None:
    with pytest.raises(PolicyError, match=problem.replace("*", r"\*").replace("`", ".")):
        bundle_from_modules(modules)


@pytest.mark.parametrize(
    ("call", "why"),
    [
        ('r := http.send({"method": "get", "url": "http://x"})', "http.send"),
        ('r := net.lookup_ip_addr("example.com")', "net.*"),
        ("r := opa.runtime()", "opa.runtime"),
        ("r := rego.metadata.rule()", "rego.metadata"),
        ("r := time.now_ns()", "time.now_ns"),
        ("r := count(input.agent.spec) with input as {}", "with input as"),
    ],
)
def test_forbidden_builtins_are_refused_statically(call: str, why: str) -> None:
    text = policy(
        "golive.net.call",
        f'deny contains {{"field": "f", "msg": sprintf("%v", [r])}} if {{\n\t{call}\n}}\n',
    )
    with pytest.raises(PolicyError) as caught:
        bundle_from_modules({"net/call/policy.rego": text})
    message = str(caught.value)
    assert message.startswith("module net/call/policy.rego: refused: line 13:")
    assert why in message


def test_scan_ignores_comments_strings_and_input_fields() -> None:
    text = (
        '# http.send is not allowed\nmsg := "use net.lookup_ip_addr? no"\n'
        "raw := `opa.runtime()`\nx := input.agent.spec.net.cidr\n"
    )
    assert forbidden_uses(text) == []
    blanked = blank_comments_and_strings('a := "x\\"y" # c\nb := `r\ns`')
    assert blanked.count("\n") == 2 and "c" not in blanked.split("\n")[0][6:]


def test_load_from_directory_skips_tests(tmp_path: Path) -> None:
    (tmp_path / "ownership/owner").mkdir(parents=True)
    (tmp_path / "ownership/owner/policy.rego").write_text(OWNER)
    (tmp_path / "ownership/owner/policy_test.rego").write_text("package broken(\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/names.rego").write_text(LIB)
    bundle = load_bundle_dir(tmp_path)
    assert "ownership/owner/policy.rego" in bundle.modules
    assert "ownership/owner/policy_test.rego" not in bundle.modules
    with pytest.raises(PolicyError, match="does not exist"):
        load_bundle_dir(tmp_path / "nope")


def test_violations_from_result() -> None:
    result = [
        {"policy": "golive.b", "field": "f", "msg": "2"},
        {"policy": "golive.a", "field": "f", "msg": "1"},
    ]
    assert violations_from_result(result) == [
        RawViolation("golive.a", "f", "1"), RawViolation("golive.b", "f", "2"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "result",
    [
        {"not": "a list"},
        [{"policy": "golive.a", "malformed": "deny is not a set"}],
        [{"policy": "golive.a", "malformed": {"msg": "no field"}}],
        [{"policy": "golive.a", "field": 1, "msg": "m"}],
        ["string"],
    ],
)
def test_malformed_results_are_policy_errors(result: object) -> None:
    with pytest.raises(PolicyError):
        violations_from_result(result)


def test_rego_cpp_error_terms_become_file_line_column() -> None:
    text = "package golive.x\n\nimport rego.v1\n\ndeny contains v if {\n  v := \n}\n"
    raw = (
        "(rego-errorseq\n  (error 8:bad.rego|59|2\n    (errormsg 27:Invalid assignment operator)\n"
        "    (errorast |59|2 (rego-assign |59|2)) (rego-errorcode)))"
    )
    assert (
        describe_rego_errors(raw, {"bad.rego": text}) == "bad.rego:6:5: Invalid assignment operator"
    )
    assert describe_rego_errors("(error\n (errormsg 9:Not found))", {}) == "Not found"
    assert describe_rego_errors("something else", {}) == "something else"
    assert line_and_column("ab\ncd", 4) == (2, 2)
