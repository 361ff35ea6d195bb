"""Sign-offs that cannot be forged: approvals, reviews and exceptions signed by the people they
name (docs/signoffs.md).

Pure: what is signed (a canonical form, RFC 8785 JSON, of the facts a sign-off vouches for),
who may sign (the allowed signers, parsed and checked), and whether a record's SSH signature
(SSHSIG, the armored format of `ssh-keygen -Y sign`) verifies. `sshsig` does the cryptography.
The verdicts are handed to Rego in the `signoffs` block of the policy input; the policies
`golive.governance.signed_*` and `golive.governance.exception_lifetime` judge them.
"""

from __future__ import annotations

import binascii
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import rfc8785
import yaml
from sshsig import PublicKey
from sshsig.sshsig import SshsigSignature, do_sshsig_verify

# The SSHSIG namespace of every golive sign-off (`ssh-keygen -Y sign -n golive.dev`): a
# signature made for git commits or files cannot be replayed as a sign-off, nor the reverse.
SIGNATURE_NAMESPACE = "golive.dev"

# The rights an allowed signer may hold.
APPROVE, EXCEPT, REVIEW = "approve", "except", "review"
RIGHTS = (APPROVE, EXCEPT, REVIEW)
ANY_DOMAIN = "*"

# The ConfigMaps (in golive's own namespace) that hold the allowed signers carry this label; the
# list is under this key of their data.
SIGNERS_LABEL = "golive.dev/allowed-signers"
SIGNERS_KEY = "allowed-signers.yaml"

# The policies that judge sign-offs: an AgentException cannot waive them (a waiver of the rule
# that checks waivers would make every forged waiver good).
SIGNED_APPROVALS = "golive.governance.signed_approvals"
SIGNED_REVIEW = "golive.governance.signed_review"
SIGNED_EXCEPTIONS = "golive.governance.signed_exceptions"
EXCEPTION_LIFETIME = "golive.governance.exception_lifetime"
UNWAIVABLE = frozenset({SIGNED_APPROVALS, SIGNED_REVIEW, SIGNED_EXCEPTIONS, EXCEPTION_LIFETIME})

SUPPORTED_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
ARMOR_END = "-----END SSH SIGNATURE-----"
_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SIGNER_FIELDS = frozenset({"name", "email", "key", "rights", "domains"})


