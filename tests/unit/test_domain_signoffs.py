"""Sign-offs (controller/domain/signoffs.py): canonical forms, allowed signers, verification with
keys made by ssh-keygen, and the `signoffs` block of the policy input."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sshsig.sshsig import SshsigSignature

from controller.domain.contract import resolve_contract
from controller.domain.exceptions import applicable_exceptions
from controller.domain.model import parse_agent_exception, read_agent
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.domain.signoffs import (
    AllowedSigners,
    SignersError,
    approval_payload,
    canonical,
    check_approvals,
    check_exception,
    check_review,
    exception_payload,
    load_allowed_signers,
    merge_allowed_signers,
    parse_allowed_signers,
    review_payload,
)
from tests.sshkeys import Key, make_key, signer_entry

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Key]]:
    folder = tmp_path_factory.mktemp("keys")
    yield {
        "lee": make_key(folder, "lee"),
        "dana": make_key(folder, "dana"),  # the owner of invoice-triage
        "sam": make_key(folder, "sam", "rsa"),
        "mallory": make_key(folder, "mallory"),  # in no allowed-signers list
        "ecdsa": make_key(folder, "ecdsa", "ecdsa"),
    }


@pytest.fixture(scope="module")
def signers(keys: dict[str, Key]) -> AllowedSigners:
    return parse_allowed_signers(
        {
            "signers": [
                signer_entry(keys["lee"], "Lee Park", "lee.park@example.com",
                             ["approve", "review"], ["finance"]),
                signer_entry(keys["dana"], "Dana Ruiz", "dana.ruiz@example.com",
                             ["approve", "except", "review"], ["*"]),
                signer_entry(keys["sam"], "Sam Ortiz", "sam.ortiz@example.com", ["except"]),
            ]
        },
        "allowed-signers.yaml",
    )  # fmt: skip


def invoice_triage() -> dict[str, Any]:
    docs = yaml.safe_load_all((ROOT / "examples" / "invoice-triage.yaml").read_text())
    return next(d for d in docs if d and d["kind"] == "AgentDeployment")


def approved_by(key: Key, agent: dict[str, Any] | None = None) -> dict[str, Any]:
    agent = agent or invoice_triage()
    approval = agent["spec"]["governance"]["approvals"][0]
    approval["signature"] = key.sign(approval_payload(agent, approval))
    return agent


def only(agent: dict[str, Any], signers: AllowedSigners | None) -> tuple[bool, str]:
    [check] = check_approvals(agent, signers)
    return check.verified, check.reason


# --- what is signed ----------------------------------------------------------------------------


def test_canonical_form_is_rfc_8785() -> None:
    assert canonical({"b": 1, "a": [True, None, "é"], "c": {"y": 0.5, "x": 1e21}}) == (
        b'{"a":[true,null,"\xc3\xa9"],"b":1,"c":{"x":1e+21,"y":0.5}}'
    )


def test_a_yaml_date_signs_as_the_quoted_date() -> None:
    agent = invoice_triage()
    approval = agent["spec"]["governance"]["approvals"][0]
    quoted = approval_payload(agent, approval)
    approval["at"] = datetime(2026, 11, 20).date()
    assert approval_payload(agent, approval) == quoted


def test_approval_payload_covers_what_an_approval_vouches_for() -> None:
    agent = invoice_triage()
    approval = agent["spec"]["governance"]["approvals"][0]
    signed = approval_payload(agent, approval)
    material = [
        ("metadata", "name"), ("metadata", "namespace"), ("spec", "owner"), ("spec", "scope"),
        ("spec", "budget"), ("spec", "fallback"), ("spec", "contractRef"), ("spec", "models"),
        ("spec", "monitoring"),
    ]  # fmt: skip
    for section, key in material:
        changed = copy.deepcopy(agent)
        changed[section][key] = "changed"
        assert approval_payload(changed, approval) != signed, key
    changed = copy.deepcopy(agent)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] += "1"
    assert approval_payload(changed, approval) != signed
    changed = copy.deepcopy(agent)
    changed["spec"]["governance"]["domain"] = "claims"
    assert approval_payload(changed, approval) != signed
    assert approval_payload(agent, {**approval, "role": "legal"}) != signed
    # Left out: how many replicas run, resources, labels, the review record, other approvals.
    changed = copy.deepcopy(agent)
    changed["spec"]["replicas"] = 7
    changed["spec"]["template"]["spec"]["containers"][0]["resources"] = {}
    changed["spec"]["template"]["metadata"]["labels"]["x"] = "y"
    changed["spec"]["governance"]["reviewCadence"] = "monthly"
    changed["spec"]["governance"]["approvals"].append({"name": "Other Person"})
    assert approval_payload(changed, approval) == signed
    assert approval_payload(agent, {**approval, "signature": "anything"}) == signed


def test_exception_and_review_payloads() -> None:
    exception = yaml.safe_load(EXCEPTION)
    signed = exception_payload(exception)
    changes = [
        ("targets", ["x"]), ("policies", ["p"]), ("reason", "r"), ("ticket", "T-1"),
        ("expiresAt", "2027-01-02T00:00:00Z"), ("approver", {"name": "A B"}),
    ]  # fmt: skip
    for key, value in changes:
        changed = copy.deepcopy(exception)
        changed["spec"][key] = value
        assert exception_payload(changed) != signed, key
    moved = copy.deepcopy(exception)
    moved["metadata"]["namespace"] = "other"
    assert exception_payload(moved) != signed
    agent = invoice_triage()
    record = {"at": "2026-11-30", "by": {"name": "Lee Park", "email": "lee.park@example.com"}}
    assert review_payload(agent, record) != review_payload(agent, {**record, "at": "2026-12-01"})
    assert review_payload(agent, {**record, "signature": "x"}) == review_payload(agent, record)


# --- verifying approvals -----------------------------------------------------------------------


def test_an_approval_signed_by_an_allowed_signer_verifies(
    keys: dict[str, Key], signers: AllowedSigners
) -> None:
    agent = approved_by(keys["lee"])
    [check] = check_approvals(agent, signers)
    assert (check.signed, check.verified, check.reason) == (True, True, "")
    assert check.to_input()["signer"] == {
        "name": "Lee Park",
        "email": "lee.park@example.com",
        "fingerprint": keys["lee"].public and check.signer.fingerprint,  # type: ignore[union-attr]
    }
    assert check.to_input()["signer"]["fingerprint"].startswith("SHA256:")


def test_unsigned_approval_says_so(signers: AllowedSigners) -> None:
    verified, reason = only(invoice_triage(), signers)
    assert not verified
    assert reason.startswith("approval by Lee Park is not signed")


def test_one_byte_of_the_image_changed_after_signing(
    keys: dict[str, Key], signers: AllowedSigners
) -> None:
    agent = approved_by(keys["lee"])
    container = agent["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"][:-1] + "1"  # one byte: 3.2.0 -> 3.2.1
    assert container["image"].endswith(":3.2.1")
    verified, reason = only(agent, signers)
    assert not verified
    assert "does not match what it signs now" in reason and "Lee Park" in reason


def test_a_replica_change_keeps_the_approval(keys: dict[str, Key], signers: AllowedSigners) -> None:
    agent = approved_by(keys["lee"])
    agent["spec"]["replicas"] = 5
    assert only(agent, signers) == (True, "")


def test_signed_for_another_namespace(keys: dict[str, Key], signers: AllowedSigners) -> None:
    agent = approved_by(keys["lee"])
    agent["metadata"]["namespace"] = "other-team"
    verified, reason = only(agent, signers)
    assert not verified and "another agent or namespace" in reason


def test_signed_by_an_unknown_key(keys: dict[str, Key], signers: AllowedSigners) -> None:
    verified, reason = only(approved_by(keys["mallory"]), signers)
    assert not verified
    assert "not an allowed signer (SHA256:" in reason and "allowed-signers.yaml" in reason


def test_signed_by_the_owner(keys: dict[str, Key], signers: AllowedSigners) -> None:
    agent = invoice_triage()
    agent["spec"]["governance"]["approvals"][0].update(
        name="Dana Ruiz", email="dana.ruiz@example.com"
    )
    verified, reason = only(approved_by(keys["dana"], agent), signers)
    assert not verified and "the agent's owner" in reason and "four eyes" in reason


def test_signed_by_someone_other_than_the_person_named(
    keys: dict[str, Key], signers: AllowedSigners
) -> None:
    verified, reason = only(approved_by(keys["sam"]), signers)  # names Lee Park
    assert not verified
    assert "names lee.park@example.com but is signed by Sam Ortiz" in reason


def test_signer_without_the_right_or_the_domain(
    keys: dict[str, Key], signers: AllowedSigners
) -> None:
    agent = invoice_triage()
    agent["spec"]["governance"]["approvals"][0].update(
        name="Sam Ortiz", email="sam.ortiz@example.com"
    )
    verified, reason = only(approved_by(keys["sam"], agent), signers)
    assert not verified and "may not approve regulated agents" in reason
    agent = invoice_triage()
    agent["spec"]["governance"]["domain"] = "claims"
    verified, reason = only(approved_by(keys["lee"], agent), signers)
    assert not verified and "domains finance, not 'claims'" in reason


def test_any_domain(keys: dict[str, Key], signers: AllowedSigners) -> None:
    agent = invoice_triage()
    agent["spec"]["owner"]["email"] = "someone.else@example.com"
    agent["spec"]["governance"]["domain"] = "claims"
    agent["spec"]["governance"]["approvals"][0].update(
        name="Dana Ruiz", email="dana.ruiz@example.com"
    )
    assert only(approved_by(keys["dana"], agent), signers) == (True, "")


def test_an_rsa_key_verifies(keys: dict[str, Key]) -> None:
    entry = signer_entry(keys["sam"], "Lee Park", "lee.park@example.com", ["approve"], ["*"])
    signers = parse_allowed_signers({"signers": [entry]}, "s")
    assert only(approved_by(keys["sam"]), signers) == (True, "")


def test_no_or_unreadable_signers_verify_nothing(keys: dict[str, Key]) -> None:
    agent = approved_by(keys["lee"])
    verified, reason = only(agent, None)
    assert not verified and "no allowed signers are configured" in reason
    verified, reason = only(agent, AllowedSigners.unreadable("cm", "cm: signers[0].key: bad"))
    assert not verified and "cannot be read: cm: signers[0].key: bad" in reason


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        (42, "spec.governance.approvals[0].signature: expected an armored SSH signature"),
        ("not a signature", "the armor lines are missing or wrong"),
        ("-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----", "armor lines"),
        ("-----BEGIN SSH SIGNATURE-----\n%%%%\n-----END SSH SIGNATURE-----", "not base64"),
        ("-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----", "not an SSHSIG"),
    ],
)
def test_malformed_signatures_name_the_field(
    signers: AllowedSigners, signature: object, expected: str
) -> None:
    agent = invoice_triage()
    agent["spec"]["governance"]["approvals"][0]["signature"] = signature
    verified, reason = only(agent, signers)
    assert not verified and expected in reason


def test_a_malformed_inner_signature_verifies_nothing_and_raises_nothing(
    keys: dict[str, Key], signers: AllowedSigners
) -> None:
    agent = approved_by(keys["lee"])
    approval = agent["spec"]["governance"]["approvals"][0]
    outer = SshsigSignature.from_armored(approval["signature"])

    def pair(first: bytes, second: bytes) -> bytes:
        return b"".join(len(p).to_bytes(4, "big") + p for p in (first, second))

    for inner in (pair(b"rsa-sha2-512", b"x" * 64), pair(b"ssh-ed25519", b"short"), b"\x00"):
        outer.signature = inner
        approval["signature"] = outer.to_armored()
        verified, reason = only(agent, signers)
        assert not verified and "Lee Park" in reason, reason


def test_a_signature_for_another_purpose(keys: dict[str, Key], signers: AllowedSigners) -> None:
    agent = invoice_triage()
    approval = agent["spec"]["governance"]["approvals"][0]
    approval["signature"] = keys["lee"].sign(approval_payload(agent, approval), namespace="git")
    verified, reason = only(agent, signers)
    assert not verified and "signature namespace 'git', not 'golive.dev'" in reason


def test_an_unsupported_key_type(keys: dict[str, Key], signers: AllowedSigners) -> None:
    verified, reason = only(approved_by(keys["ecdsa"]), signers)
    assert not verified and "key of type 'ecdsa-sha2-nistp256'" in reason


def test_a_number_without_canonical_form_verifies_nothing(
    keys: dict[str, Key], signers: AllowedSigners
) -> None:
    agent = approved_by(keys["lee"])
    agent["spec"]["fallback"]["timeoutSeconds"] = 2**60
    verified, reason = only(agent, signers)
    assert not verified and "no canonical form" in reason


# --- reviews and exceptions ----------------------------------------------------------------


EXCEPTION = """
apiVersion: golive.dev/v1alpha1
kind: AgentException
metadata: {name: load-test, namespace: agents}
spec:
  targets: [invoice-triage]
  policies: [golive.economics.budget_at_scale]
  reason: Year-end load test.
  approver: {name: Sam Ortiz, email: sam.ortiz@example.com}
  ticket: FIN-1234
  expiresAt: "2027-01-31T00:00:00Z"
