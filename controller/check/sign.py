"""`golive sign`: sign an approval, a review record or an exception in a manifest with the
signer's SSH key, through `ssh-keygen -Y sign` (so ssh-agent and hardware keys work), and write
the signed record back into the manifest (docs/signoffs.md)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from controller.domain.signoffs import (
    SIGNATURE_NAMESPACE,
    approval_payload,
    exception_payload,
    review_payload,
)

KINDS = ("approval", "review", "exception")
_SEPARATOR = re.compile(r"^---[ \t]*(#.*)?$", re.MULTILINE)


class SignError(ValueError):
    """What keeps golive from signing; the message names the file, the object and the field."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str


def ssh_sign(payload: bytes, key: str, ssh_keygen: str = "ssh-keygen") -> str:
    """`ssh-keygen -Y sign -f KEY -n golive.dev` of payload: the armored SSHSIG.

    KEY is a private key file, or a public key file whose private half ssh-agent holds (a
    hardware key, too): ssh-keygen asks the agent then.
    """
    try:
        done = subprocess.run(
            [ssh_keygen, "-q", "-Y", "sign", "-f", key, "-n", SIGNATURE_NAMESPACE],
            input=payload,
            capture_output=True,
            check=False,
            timeout=120,  # a hardware key waits for a touch
        )
    except FileNotFoundError:
        raise SignError(f"{ssh_keygen} not found: golive signs with OpenSSH's ssh-keygen") from None
    except subprocess.TimeoutExpired:
        raise SignError(f"{ssh_keygen} -Y sign did not finish within 120 s") from None
    if done.returncode != 0:
        problem = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        raise SignError(f"--key {key}: ssh-keygen -Y sign failed: {problem}")
    signature = done.stdout.decode("ascii", errors="replace")
    if "-----BEGIN SSH SIGNATURE-----" not in signature:
        raise SignError(f"--key {key}: ssh-keygen -Y sign wrote no signature")
    return signature


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _split(text: str) -> list[str]:
    """The documents of a YAML stream as text (each with its own comments)."""
    parts: list[str] = []
    start = 0
    for match in _SEPARATOR.finditer(text):
        parts.append(text[start : match.start()])
        start = match.end() + 1
    parts.append(text[start:])
    return parts


def _header(text: str) -> str:
    """The comment lines a document starts with: kept when golive rewrites it."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    return "\n".join(lines).strip("\n")


def _find(
    parts: list[str], source: str, kind: str, name: str | None, flag: str
) -> tuple[int, dict[str, Any]]:
    found = []
    for index, part in enumerate(parts):
        try:
            doc = yaml.safe_load(part)
        except yaml.YAMLError as error:
            raise SignError(f"{source}: not YAML: {error}") from None
        if isinstance(doc, dict) and doc.get("kind") == kind:
            doc_name = (doc.get("metadata") or {}).get("name")
            if name is None or doc_name == name:
                found.append((index, doc))
    if not found:
        which = f" named {name!r}" if name else ""
        raise SignError(f"{source}: no {kind}{which}")
    if len(found) > 1:
        names = ", ".join(str((d.get("metadata") or {}).get("name")) for _, d in found)
        raise SignError(f"{source}: several {kind}s ({names}); say which with {flag} NAME")
    index, doc = found[0]
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("namespace"):
        raise SignError(
            f"{source}: {kind} {(meta or {}).get('name')}: metadata.namespace: expected the "
            "namespace it is applied in (the signature covers it)"
        )
    return index, doc


def _governance(agent: dict[str, Any], source: str) -> dict[str, Any]:
    spec = agent.get("spec")
    if not isinstance(spec, dict):
        raise SignError(f"{source}: AgentDeployment: spec: expected an object")
    governance = spec.setdefault("governance", {})
    if not isinstance(governance, dict):
        raise SignError(f"{source}: AgentDeployment: spec.governance: expected an object")
    return governance


def sign_approval(
    agent: dict[str, Any], signer: Person, role: str | None, at: str, sign: Callable[[bytes], str]
) -> None:
    """Add or replace the signer's approval (matched by email) and sign it."""
    governance = _governance(agent, "")
    approvals = governance.get("approvals")
    if approvals is None:
        approvals = governance["approvals"] = []
    if not isinstance(approvals, list):
        raise SignError("spec.governance.approvals: expected a list")
    mine = [
        a
        for a in approvals
        if isinstance(a, dict) and str(a.get("email", "")).lower() == signer.email.lower()
    ]
    approval: dict[str, Any] = mine[0] if mine else {}
    if not mine:
        approvals.append(approval)
    approval.pop("signature", None)
    approval.update(name=signer.name, email=signer.email)
    if role is not None:
        approval["role"] = role
    approval["at"] = at
    approval["signature"] = sign(approval_payload(agent, approval))


