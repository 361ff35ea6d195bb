"""Sign-offs end to end on the full cluster (controllers, scheduler, KWOK nodes), with keys made
by ssh-keygen here: the real `golive run` reads its policies and its allowed signers from
ConfigMaps of its own namespace, the sign-off rules set to `deny` as a platform team would.

An approval signed by an allowed signer admits a regulated agent; signed by the owner, by an
unknown key, for another namespace, or tampered with after signing (one byte of the image), it
is denied, each saying why. A material change blocks the new generation while the signed one
keeps running, and signing again admits it. A self-approved exception and one longer than the
maximum lifetime waive nothing. Removing a signer from the ConfigMap re-blocks the agent its key
approved, with nobody touching the agent. `golive check --allowed-signers` gives the same
verdicts on the same objects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.domain.signoffs import (
    SIGNERS_KEY,
    SIGNERS_LABEL,
    approval_payload,
    exception_payload,
)
from kit.cluster import Cluster
from kit.controlplane import REPO
from kit.operator import OperatorProcess, apply_objects, policy_configmaps
from tests.e2e.agents import (
    agent,
    apply,
    condition,
    contract,
    exception,
    get,
    wait_admitted,
    wait_for,
)
from tests.sshkeys import Key, make_key, signer_entry

OWN_NS = "golive-signoffs"  # the operator's namespace: its policies and its allowed signers
APPROVALS = "golive.governance.signed_approvals"
SIGNOFF_RULES = ("signed_approvals", "signed_review", "signed_exceptions", "exception_lifetime")
LEE = {"name": "Lee Park", "email": "lee.park@example.com"}
DANA = {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"}  # owns invoice-triage


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    folder = tmp_path_factory.mktemp("keys")
    return {name: make_key(folder, name) for name in ("lee", "dana", "sam", "mallory")}


def signers_doc(keys: dict[str, Key], *, with_lee: bool = True) -> str:
    entries = [
        signer_entry(keys["dana"], "Dana Ruiz", "dana.ruiz@example.com", ["approve", "except"],
                     ["*"]),
        signer_entry(keys["sam"], "Sam Ortiz", "sam.ortiz@example.com", ["except"]),
    ]  # fmt: skip
    if with_lee:
        entries.insert(
            0,
            signer_entry(keys["lee"], "Lee Park", "lee.park@example.com", ["approve"], ["finance"]),
        )
    return yaml.safe_dump({"signers": entries})


def signers_configmap(text: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "golive-allowed-signers",
            "namespace": OWN_NS,
            "labels": {SIGNERS_LABEL: "true"},
        },
        "data": {SIGNERS_KEY: text},
    }


@pytest.fixture(scope="module")
def deny_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library") / "policies"
    shutil.copytree(REPO / "policies", folder)
    for rule in SIGNOFF_RULES:
        policy = folder / "governance" / rule / "policy.rego"
        text = policy.read_text()
        assert "  enforcement: warn\n" in text
        policy.write_text(text.replace("  enforcement: warn\n", "  enforcement: deny\n"))
    return folder


@pytest.fixture(scope="module")
def signers_file(keys: dict[str, Key], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signers") / "allowed-signers.yaml"
    path.write_text(signers_doc(keys))
    return path


@pytest.fixture(scope="module")
def operator(
    full_cluster: Cluster,
    tmp_path_factory: pytest.TempPathFactory,
    keys: dict[str, Key],
    deny_library: Path,
) -> Iterator[OperatorProcess]:
    full_cluster.kubectl("create", "namespace", OWN_NS, check=False)
    apply_objects(full_cluster, policy_configmaps(deny_library, OWN_NS))
    apply_objects(full_cluster, [signers_configmap(signers_doc(keys))])
    op = OperatorProcess(
        full_cluster, tmp_path_factory.mktemp("operator"), policies=None, policy_namespace=OWN_NS
    )
    op.start()
    yield op
    op.stop()
    full_cluster.kubectl("delete", "namespace", OWN_NS, "--wait=false", check=False)


def approved(namespace: str, name: str, key: Key, person: dict[str, str] = LEE,
             signed_namespace: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The example agent, approved by `person` and signed with `key` (for `signed_namespace`,
    default the one it is applied in)."""
    obj = agent(namespace, name)
    obj["spec"]["governance"]["approvals"] = [{**person, "role": "compliance", "at": "2026-11-20"}]
    return sign_approval(obj, key, signed_namespace)


