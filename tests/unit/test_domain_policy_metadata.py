"""METADATA judging: good blocks, and every way a block (as OPA's parser reads it) is refused."""

from __future__ import annotations

from typing import Any

import pytest

from controller.domain.policy_metadata import (
    ModuleSummary,
    PolicyMetadataError,
    policies_of_modules,
    policy_info,
)

PACKAGE = "golive.ownership.single_owner"
MODULE = "ownership/single_owner/policy.rego"


def good() -> dict[str, Any]:
    return {
        "scope": "package",
        "title": "Owner is one named person",
        "description": "An agent needs one accountable human.\n",
        "custom": {
            "enforcement": "deny",
            "severity": "high",
            "checklist": "owner",
        },
    }


def test_the_id_is_the_package_and_a_repeated_custom_id_is_accepted() -> None:
    document = good()
    document["custom"]["id"] = PACKAGE
    assert policy_info(MODULE, PACKAGE, document).id == PACKAGE


def test_good_block() -> None:
    info = policy_info(MODULE, PACKAGE, good())
    assert info.id == PACKAGE
    assert info.title == "Owner is one named person"
    assert info.description == "An agent needs one accountable human."
    assert (info.enforcement, info.severity, info.checklist) == ("deny", "high", "owner")
    assert info.module == MODULE


def _without(document: dict[str, Any], *path: str) -> dict[str, Any]:
    target = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return document


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["custom"].update(enforcement="block"), "custom.enforcement must be one of"),
        (lambda d: _without(d, "custom", "enforcement"), "custom.enforcement"),
        (lambda d: d["custom"].update(severity="critical"), "custom.severity must be one of"),
        (lambda d: d["custom"].update(id="golive.other"), "differs from the package"),
        (lambda d: _without(d, "title"), "METADATA title must be a non-empty"),
        (lambda d: d.update(title="  "), "METADATA title must be a non-empty"),
        (lambda d: _without(d, "custom"), "no `custom:` mapping"),
    ],
)
def test_invalid_blocks_name_the_module(change: Any, problem: str) -> None:
    document = good()
    change(document)
    with pytest.raises(PolicyMetadataError) as caught:
        policy_info(MODULE, PACKAGE, document)
    assert str(caught.value).startswith(f"{MODULE}: ")
    assert problem in str(caught.value)


def test_deny_without_metadata_is_refused() -> None:
    with pytest.raises(PolicyMetadataError, match="no module of it has a METADATA block") as caught:
        policies_of_modules({MODULE: ModuleSummary(PACKAGE, True, None)})
    assert caught.value.module == MODULE


def test_package_split_over_modules_needs_metadata_once() -> None:
    infos = policies_of_modules(
        {
            "a/policy.rego": ModuleSummary(PACKAGE, True, good()),
            "a/more.rego": ModuleSummary(PACKAGE, True, None),
        }
    )
    assert list(infos) == [PACKAGE]
    with pytest.raises(PolicyMetadataError, match="already given"):
        policies_of_modules(
            {
                "a/policy.rego": ModuleSummary(PACKAGE, True, good()),
                "b/policy.rego": ModuleSummary(PACKAGE, True, good()),
            }
        )


def test_metadata_without_deny_is_refused() -> None:
    with pytest.raises(PolicyMetadataError, match="no `deny` rule"):
        policies_of_modules({"a/policy.rego": ModuleSummary(PACKAGE, False, good())})