def sign_review(
    agent: dict[str, Any], signer: Person, at: str, sign: Callable[[bytes], str]
) -> None:
    """Record a review by the signer (spec.governance.lastReview) and sign it."""
    governance = _governance(agent, "")
    record: dict[str, Any] = {"at": at, "by": {"name": signer.name, "email": signer.email}}
    governance["lastReview"] = record
    record["signature"] = sign(review_payload(agent, record))


def sign_exception(
    exception: dict[str, Any], signer: Person | None, sign: Callable[[bytes], str]
) -> None:
    """Sign an exception as its approver (replaced by signer when given)."""
    spec = exception.get("spec")
    if not isinstance(spec, dict):
        raise SignError("spec: expected an object")
    spec.pop("signature", None)
    if signer is not None:
        spec["approver"] = {"name": signer.name, "email": signer.email}
    spec["signature"] = sign(exception_payload(exception))


def sign_manifest(
    text: str,
    source: str,
    kind: str,
    *,
    name: str | None,
    signer: Person | None,
    role: str | None,
    at: str,
    sign: Callable[[bytes], str],
) -> str:
    """The manifest text with the record signed; the other documents are kept as written. In
    the signed one, when only the signature changes, it is written into the text in place
    (comments kept); else the document is written anew (its leading comments kept)."""
    parts = _split(text)
    path: list[str | int]
    if kind == "exception":
        index, doc = _find(parts, source, "AgentException", name, "--exception")
        sign_exception(doc, signer, sign)
        path = ["spec"]
    else:
        index, doc = _find(parts, source, "AgentDeployment", name, "--agent")
        if signer is None:
            raise SignError(f"--name and --email: expected the {kind}'s signer")
        try:
            if kind == "approval":
                sign_approval(doc, signer, role, at, sign)
            else:
                sign_review(doc, signer, at, sign)
        except SignError as error:
            raise SignError(
                f"{source}: AgentDeployment {doc['metadata']['name']}: {error}"
            ) from None
        governance = doc["spec"]["governance"]
        if kind == "approval":
            emails = [str(a.get("email", "")).lower() for a in governance["approvals"]]
            path = ["spec", "governance", "approvals", emails.index(signer.email.lower())]
        else:
            path = ["spec", "governance", "lastReview"]
    in_place = _signed_in_place(parts[index], doc, path)
    if in_place is not None:
        parts[index] = in_place
        return "---\n".join(_ensure_newline(p) for p in parts)
    header = _header(parts[index])
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    parts[index] = (header + "\n" if header else "") + body
    return "---\n".join(_ensure_newline(p) for p in parts)


def _ensure_newline(part: str) -> str:
    return part if not part or part.endswith("\n") else part + "\n"


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(step, int):
        if isinstance(node, yaml.SequenceNode) and step < len(node.value):
            child: yaml.Node = node.value[step]
            return child
        return None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                found: yaml.Node = value
                return found
    return None


def _line_end(text: str, index: int) -> int:
    """Just past the end of the line holding text[index - 1] (a node's last character)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _signed_in_place(text: str, expected: Mapping[str, Any], path: list[str | int]) -> str | None:
    """The document text with only `signature` of the mapping at `path` written (replaced or
    added), comments and formatting kept; None when that cannot be done safely. The result must
    read back as `expected`, else None: never a manifest that says something else."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    for step in path:
        node = _child(node, step) if node is not None else None
    if not isinstance(node, yaml.MappingNode) or node.flow_style or not node.value:
        return None
    signature = expected
    for step in [*path, "signature"]:
        signature = signature[step]  # type: ignore[index]
    if not isinstance(signature, str):
        return None
    kept = [
        (k, v)
        for k, v in node.value
        if not (isinstance(k, yaml.ScalarNode) and k.value == "signature")
    ]
    old = [(k, v) for k, v in node.value if (k, v) not in kept]
    if not kept:
        return None
    indent = " " * kept[0][0].start_mark.column
    block = f"{indent}signature: |\n" + "".join(
        f"{indent}  {line}\n" for line in signature.rstrip("\n").split("\n")
    )
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), applied from the end
    for key, value in old:
        start = text.rfind("\n", 0, key.start_mark.index) + 1
        edits.append((start, _line_end(text, value.end_mark.index), ""))
    at = _line_end(text, kept[-1][1].end_mark.index)
    edits.append((at, at, block if at == len(text) or text[at - 1] == "\n" else "\n" + block))
    out = text
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
    try:
        if yaml.safe_load(out) != expected:
            return None
    except yaml.YAMLError:
        return None
    return out
