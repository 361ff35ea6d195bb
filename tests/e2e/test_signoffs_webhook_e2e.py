"""Sign-offs at the door: the admission webhook of the real `golive run` (policies and allowed
signers from ConfigMaps of its own namespace, the sign-off rules at `deny`) refuses a forged or
stale approval at `kubectl apply` with the reason the reconcile gate and `golive check` give,
and stores the agent an allowed signer approved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kit.cluster import Cluster
from kit.operator import OperatorProcess, apply_objects, policy_configmaps
from tests.e2e.agents import agent, apply, contract, get, wait_admitted
from tests.e2e.test_signoffs_e2e import (
    DANA,
    approved,
    deny_library,  # noqa: F401  (module fixtures shared with the gate's tests)
    golive_check,
    keys,  # noqa: F401
    signers_configmap,
    signers_doc,
    signers_file,  # noqa: F401
)
from tests.sshkeys import Key

OWN_NS = "golive-signoffs-door"
WEBHOOK = 'admission webhook "agentdeployments.golive.dev" denied the request'


@pytest.fixture(scope="module")
def door(
    full_cluster: Cluster,
    tmp_path_factory: pytest.TempPathFactory,
    keys: dict[str, Key],  # noqa: F811
    deny_library: Path,  # noqa: F811
) -> Iterator[OperatorProcess]:
    full_cluster.kubectl("create", "namespace", OWN_NS, check=False)
    apply_objects(full_cluster, policy_configmaps(deny_library, OWN_NS))
    signers = signers_configmap(signers_doc(keys))
    signers["metadata"]["namespace"] = OWN_NS  # type: ignore[index]
    apply_objects(full_cluster, [signers])
    op = OperatorProcess(
        full_cluster,
        tmp_path_factory.mktemp("operator"),
        policies=None,
        policy_namespace=OWN_NS,
        webhook=True,
    )
    op.delete_webhook_config()
    try:
        yield op.start()
    finally:
        op.stop()
        op.delete_webhook_config()
        full_cluster.kubectl("delete", "namespace", OWN_NS, "--wait=false", check=False)


def kubectl_apply(cluster: Cluster, obj: dict[str, Any]) -> tuple[int, str]:
    proc = cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=False)
    return proc.returncode, proc.stderr


def test_the_door_admits_a_signed_approval_and_refuses_forged_ones_saying_why(
    full_cluster: Cluster,
    door: OperatorProcess,
    full_namespace: str,
    keys: dict[str, Key],  # noqa: F811
    signers_file: Path,  # noqa: F811
    deny_library: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    ns = full_namespace
    apply(full_cluster, contract(ns))
    tampered = approved(ns, "tampered", keys["lee"])
    container = tampered["spec"]["template"]["spec"]["containers"][0]
    container["image"] = container["image"][:-1] + "1"
    cases = {
        "signed": (approved(ns, "signed", keys["lee"]), None),
        "by-owner": (approved(ns, "by-owner", keys["dana"], DANA), "the agent's owner; four eyes"),
        "unknown-key": (approved(ns, "unknown-key", keys["mallory"]), "not an allowed signer"),
        "other-namespace": (
            approved(ns, "other-namespace", keys["lee"], signed_namespace="staging"),
            "signed for another agent or namespace",
        ),
        "tampered": (tampered, "does not match what it signs now"),
        "unsigned": (agent(ns, "unsigned"), "approval by Lee Park is not signed"),
    }
    for name, (obj, reason) in cases.items():
        code, stderr = kubectl_apply(full_cluster, obj)
        if reason is None:
            assert code == 0, stderr
            assert "signed_approvals" not in stderr
            continue
        assert code != 0, (name, stderr)
        assert WEBHOOK in stderr and "[golive.governance.signed_approvals]" in stderr, stderr
        assert reason in stderr, (name, stderr)
        assert get(full_cluster, "agd", ns, name) is None
    wait_admitted(full_cluster, ns, "signed", "True", timeout=60)

    # A stale approval is refused at the door too; the stored, signed generation keeps running.
    changed = approved(ns, "signed", keys["lee"])
    changed["spec"]["template"]["spec"]["containers"][0]["image"] += "-rc1"
    code, stderr = kubectl_apply(full_cluster, changed)
    assert code != 0 and "does not match what it signs now" in stderr, stderr
    stored = get(full_cluster, "agd", ns, "signed")
    assert stored is not None and stored["metadata"]["generation"] == 1

    # `golive check --allowed-signers` on the same objects: the same verdicts.
    manifest = tmp_path / "agents.yaml"
    manifest.write_text(yaml.safe_dump_all([contract(ns), *(o for o, _ in cases.values())]))
    verdicts = golive_check([manifest], signers_file, deny_library)
    assert verdicts == {
        name: "admitted" if r is None else "blocked" for name, (_, r) in cases.items()
    }