def sign_approval(obj: dict[str, Any], key: Key, namespace: str | None = None) -> dict[str, Any]:
    approval = obj["spec"]["governance"]["approvals"][0]
    approval.pop("signature", None)
    signed_as = json.loads(json.dumps(obj))
    if namespace:
        signed_as["metadata"]["namespace"] = namespace
    approval["signature"] = key.sign(approval_payload(signed_as, approval))
    return obj


def findings(obj: dict[str, Any], policy: str) -> list[dict[str, Any]]:
    return [v for v in obj["status"].get("violations", []) if v["policy"] == policy]


def image_of(cluster: Cluster, namespace: str, name: str) -> str:
    deployment = get(cluster, "deployment", namespace, name)
    assert deployment is not None
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


def golive_check(paths: list[Path], signers: Path, library: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", "check", "-o", "json", "--no-safe-library",
         "--policies", str(library), "--allowed-signers", str(signers), *map(str, paths)],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return {a["name"]: a["result"] for a in json.loads(done.stdout)["agents"]}


def test_approvals_signed_by_allowed_signers_admit_and_forgeries_are_denied(
    full_cluster: Cluster,
    operator: OperatorProcess,
    full_namespace: str,
    keys: dict[str, Key],
    signers_file: Path,
    deny_library: Path,
    tmp_path: Path,
) -> None:
    ns = full_namespace
    tampered = approved(ns, "tampered", keys["lee"])
    container = tampered["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"][:-1] + "1"  # 3.2.0 -> 3.2.1: one byte
    objects = {
        "signed": approved(ns, "signed", keys["lee"]),
        "by-owner": approved(ns, "by-owner", keys["dana"], DANA),
        "unknown-key": approved(ns, "unknown-key", keys["mallory"]),
        "other-namespace": approved(ns, "other-namespace", keys["lee"], signed_namespace="staging"),
        "tampered": tampered,
        "unsigned": agent(ns, "unsigned"),
    }
    apply(full_cluster, contract(ns), *objects.values())
    why = {
        "by-owner": "is signed by Dana Ruiz <dana.ruiz@example.com>, the agent's owner; four eyes",
        "unknown-key": "is signed by a key that is not an allowed signer "
        f"({_fingerprint(keys['mallory'])})",
        "other-namespace": "signed for another agent or namespace",
        "tampered": "the signature by Lee Park <lee.park@example.com> does not match what it "
        "signs now",
        "unsigned": "approval by Lee Park is not signed",
    }  # fmt: skip
    admitted = wait_admitted(full_cluster, ns, "signed", "True", timeout=60)
    assert findings(admitted, APPROVALS) == []
    for name, reason in why.items():
        blocked = wait_admitted(full_cluster, ns, name, "False", timeout=60)
        (finding,) = findings(blocked, APPROVALS)
        assert finding["enforcement"] == "deny"
        assert finding["field"] == "spec.governance.approvals[0].signature"
        assert reason in finding["message"], (name, finding["message"])
        assert get(full_cluster, "deployment", ns, name) is None
    # The same verdicts from `golive check` on the same objects.
    manifest = tmp_path / "agents.yaml"
    manifest.write_text(yaml.safe_dump_all([contract(ns), *objects.values()]))
    verdicts = golive_check([manifest], signers_file, deny_library)
    assert verdicts == {name: "admitted" if name == "signed" else "blocked" for name in objects}