"""


def test_review_signed_by_the_reviewer(keys: dict[str, Key], signers: AllowedSigners) -> None:
    agent = invoice_triage()
    record = {"at": "2026-11-30", "by": {"name": "Lee Park", "email": "lee.park@example.com"}}
    agent["spec"]["governance"]["lastReview"] = record
    assert check_review(agent, signers).verified is False  # type: ignore[union-attr]
    record["signature"] = keys["lee"].sign(review_payload(agent, record))
    assert check_review(agent, signers).verified is True  # type: ignore[union-attr]
    record["at"] = "2026-12-06"
    assert check_review(agent, signers).verified is False  # type: ignore[union-attr]
    record["signature"] = keys["sam"].sign(review_payload(agent, record))
    check = check_review(agent, signers)
    assert check is not None and not check.verified and "signed by Sam Ortiz" in check.reason
    del agent["spec"]["governance"]["lastReview"]
    assert check_review(agent, signers) is None


def test_exception_signatures(keys: dict[str, Key], signers: AllowedSigners) -> None:
    exception = yaml.safe_load(EXCEPTION)
    exception["spec"]["signature"] = keys["sam"].sign(exception_payload(exception))
    assert check_exception(exception, "dana.ruiz@example.com", signers).verified
    exception["spec"]["expiresAt"] = "2028-01-31T00:00:00Z"
    check = check_exception(exception, "dana.ruiz@example.com", signers)
    assert not check.verified and "does not match" in check.reason
    # Lee may approve and review, not grant exceptions.
    exception["spec"]["approver"] = {"name": "Lee Park", "email": "lee.park@example.com"}
    exception["spec"]["signature"] = keys["lee"].sign(exception_payload(exception))
    check = check_exception(exception, "dana.ruiz@example.com", signers)
    assert not check.verified and "may not grant exceptions" in check.reason
    # The owner signs no waiver for their own agent, though Dana may grant exceptions.
    exception["spec"]["approver"] = {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"}
    exception["spec"]["signature"] = keys["dana"].sign(exception_payload(exception))
    check = check_exception(exception, "dana.ruiz@example.com", signers)
    assert not check.verified and "owner" in check.reason


# --- the policy input --------------------------------------------------------------------------


def policy_input(
    agent: dict[str, Any], exceptions: list[dict[str, Any]], signers: AllowedSigners | None
) -> dict[str, Any]:
    parsed = [parse_agent_exception(e) for e in exceptions]
    context = PolicyContext(Operation.CHECK, NOW)
    return build_policy_input(
        read_agent(agent), resolve_contract(None, None), parsed, context, signers=signers
    )


def test_the_signoffs_block(keys: dict[str, Key], signers: AllowedSigners) -> None:
    exception = yaml.safe_load(EXCEPTION)
    exception["metadata"]["creationTimestamp"] = "2026-12-01T10:00:00Z"
    block = policy_input(approved_by(keys["lee"]), [exception], signers)["signoffs"]
    assert block["namespace"] == "golive.dev" and block["signers"] == "configured"
    assert [a["verified"] for a in block["approvals"]] == [True]
    assert block["lastReview"] is None
    assert block["exceptions"]["load-test"]["verified"] is False
    assert block["exceptions"]["load-test"]["grantedAt"] == "2026-12-01T10:00:00Z"
    assert block["refusedExceptions"] == []
    del exception["metadata"]["creationTimestamp"]  # a file: granted when decided
    block = policy_input(invoice_triage(), [exception], None)["signoffs"]
    assert block["exceptions"]["load-test"]["grantedAt"] == "2026-12-07T12:00:00Z"
    assert block["signers"] == "none"
    unreadable = AllowedSigners.unreadable("cm", "broken")
    assert policy_input(invoice_triage(), [], unreadable)["signoffs"]["signers"] == "unreadable"


def test_an_exception_approved_by_the_owner_waives_nothing_signed_or_not(
    keys: dict[str, Key], signers: AllowedSigners
) -> None:
    exception = yaml.safe_load(EXCEPTION)
    exception["spec"]["approver"] = {"name": "Dana Ruiz", "email": " Dana.Ruiz@example.com "}
    exception["spec"]["signature"] = keys["dana"].sign(exception_payload(exception))
    for given in (signers, None):
        built = policy_input(invoice_triage(), [exception], given)
        assert built["exceptions"] == []
        [refused] = built["signoffs"]["refusedExceptions"]
        assert refused["name"] == "load-test"
        assert "is the agent's owner" in refused["reason"]


def test_an_exception_approved_by_the_owner_of_another_target_waives_nothing_for_any() -> None:
    """The issue's words: an exception whose approver owns a target agent never waives
    anything, also for the targets the approver does not own."""
    exception = yaml.safe_load(EXCEPTION)
    exception["spec"]["targets"] = ["invoice-triage", "claims-summarizer"]
    exception["spec"]["approver"] = {"name": "Omar Haddad", "email": "omar.haddad@example.com"}
    owners = {("agents", "claims-summarizer"): "Omar.Haddad@example.com"}
    parsed = [parse_agent_exception(exception)]
    context = PolicyContext(Operation.CHECK, NOW)
    for lookup, waived in ((None, True), (lambda ns, name: owners.get((ns, name)), False)):
        applicable = applicable_exceptions(
            parsed, "invoice-triage", "agents", "dana.ruiz@example.com", NOW, lookup
        )
        built = build_policy_input(
            read_agent(invoice_triage()), resolve_contract(None, None), applicable, context
        )
        assert (built["exceptions"] != []) is waived
        if not waived:
            [refused] = built["signoffs"]["refusedExceptions"]
            assert refused["reason"] == (
                "AgentException 'load-test' waives nothing for invoice-triage: its approver "
                "Omar Haddad <omar.haddad@example.com> owns claims-summarizer, another of its "
                "targets; an exception is approved by a person who owns none of the agents it "
                "waives for"
            )


# --- allowed signers -------------------------------------------------------------------------


def test_allowed_signers_from_yaml(keys: dict[str, Key]) -> None:
    entry = signer_entry(keys["lee"], "Lee Park", "lee.park@example.com", ["approve"], ["finance"])
    text = yaml.safe_dump({"signers": [entry]})
    parsed = load_allowed_signers(text, "f.yaml")
    assert [s.email for s in parsed.signers] == ["lee.park@example.com"]
    assert load_allowed_signers("signers: []\n", "f").signers == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda e: e.update(key="ssh-ed25519 AAAAnot-a-key"), "f: signers[0].key: not a valid"),
        (lambda e: e.update(key="ecdsa-sha2-nistp256 AAAA"),
         "signers[0].key: key type 'ecdsa-sha2-nistp256' is not supported"),
        (lambda e: e.update(key="AAAAC3Nz"), "signers[0].key: expected '<key type> <base64 key>"),
        (lambda e: e.update(key=None), "signers[0].key: expected a public key line"),
        (lambda e: e.update(email="lee"), "signers[0].email: expected an email address"),
        (lambda e: e.update(name="Lee"), "signers[0].name: expected a person's first and last"),
        (lambda e: e.update(rights=["approve", "deploy"]),
         "signers[0].rights[1]: expected one of approve, except, review"),
        (lambda e: e.update(rights=[]), "signers[0].rights: expected at least one"),
        (lambda e: e.update(rights="approve"), "signers[0].rights: expected a list of strings"),
        (lambda e: e.pop("domains"), "signers[0].domains: expected a list of strings"),
        (lambda e: e.update(domains=[]), "signers[0].domains: expected the domains"),
        (lambda e: e.update(role="x"), "signers[0].role: unknown field"),
        (lambda e: e.update(rights=["review"]),
         "signers[0].domains: only for a signer with the right approve"),
    ],
)  # fmt: skip
def test_bad_signer_entries_name_the_field(
    keys: dict[str, Key], change: Any, expected: str
) -> None:
    entry = signer_entry(keys["lee"], "Lee Park", "lee.park@example.com", ["approve"], ["finance"])
    change(entry)
    with pytest.raises(SignersError) as raised:
        parse_allowed_signers({"signers": [entry]}, "f")
    assert expected in str(raised.value)


def test_duplicates_are_refused(keys: dict[str, Key]) -> None:
    lee = signer_entry(keys["lee"], "Lee Park", "lee.park@example.com", ["review"])
    again = signer_entry(keys["dana"], "Lee Park", "LEE.PARK@example.com", ["review"])
    with pytest.raises(
        SignersError, match=r"signers\[1\].email: LEE.PARK@example.com is already signers\[0\]"
    ):
        parse_allowed_signers({"signers": [lee, again]}, "f")
    same_key = signer_entry(keys["lee"], "Dana Ruiz", "dana.ruiz@example.com", ["review"])
    with pytest.raises(
        SignersError, match=r"signers\[1\].key: the key SHA256:\S+ is already signers\[0\]"
    ):
        parse_allowed_signers({"signers": [lee, same_key]}, "f")


@pytest.mark.parametrize("text", ["- a\n- b\n", "signers: {}\n", "signers: []\nextra: 1\n", "{{"])
def test_a_list_that_is_not_one(text: str) -> None:
    with pytest.raises(SignersError, match=r"^f: "):
        load_allowed_signers(text, "f")


def test_merging_configmaps(keys: dict[str, Key]) -> None:
    lee = yaml.safe_dump(
        {"signers": [signer_entry(keys["lee"], "Lee Park", "lee.park@example.com", ["review"])]}
    )
    sam = yaml.safe_dump(
        {"signers": [signer_entry(keys["sam"], "Sam Ortiz", "sam.ortiz@example.com", ["except"])]}
    )
    assert merge_allowed_signers([]) is None
    merged = merge_allowed_signers([("b", sam), ("a", lee)])
    assert merged is not None and merged.error is None
    assert [s.name for s in merged.signers] == ["Lee Park", "Sam Ortiz"]
    broken = merge_allowed_signers([("a", lee), ("b", "signers: [{name: x}]")])
    assert broken is not None and broken.signers == ()
    assert (broken.error or "").startswith("b: signers[0].name: expected a person's first and")
    twice = merge_allowed_signers([("a", lee), ("b", lee)])
    assert twice is not None and twice.signers == ()
    assert (twice.error or "").startswith(
        "b: signers[0].email: lee.park@example.com is already in a"
    )


# --- the maximum lifetime of an exception: a METADATA day parameter ------------------------------


@pytest.mark.parametrize("value", [-1, 1.5, "90", True, 367])
def test_a_bad_max_lifetime_is_refused_when_the_policy_loads(value: Any) -> None:
    from controller.domain.policy_metadata import PolicyMetadataError, policy_info

    custom = {"enforcement": "warn", "severity": "medium", "checklist": "signoff"}
    document = {"scope": "package", "title": "t", "custom": {**custom, "maxLifetimeDays": value}}
    with pytest.raises(PolicyMetadataError, match=r"custom.maxLifetimeDays must be a whole number"):
        policy_info("lifetime.rego", "golive.governance.exception_lifetime", document)


def test_the_shipped_lifetime_is_90_days() -> None:
    rule = ROOT / "policies" / "governance" / "exception_lifetime" / "policy.rego"
    assert "#   maxLifetimeDays: 90\n" in rule.read_text()


# --- golive sign: what it writes into a manifest --------------------------------------------------


def test_sign_manifest_keeps_the_other_documents_as_written(keys: dict[str, Key]) -> None:
    from controller.check.sign import Person, SignError, sign_manifest

    text = (ROOT / "examples" / "invoice-triage.yaml").read_text()
    lee = Person("Lee Park", "lee.park@example.com")
    signed = sign_manifest(
        text, "f.yaml", "approval", name=None, signer=lee, role="compliance",
        at="2026-11-20", sign=lambda payload: keys["lee"].sign(payload),
    )  # fmt: skip
    before, after = text.split("\n---\n"), signed.split("\n---\n")
    assert after[0] == before[0]  # the AgentContract, comments and all
    # Only the signature is new: written in place, the agent's comments and layout kept.
    added = [line for line in signed.splitlines() if line not in text.splitlines()]
    assert added[0] == "      signature: |" and added[1] == "        -----BEGIN SSH SIGNATURE-----"
    assert len(signed.splitlines()) == len(text.splitlines()) + len(added)
    assert "# what a request costs besides the models below" in after[1]
    # Signing again replaces the signature in place; another date rewrites the document.
    again = sign_manifest(
        signed, "f.yaml", "approval", name=None, signer=lee, role="compliance",
        at="2026-11-20", sign=lambda payload: keys["lee"].sign(payload),
    )  # fmt: skip
    assert again.count("BEGIN SSH SIGNATURE") == 1 and len(again.splitlines()) == len(
        signed.splitlines()
    )
    redated = sign_manifest(
        signed, "f.yaml", "approval", name=None, signer=lee, role="compliance",
        at="2026-11-25", sign=lambda payload: keys["lee"].sign(payload),
    )  # fmt: skip
    agent = yaml.safe_load(redated.split("\n---\n")[1])
    assert agent["spec"]["governance"]["approvals"][0]["at"] == "2026-11-25"
    assert only(agent, None)[1].endswith("golive check --allowed-signers FILE)")  # signed, read
    assert after[1].startswith("# ") or after[1].startswith("apiVersion")
    agent = yaml.safe_load(after[1])
    [approval] = agent["spec"]["governance"]["approvals"]
    assert approval["signature"].startswith("-----BEGIN SSH SIGNATURE-----\n")
    assert only(agent, None)[1].endswith(
        "cannot be verified: no allowed signers are configured (a ConfigMap labelled "
        "golive.dev/allowed-signers in golive's namespace; golive check --allowed-signers FILE)"
    )
    # A second signer is added, the first keeps hers.
    sam = Person("Sam Ortiz", "sam.ortiz@example.com")
    twice = sign_manifest(
        signed, "f.yaml", "approval", name="invoice-triage", signer=sam, role=None,
        at="2026-11-21", sign=lambda payload: keys["sam"].sign(payload),
    )  # fmt: skip
    agent = yaml.safe_load(twice.split("\n---\n")[1])
    assert [a["email"] for a in agent["spec"]["governance"]["approvals"]] == [
        "lee.park@example.com", "sam.ortiz@example.com",
    ]  # fmt: skip
    with pytest.raises(SignError, match=r"f\.yaml: no AgentDeployment named .other."):
        sign_manifest(text, "f.yaml", "approval", name="other", signer=lee, role=None,
                      at="2026-11-20", sign=lambda payload: "")  # fmt: skip
    nameless = text.replace("  namespace: agents\n", "")
    with pytest.raises(SignError, match=r"metadata\.namespace: expected the namespace"):
        sign_manifest(nameless, "f.yaml", "approval", name=None, signer=lee, role=None,
                      at="2026-11-20", sign=lambda payload: "")  # fmt: skip
