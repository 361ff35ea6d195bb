"""Bundle loading: entry point, digest, refusals (OPA parser and sandbox), result parsing."""

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
from controller.engine.protocol import PolicyError
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
    # Content only: the same policies delivered under other module names give the same digest.
    renamed = bundle_from_modules({"cm-a/a.rego": OWNER, "cm-b/policy.rego": REPLICAS})
    assert renamed.digest == one.digest
    # Moving text between modules changes it.
    assert compute_digest({"a": "ab", "b": "c"}) != compute_digest({"a": "a", "b": "bc"})


@pytest.mark.parametrize(
    ("modules", "problem"),
    [
        ({"x.rego": "import rego.v1\n"}, "x.rego:1:1: rego_parse_error: package expected"),
        ({"x.rego": "package golive.a.b\n\ndeny contains v if {\n  v := \n}\n"},
         "x.rego:5:1: rego_parse_error: unexpected } token"),
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
    ("call", "builtin"),
    [
        ('r := http.send({"method": "get", "url": "http://x"})', "http.send"),
        ('r := net.lookup_ip_addr("example.com")', "net.lookup_ip_addr"),
        ('r := net.cidr_contains("10.0.0.0/8", "10.1.1.1")', "net.cidr_contains"),
        ("r := opa.runtime()", "opa.runtime"),
        ('r := rand.intn("x", 10)', "rand.intn"),
        ('r := uuid.rfc4122("x")', "uuid.rfc4122"),
    ],
)
def test_sandbox_refuses_builtins_naming_module_line_and_builtin(call: str, builtin: str) -> None:
    text = policy(
        "golive.net.call",
        f'deny contains {{"field": "f", "msg": sprintf("%v", [r])}} if {{\n\t{call}\n}}\n',
    )
    with pytest.raises(PolicyError) as caught:
        bundle_from_modules({"net/call/policy.rego": text})
    assert f"net/call/policy.rego:12:7: builtin {builtin} is refused by golive" in str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        "r := time.now_ns()",
        'r := time.parse_rfc3339_ns("2026-12-01T00:00:00Z")',
        "r := rego.metadata.rule()",
        'r := count(input.agent.spec) with input as {"agent": {"spec": {}}}',
        'r := sprintf("%v %d %.2f", [input.agent, 1, 2.5])',
    ],
)
def test_rego_as_opa_documents_it_is_accepted(call: str) -> None:
    text = policy(
        "golive.ok.call",
        f'deny contains {{"field": "f", "msg": sprintf("%v", [r])}} if {{\n\t{call}\n}}\n',
    )
    assert "golive.ok.call" in bundle_from_modules({"ok/call/policy.rego": text}).policies


def test_mentions_in_comments_strings_and_input_fields_are_not_calls() -> None:
    text = policy(
        "golive.ok.mentions",
        "# http.send is not allowed\n"
        'msg := "use net.lookup_ip_addr? no"\n\n'
        "raw := `opa.runtime()`\n\n"
        'deny contains {"field": "f", "msg": msg} if input.agent.spec.net.cidr\n',
    )
    assert bundle_from_modules({"ok/mentions/policy.rego": text}).policies


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


def test_a_rule_too_slow_for_the_smoke_inputs_is_a_policy_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Slow on every input: the policies are at fault, so PolicyError (EngineUnavailable would
    # be retried by the operator as if the engine could come back).
    monkeypatch.setattr("controller.engine.bundle.SMOKE_TIMEOUT_SECONDS", 0.2)
    slow = policy(
        "golive.slow.always",
        'deny contains {"field": "f", "msg": "m"} if {\n'
        "\tcount([x | some x in numbers.range(1, 100000000)]) < 0\n}\n",
    )
    with pytest.raises(PolicyError, match=r"smoke evaluation passed its deadline of 0\.2 s"):
        bundle_from_modules({"slow/always/policy.rego": slow})


def test_a_bundle_without_its_entry_point_is_refused_not_read_as_no_violations() -> None:
    from controller.engine.bundle import check_in_sandbox

    with pytest.raises(PolicyError, match="the entry point is undefined"):
        check_in_sandbox({"o.rego": OWNER})  # no generated golive_entrypoint module