class SignersError(ValueError):
    """An allowed-signers list golive cannot use; the message names the source and the field."""


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    key: PublicKey
    fingerprint: str  # as `ssh-keygen -lf` prints it: SHA256:...
    rights: frozenset[str]
    domains: frozenset[str]  # for `approve`: the domains of regulated agents; "*" any

    def describe(self) -> str:
        return f"{self.name} <{self.email}>"

    def to_input(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class AllowedSigners:
    """Who may sign, from where (a file, a ConfigMap); `error`: the list exists but cannot be
    read, so nothing verifies (never an admit by accident)."""

    signers: tuple[Signer, ...]
    source: str
    error: str | None = None

    @staticmethod
    def unreadable(source: str, error: str) -> AllowedSigners:
        return AllowedSigners((), source, error)

    def by_key(self, key: PublicKey) -> Signer | None:
        return next((s for s in self.signers if s.key == key), None)


def _email_key(email: str) -> str:
    return email.strip().lower()


def _parse_key(value: object, field: str) -> PublicKey:
    if not isinstance(value, str) or not value.strip():
        raise SignersError(
            f"{field}: expected a public key line as in id_ed25519.pub or git's "
            f"allowed_signers (ssh-ed25519 AAAA...), found {_describe(value)}"
        )
    parts = value.split()
    if len(parts) < 2:
        raise SignersError(
            f"{field}: expected '<key type> <base64 key> [comment]', found {value!r}"
        )
    if parts[0] not in SUPPORTED_KEY_TYPES:
        raise SignersError(
            f"{field}: key type {parts[0]!r} is not supported; golive verifies "
            f"{' and '.join(SUPPORTED_KEY_TYPES)} keys"
        )
    try:
        return PublicKey.from_openssh_str(" ".join(parts[:2]))
    except (ValueError, NotImplementedError, binascii.Error) as error:
        raise SignersError(f"{field}: not a valid {parts[0]} public key ({error})") from None


def _describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return type(value).__name__


def _string_list(value: object, field: str, allowed: Iterable[str] | None = None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SignersError(f"{field}: expected a list of strings, found {_describe(value)}")
    if allowed is not None:
        allowed = tuple(allowed)
        for i, item in enumerate(value):
            if item not in allowed:
                raise SignersError(
                    f"{field}[{i}]: expected one of {', '.join(allowed)}, found {item!r}"
                )
    if len(set(value)) != len(value):
        raise SignersError(f"{field}: lists an entry twice")
    return [str(v) for v in value]


def parse_allowed_signers(data: object, source: str) -> AllowedSigners:
    """The parsed YAML document of an allowed-signers list; raises SignersError naming the field.

    ```yaml
    signers:
    - name: Lee Park
      email: lee.park@example.com
      key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... lee@laptop
      rights: [approve, except, review]
      domains: [finance]        # approve: regulated agents of these domains ("*": any)
    ```
    """
    prefix = f"{source}: "
    if not isinstance(data, Mapping) or set(data) != {"signers"}:
        raise SignersError(f"{prefix}expected a mapping with one key, signers (a list)")
    entries = data["signers"]
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise SignersError(f"{prefix}signers: expected a list, found {_describe(entries)}")
    signers: list[Signer] = []
    emails: dict[str, int] = {}
    keys: dict[str, int] = {}
    for i, entry in enumerate(entries):
        field = f"signers[{i}]"
        try:
            signers.append(_parse_signer(entry, field))
        except SignersError as error:
            raise SignersError(f"{prefix}{error}") from None
        signer = signers[-1]
        email = _email_key(signer.email)
        if email in emails:
            raise SignersError(
                f"{prefix}{field}.email: {signer.email} is already signers[{emails[email]}]; "
                "one entry per person (list several rights in it)"
            )
        if signer.fingerprint in keys:
            raise SignersError(
                f"{prefix}{field}.key: the key {signer.fingerprint} is already "
                f"signers[{keys[signer.fingerprint]}]; a key belongs to one person"
            )
        emails[email], keys[signer.fingerprint] = i, i
    return AllowedSigners(tuple(signers), source)


def _parse_signer(entry: object, field: str) -> Signer:
    if not isinstance(entry, Mapping):
        raise SignersError(f"{field}: expected a mapping (name, email, key, rights, domains)")
    unknown = sorted(str(k) for k in entry if k not in _SIGNER_FIELDS)
    if unknown:
        raise SignersError(
            f"{field}.{unknown[0]}: unknown field; expected {', '.join(sorted(_SIGNER_FIELDS))}"
        )
    name = entry.get("name")
    if not isinstance(name, str) or len(name.split()) < 2:
        raise SignersError(
            f"{field}.name: expected a person's first and last name, found {_describe(name)}"
        )
    email = entry.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email.strip()):
        raise SignersError(f"{field}.email: expected an email address, found {_describe(email)}")
    key = _parse_key(entry.get("key"), f"{field}.key")
    rights = _string_list(entry.get("rights"), f"{field}.rights", RIGHTS)
    if not rights:
        raise SignersError(f"{field}.rights: expected at least one of {', '.join(RIGHTS)}")
    domains: list[str] = []
    if APPROVE in rights:
        domains = _string_list(entry.get("domains"), f"{field}.domains")
        if not domains:
            raise SignersError(
                f'{field}.domains: expected the domains this person approves ("*": any)'
            )
    elif "domains" in entry:
        raise SignersError(f"{field}.domains: only for a signer with the right {APPROVE}")
    return Signer(
        name=name.strip(),
        email=email.strip(),
        key=key,
        fingerprint=key.sha256_str(),
        rights=frozenset(rights),
        domains=frozenset(domains),
    )


def load_allowed_signers(text: str, source: str) -> AllowedSigners:
    """Parse the YAML text of an allowed-signers list (a file, a ConfigMap's data)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SignersError(f"{source}: not YAML: {error}") from None
    return parse_allowed_signers(data, source)


def merge_allowed_signers(parts: Iterable[tuple[str, str]]) -> AllowedSigners | None:
    """Several sources (ConfigMaps by name) into one list; None when there is none. A source
    that cannot be read makes the whole list unreadable, never a shorter list; so does a person
    or a key listed in two sources."""
    parts = sorted(parts)
    if not parts:
        return None
    joined = ", ".join(source for source, _ in parts)
    signers: list[Signer] = []
    seen: dict[str, str] = {}  # email or fingerprint -> the source that lists it
    for source, text in parts:
        try:
            parsed = load_allowed_signers(text, source)
        except SignersError as error:
            return AllowedSigners.unreadable(joined, str(error))
        for i, signer in enumerate(parsed.signers):
            for what, key in (("email", _email_key(signer.email)), ("key", signer.fingerprint)):
                if key in seen:
                    return AllowedSigners.unreadable(
                        joined,
                        f"{source}: signers[{i}].{what}: {key} is already in {seen[key]}; one "
                        "entry per person, a key belongs to one person",
                    )
                seen[key] = source
        signers.extend(parsed.signers)
    return AllowedSigners(tuple(signers), joined)


# --- what is signed --------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON values only: YAML dates become their ISO text, as a quoted date would read."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def canonical(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a document: what is signed."""
    return rfc8785.dumps(_plain(document))


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _containers(template: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    pod = _obj(template.get("spec"))
    items = pod.get(key)
    return [
        {f: _obj(c).get(f) for f in ("name", "image", "command", "args", "env")}
        for c in (items if isinstance(items, list) else [])
    ]


# Spec fields an approval vouches for; everything else in spec (replicas, resources, security
# context, labels, probes, reviewCadence, lastReview, the other approvals) is left out.
APPROVED_FIELDS = ("owner", "scope", "contractRef", "fallback", "budget", "models", "monitoring")


def approval_payload(agent: Mapping[str, Any], approval: Mapping[str, Any]) -> bytes:
    """What an approval's signature covers: the agent's identity, the approved spec fields, the
    containers' images (and commands, args, env) and the approval itself (minus signature)."""
    meta = _obj(agent.get("metadata"))
    spec = _obj(agent.get("spec"))
    governance = _obj(spec.get("governance"))
    template = _obj(spec.get("template"))
    return canonical(
        {
            "golive": "approval/v1",
            "agent": {"namespace": meta.get("namespace"), "name": meta.get("name")},
            "spec": {
                **{f: spec.get(f) for f in APPROVED_FIELDS},
                "governance": {
                    "regulated": governance.get("regulated"),
                    "domain": governance.get("domain"),
                },
                "containers": _containers(template, "containers"),
                "initContainers": _containers(template, "initContainers"),
            },
            "approval": {k: v for k, v in approval.items() if k != "signature"},
        }
    )


def review_payload(agent: Mapping[str, Any], record: Mapping[str, Any]) -> bytes:
    """What a recorded review's signature covers: the agent, the date and the reviewer."""
    meta = _obj(agent.get("metadata"))
    return canonical(
        {
            "golive": "review/v1",
            "agent": {"namespace": meta.get("namespace"), "name": meta.get("name")},
            "review": {k: v for k, v in record.items() if k != "signature"},
        }
    )


EXCEPTION_FIELDS = ("targets", "policies", "reason", "approver", "ticket", "expiresAt")


def exception_payload(exception: Mapping[str, Any]) -> bytes:
    """What an exception's signature covers: its namespace, targets, policies, reason, approver,
    ticket and expiry."""
    meta = _obj(exception.get("metadata"))
    spec = _obj(exception.get("spec"))
    return canonical(
        {
            "golive": "exception/v1",
            "namespace": meta.get("namespace"),
            **{f: spec.get(f) for f in EXCEPTION_FIELDS},
        }
    )


# --- verifying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignoffCheck:
    """One record's verdict: `verified` only when every check passed; `reason` says which
    failed (a sentence naming the field)."""

    signed: bool
    verified: bool
    reason: str
    signer: Signer | None = None

    def to_input(self) -> dict[str, Any]:
        return {
            "signed": self.signed,
            "verified": self.verified,
            "signer": self.signer.to_input() if self.signer else None,
            "reason": self.reason,
        }


def parse_signature(value: object, field: str) -> SshsigSignature:
    """An armored SSHSIG signature; ValueError naming the field and what was expected."""
    expected = f"an armored SSH signature ({ARMOR_BEGIN} ... {ARMOR_END}) from ssh-keygen -Y sign"
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected {expected}, found {_describe(value)}")
    lines = [line.strip() for line in value.strip().splitlines()]
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise ValueError(f"{field}: expected {expected}; the armor lines are missing or wrong")
    body = lines[1:-1]
    if not all(_BASE64_LINE.match(line) for line in body):
        raise ValueError(f"{field}: the signature is not base64 between its armor lines")
    try:
        raw = binascii.a2b_base64("".join(body))
        signature = SshsigSignature(raw)
    except (ValueError, binascii.Error, IndexError) as error:
        raise ValueError(f"{field}: not an SSHSIG signature ({error})") from None
    except NotImplementedError as error:
        raise ValueError(f"{field}: unsupported SSHSIG signature ({error})") from None
    return signature


def _key_type(blob: bytes) -> str:
    try:
        length = int.from_bytes(blob[:4], "big")
        return blob[4 : 4 + length].decode("ascii", "replace")
    except (ValueError, IndexError):
        return "?"


def _payload(build: Any, *args: Any) -> bytes | ValueError:
    """The canonical bytes, or the reason there are none (a number JSON cannot carry exactly,
    such as an integer beyond 2^53): such a record verifies nothing."""
    try:
        result: bytes = build(*args)
    except rfc8785.CanonicalizationError as error:
        return ValueError(f"the signed fields have no canonical form (RFC 8785): {error}")
    return result


def verify_signoff(
    payload: Callable[[], bytes | ValueError],
    signature: object,
    *,
    field: str,
    what: str,
    person_email: str | None,
    signers: AllowedSigners | None,
    right: str,
    owner_email: str | None = None,
    domain: str | None = None,
    signer_role: str = "the person it names",
) -> SignoffCheck:
    """Check one record's signature.

    payload: makes the canonical bytes the signature covers (only called for a record that is
        signed by a known key: canonical JSON costs more than the rest of an unsigned check).
    field: where the signature is (spec.governance.approvals[0].signature), for messages.
    what: the record in a sentence ("approval by Lee Park").
    person_email: whom the record names; the signer must be that person.
    right: the right the signer needs (approve, except, review); domain: for approve.
    owner_email: the agent's owner (approvals, exceptions): the owner signs for no agent of
        their own.
    """
    if signature is None:
        return SignoffCheck(
            False,
            False,
            f"{what} is not signed; {signer_role} signs it with `golive sign "
            f"{_KIND_OF_RIGHT[right]}` (docs/signoffs.md)",
        )
    try:
        parsed = parse_signature(signature, field)
    except ValueError as error:
        return SignoffCheck(True, False, f"{what}: {error}")
    if parsed.namespace != SIGNATURE_NAMESPACE.encode():
        namespace = parsed.namespace.decode("ascii", "replace")
        return SignoffCheck(
            True,
            False,
            f"{what}: {field} was made for the signature namespace {namespace!r}, not "
            f"{SIGNATURE_NAMESPACE!r}; sign it with `golive sign {_KIND_OF_RIGHT[right]}`",
        )
    try:
        key = PublicKey.from_ssh_encoding(parsed.public_key)
    except NotImplementedError:
        return SignoffCheck(
            True,
            False,
            f"{what}: {field} is made with a key of type {_key_type(parsed.public_key)!r}; "
            f"golive verifies {' and '.join(SUPPORTED_KEY_TYPES)} keys",
        )
    except (ValueError, IndexError) as error:
        return SignoffCheck(True, False, f"{what}: {field} holds no valid public key ({error})")
    if signers is None:
        return SignoffCheck(
            True,
            False,
            f"{what} is signed (key {key.sha256_str()}) but cannot be verified: no allowed "
            "signers are configured (a ConfigMap labelled golive.dev/allowed-signers in golive's "
            "namespace; golive check --allowed-signers FILE)",
        )
    if signers.error is not None:
        return SignoffCheck(
            True,
            False,
            f"{what} cannot be verified: the allowed signers cannot be read: {signers.error}",
        )
    signer = signers.by_key(key)
    if signer is None:
        return SignoffCheck(
            True,
            False,
            f"{what} is signed by a key that is not an allowed signer ({key.sha256_str()}); "
            f"only keys in {signers.source} count",
        )
    message = payload()
    if isinstance(message, ValueError):
        return SignoffCheck(True, False, f"{what}: {message}", signer)
    try:
        result = do_sshsig_verify(parsed, io.BytesIO(message), SIGNATURE_NAMESPACE)
    except Exception as error:  # sshsig asserts or raises on some malformed inner signatures
        return SignoffCheck(
            True,
            False,
            f"{what}: {field} is not a valid SSH signature ({type(error).__name__})",
            signer,
        )
    if not isinstance(result, PublicKey):
        return SignoffCheck(
            True,
            False,
            f"{what}: the signature by {signer.describe()} does not match what it signs now: "
            "a signed field changed after signing, or it was signed for another agent or "
            "namespace; it must be signed again",
            signer,
        )
    if person_email is None or _email_key(person_email) != _email_key(signer.email):
        return SignoffCheck(
            True,
            False,
            f"{what} names {person_email or 'no email'} but is signed by {signer.describe()}; "
            "a sign-off is signed by the person it names",
            signer,
        )
    if owner_email is not None and _email_key(owner_email) == _email_key(signer.email):
        return SignoffCheck(
            True,
            False,
            f"{what} is signed by {signer.describe()}, the agent's owner; four eyes: the "
            "owner signs off no agent of their own",
            signer,
        )
    if right not in signer.rights:
        return SignoffCheck(
            True,
            False,
            f"{what}: {signer.describe()} may not {_RIGHT_WORDS[right]} (rights in "
            f"{signers.source}: {', '.join(sorted(signer.rights))})",
            signer,
        )
    if right == APPROVE and ANY_DOMAIN not in signer.domains and domain not in signer.domains:
        return SignoffCheck(
            True,
            False,
            f"{what}: {signer.describe()} approves regulated agents of the domains "
            f"{', '.join(sorted(signer.domains))}, not {domain!r}",
            signer,
        )
    return SignoffCheck(True, True, "", signer)


_KIND_OF_RIGHT = {APPROVE: "approval", EXCEPT: "exception", REVIEW: "review"}
_RIGHT_WORDS = {
    APPROVE: "approve regulated agents",
    EXCEPT: "grant exceptions",
    REVIEW: "record reviews",
}


# --- the policy input block ----------------------------------------------------------------


def _person_email(person: object) -> str | None:
    email = _obj(person).get("email")
    return email if isinstance(email, str) else None


def _person_name(person: object, fallback: str) -> str:
    name = _obj(person).get("name")
    return name if isinstance(name, str) and name.strip() else fallback


def check_approvals(agent: Mapping[str, Any], signers: AllowedSigners | None) -> list[SignoffCheck]:
    spec = _obj(agent.get("spec"))
    governance = _obj(spec.get("governance"))
    approvals = governance.get("approvals")
    domain = governance.get("domain")
    checks = []
    for i, approval in enumerate(approvals if isinstance(approvals, list) else []):
        approval = _obj(approval)
        checks.append(
            verify_signoff(
                partial(_payload, approval_payload, agent, approval),
                approval.get("signature"),
                field=f"spec.governance.approvals[{i}].signature",
                what=f"approval by {_person_name(approval, 'nobody')}",
                person_email=_person_email(approval),
                signers=signers,
                right=APPROVE,
                owner_email=_person_email(spec.get("owner")),
                domain=domain if isinstance(domain, str) else None,
                signer_role="the approver",
            )
        )
    return checks


def check_review(agent: Mapping[str, Any], signers: AllowedSigners | None) -> SignoffCheck | None:
    spec = _obj(agent.get("spec"))
    record = _obj(spec.get("governance")).get("lastReview")
    if not isinstance(record, Mapping):
        return None
    by = record.get("by")
    return verify_signoff(
        partial(_payload, review_payload, agent, record),
        record.get("signature"),
        field="spec.governance.lastReview.signature",
        what=f"the review recorded by {_person_name(by, 'nobody')}",
        person_email=_person_email(by),
        signers=signers,
        right=REVIEW,
        signer_role="the reviewer",
    )


def check_exception(
    exception: Mapping[str, Any], owner_email: str | None, signers: AllowedSigners | None
) -> SignoffCheck:
    spec = _obj(exception.get("spec"))
    name = _obj(exception.get("metadata")).get("name")
    approver = spec.get("approver")
    return verify_signoff(
        partial(_payload, exception_payload, exception),
        spec.get("signature"),
        field=f"AgentException {name}: spec.signature",
        what=f"AgentException {name!r} (approver {_person_name(approver, 'nobody')})",
        person_email=_person_email(approver),
        signers=signers,
        right=EXCEPT,
        owner_email=owner_email,
        signer_role="its approver",
    )


def signoffs_input(
    agent: Mapping[str, Any],
    exceptions: Iterable[tuple[Mapping[str, Any], str]],
    refused: Iterable[tuple[str, str]],
    signers: AllowedSigners | None,
) -> dict[str, Any]:
    """The `signoffs` block of the policy input.

    exceptions: (raw AgentException, grantedAt) for each active exception of the agent.
    refused: (name, reason) of exceptions that target the agent but waive nothing for it.
    """
    owner_email = _person_email(_obj(agent.get("spec")).get("owner"))
    review = check_review(agent, signers)
    return {
        "namespace": SIGNATURE_NAMESPACE,
        "signers": "none"
        if signers is None
        else ("unreadable" if signers.error is not None else "configured"),
        "approvals": [c.to_input() for c in check_approvals(agent, signers)],
        "lastReview": review.to_input() if review else None,
        "exceptions": {
            str(_obj(raw.get("metadata")).get("name")): {
                **check_exception(raw, owner_email, signers).to_input(),
                "grantedAt": granted_at,
            }
            for raw, granted_at in exceptions
        },
        "refusedExceptions": [{"name": name, "reason": reason} for name, reason in refused],
    }


def signoff_records(policy_input: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each sign-off of a decided agent with its verdict, for reports (`golive check`): where it
    is (`record`), verified or not, the signer, and why not."""
    block = _obj(policy_input.get("signoffs"))
    records: list[dict[str, Any]] = []
    approvals = block.get("approvals")
    for i, check in enumerate(approvals if isinstance(approvals, list) else []):
        records.append({"record": f"spec.governance.approvals[{i}]", **_obj(check)})
    review = block.get("lastReview")
    if isinstance(review, Mapping):
        records.append({"record": "spec.governance.lastReview", **review})
    for name, check in sorted(_obj(block.get("exceptions")).items()):
        entry = {k: v for k, v in _obj(check).items() if k != "grantedAt"}
        records.append({"record": f"AgentException {name}", **entry})
    return records
