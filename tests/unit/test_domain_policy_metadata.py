"""METADATA parsing: good blocks, and every way a block can be refused."""

from __future__ import annotations

import pytest

from controller.domain.policy_metadata import (
    PolicyMetadataError,
    parse_policy_metadata,
    policies_of_modules,
)

GOOD = """# Copyright header, not metadata
# METADATA
# title: Owner is one named person
# description: >-
#   An agent needs one accountable human.
# custom:
#   id: golive.ownership.single_owner
#   enforcement: deny        # deny | warn | dryrun
#   severity: high           # high | medium | low
#   checklist: owner
package golive.ownership.single_owner

import rego.v1

deny contains {"field": "spec.owner.email", "msg": "x"} if not input.agent.spec.owner
"""


def test_good_block() -> None:
    info = parse_policy_metadata("ownership/single_owner/policy.rego", GOOD)
    assert info is not None
    assert info.id == "golive.ownership.single_owner"
    assert info.title == "Owner is one named person"
    assert info.description == "An agent needs one accountable human."
    assert (info.enforcement, info.severity, info.checklist) == ("deny", "high", "owner")
    assert info.module == "ownership/single_owner/policy.rego"


def test_no_block_is_none() -> None:
    assert parse_policy_metadata("lib.rego", "package golive.lib.x\n\nf(x) := x\n") is None


def test_block_after_package_is_not_the_package_block() -> None:
    text = "package golive.a.b\n\n# METADATA\n# title: rule\ndeny contains 1 if false\n"
    assert parse_policy_metadata("m.rego", text) is None


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("enforcement: deny", "enforcement: block", "custom.enforcement must be one of deny, warn"),
        ("#   enforcement: deny        # deny | warn | dryrun\n", "", "custom.enforcement"),
        ("severity: high", "severity: critical", "custom.severity must be one of"),
        ("id: golive.ownership.single_owner", "id: golive.other", "differs from the package"),
        ("# title: Owner is one named person\n", "", "METADATA title must be a non-empty"),
        ("# custom:", "# custom: [", "not valid YAML"),
        ("# custom:\n", "# kustom:\n", "no `custom:` mapping"),
    ],
)
def test_invalid_blocks_name_the_module(old: str, new: str, problem: str) -> None:
    text = GOOD.replace(old, new)
    assert text != GOOD
    with pytest.raises(PolicyMetadataError) as caught:
        parse_policy_metadata("ownership/single_owner/policy.rego", text)
    assert str(caught.value).startswith("ownership/single_owner/policy.rego: ")
    assert problem in str(caught.value)


def test_deny_without_metadata_is_refused() -> None:
    text = GOOD.split("package", 1)[1]
    with pytest.raises(PolicyMetadataError, match="no module of it has a METADATA block") as caught:
        policies_of_modules({"ownership/single_owner/policy.rego": "package" + text})
    assert caught.value.module == "ownership/single_owner/policy.rego"


def test_package_split_over_modules_needs_metadata_once() -> None:
    helper = "package golive.ownership.single_owner\n\nimport rego.v1\n\ndeny contains 1 if false\n"
    infos = policies_of_modules({"a/policy.rego": GOOD, "a/more.rego": helper})
    assert list(infos) == ["golive.ownership.single_owner"]
    with pytest.raises(PolicyMetadataError, match="already given"):
        policies_of_modules({"a/policy.rego": GOOD, "b/policy.rego": GOOD})


def test_metadata_without_deny_is_refused() -> None:
    text = GOOD.replace("deny contains", "violation contains")
    with pytest.raises(PolicyMetadataError, match="no `deny` rule"):
        policies_of_modules({"a/policy.rego": text})