def _fingerprint(key: Key) -> str:
    done = subprocess.run(
        ["ssh-keygen", "-l", "-f", f"{key.path}.pub"], capture_output=True, text=True, check=True
    )
    return done.stdout.split()[1]


def test_a_material_change_needs_a_new_sign_off_while_the_signed_generation_runs(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, keys: dict[str, Key],
    tmp_path: Path,
) -> None:  # fmt: skip
    ns = full_namespace
    obj = approved(ns, "invoice-triage", keys["lee"])
    apply(full_cluster, contract(ns), obj)
    wait_admitted(full_cluster, ns, "invoice-triage", "True", generation=1, timeout=60)
    signed_image = image_of(full_cluster, ns, "invoice-triage")
    # A new image, the old signature: generation 2 is blocked, generation 1 keeps running.
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = signed_image[:-1] + "9"
    apply(full_cluster, obj)
    blocked = wait_admitted(full_cluster, ns, "invoice-triage", "False", generation=2, timeout=60)
    assert "does not match what it signs now" in findings(blocked, APPROVALS)[0]["message"]
    assert blocked["status"]["admittedGeneration"] == 1
    assert image_of(full_cluster, ns, "invoice-triage") == signed_image
    # Lee signs the new version with `golive sign approval`: generation 3 is admitted and runs.
    manifest = tmp_path / "invoice-triage.yaml"
    manifest.write_text(yaml.safe_dump(obj))
    done = subprocess.run(
        [sys.executable, "-m", "controller.cli", "sign", "approval", str(manifest),
         "--key", str(keys["lee"].path), "--name", LEE["name"], "--email", LEE["email"],
         "--role", "compliance", "--at", "2026-11-20"],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    full_cluster.kubectl("apply", "-f", str(manifest))
    again = wait_admitted(full_cluster, ns, "invoice-triage", "True", generation=3, timeout=60)
    assert again["status"]["admittedGeneration"] == 3
    wait_for(
        lambda: image_of(full_cluster, ns, "invoice-triage") == signed_image[:-1] + "9",
        timeout=30,
        what="the re-signed image to roll out",
    )
    # Replicas are not signed: scaling needs no new sign-off.
    full_cluster.kubectl("patch", "agd", "invoice-triage", "-n", ns, "--type=merge",
                         "-p", '{"spec": {"replicas": 3}}')  # fmt: skip
    wait_admitted(full_cluster, ns, "invoice-triage", "True", generation=4, timeout=60)


def test_removing_a_signer_re_blocks_what_their_key_approved(
    full_cluster: Cluster, operator: OperatorProcess, full_namespace: str, keys: dict[str, Key]
) -> None:
    ns = full_namespace
    apply(full_cluster, contract(ns), approved(ns, "invoice-triage", keys["lee"]))
    wait_admitted(full_cluster, ns, "invoice-triage", "True", generation=1, timeout=60)
    try:
        apply_objects(full_cluster, [signers_configmap(signers_doc(keys, with_lee=False))])
        blocked = wait_admitted(full_cluster, ns, "invoice-triage", "False", generation=1)
        assert "not an allowed signer" in findings(blocked, APPROVALS)[0]["message"]
        assert blocked["status"]["admittedGeneration"] == 1  # still running, nothing new rolls out
        assert get(full_cluster, "deployment", ns, "invoice-triage") is not None
    finally:
        apply_objects(full_cluster, [signers_configmap(signers_doc(keys))])
    wait_admitted(full_cluster, ns, "invoice-triage", "True", generation=1)


def test_self_approved_and_overlong_exceptions_waive_nothing(
    full_cluster: Cluster,
    operator: OperatorProcess,
    full_namespace: str,
    keys: dict[str, Key],
    signers_file: Path,
    deny_library: Path,
    tmp_path: Path,
) -> None:
    ns = full_namespace
    now = datetime.now(UTC).replace(microsecond=0)

    def over_budget(name: str) -> dict[str, Any]:
        obj = approved(ns, name, keys["lee"])
        obj["spec"]["budget"]["expectedDailyRequests"] = 2_000_000  # fails at 100x
        return sign_approval(obj, keys["lee"])

    def waiver(
        name: str, target: str, days: int, approver: dict[str, str], key: Key
    ) -> dict[str, Any]:
        stamp = (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        obj = exception(ns, name, target, "golive.economics.budget_at_scale", stamp)
        obj["spec"]["approver"] = dict(approver)
        obj["spec"]["signature"] = key.sign(exception_payload(obj))
        return obj

    sam = {"name": "Sam Ortiz", "email": "sam.ortiz@example.com"}
    owned_by_sam = approved(ns, "owned-by-sam", keys["lee"])
    owned_by_sam["spec"]["owner"] = dict(sam)
    # Sam owns one of its two targets: it waives nothing, for the other target either.
    cross = waiver("sams", "other-target", 30, sam, keys["sam"])
    cross["spec"]["targets"] = ["other-target", "owned-by-sam"]
    cross["spec"]["signature"] = keys["sam"].sign(exception_payload(cross))
    objects = [
        contract(ns),
        over_budget("waived"), waiver("short", "waived", 30, sam, keys["sam"]),
        over_budget("self-approved"), waiver("own", "self-approved", 30, DANA, keys["dana"]),
        over_budget("overlong"), waiver("long", "overlong", 200, sam, keys["sam"]),
        sign_approval(owned_by_sam, keys["lee"]), over_budget("other-target"), cross,
    ]  # fmt: skip
    apply(full_cluster, *objects)
    waived = wait_admitted(full_cluster, ns, "waived", "True", timeout=60)
    assert [v["enforcement"] for v in findings(waived, "golive.economics.budget_at_scale")] == [
        "excepted"
    ]
    own = wait_admitted(full_cluster, ns, "self-approved", "False", timeout=60)
    assert [v["enforcement"] for v in findings(own, "golive.economics.budget_at_scale")] == ["deny"]
    (refused,) = findings(own, "golive.governance.signed_exceptions")
    assert "waives nothing for self-approved: its approver Dana Ruiz" in refused["message"]
    other = wait_admitted(full_cluster, ns, "other-target", "False", timeout=60)
    (refused,) = findings(other, "golive.governance.signed_exceptions")
    assert "its approver Sam Ortiz <sam.ortiz@example.com> owns owned-by-sam" in refused["message"]
    # For Sam's own agent the same exception is refused too, and said (signed_exceptions).
    sams_own = wait_admitted(full_cluster, ns, "owned-by-sam", "False", timeout=60)
    (said,) = findings(sams_own, "golive.governance.signed_exceptions")
    assert "its approver Sam Ortiz <sam.ortiz@example.com> is the agent's owner" in said["message"]
    long = wait_admitted(full_cluster, ns, "overlong", "False", timeout=60)
    (too_long,) = findings(long, "golive.governance.exception_lifetime")
    assert "longer than the 90 days an exception may last" in too_long["message"]
    assert condition(long, "Admitted")["reason"] == "Blocked"
    manifest = tmp_path / "exceptions.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    assert golive_check([manifest], signers_file, deny_library) == {
        "waived": "admitted", "self-approved": "blocked", "overlong": "blocked",
        "owned-by-sam": "blocked", "other-target": "blocked",
    }  # fmt: skip


def test_the_api_server_refuses_a_signature_that_is_not_one(
    full_cluster: Cluster, full_namespace: str
) -> None:
    """The CRD schema checks the armor: wrong armor never reaches etcd, and the error names the
    field (golive check gives the same schema error, exit 2)."""
    obj = agent(full_namespace, "bad-armor")
    obj["spec"]["governance"]["approvals"][0]["signature"] = "-----BEGIN PGP SIGNATURE-----"
    proc = full_cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=False)
    assert proc.returncode != 0
    assert "spec.governance.approvals[0].signature" in proc.stderr, proc.stderr
    assert get(full_cluster, "agd", full_namespace, "bad-armor") is None
