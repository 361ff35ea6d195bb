"""The operator's allowed signers: the ConfigMap store, the watch handler that re-decides every
agent, and the reconcile gate deciding with them (as the webhook and `golive check` do)."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.domain.alert_rules import AlertRules
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext
from controller.domain.signoffs import SIGNERS_KEY, SIGNERS_LABEL, approval_payload
from controller.engine.decision_pipeline import decide_agent
from controller.engine.factory import policy_set_from_library
from controller.operator.admission import decide_admission
from controller.operator.cache import ClusterState, slim_exception
from controller.operator.handlers import allowed_signers_event
from controller.operator.runtime import Runtime
from controller.operator.signers import SignerStore
from kit.controlplane import tool_bin_dir
from tests.sshkeys import Key, make_key, signer_entry
from tests.unit.test_admission import at_the_door

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lee(tmp_path_factory: pytest.TempPathFactory) -> Key:
    return make_key(tmp_path_factory.mktemp("keys"), "lee")


def signers_yaml(key: Key) -> str:
    entry = signer_entry(key, "Lee Park", "lee.park@example.com", ["approve"], ["finance"])
    return yaml.safe_dump({"signers": [entry]})


def test_the_store_follows_its_configmaps(lee: Key) -> None:
    store = SignerStore("golive-system")
    assert store.current is None
    assert store.set_configmap("golive-allowed-signers", {SIGNERS_KEY: signers_yaml(lee)})
    assert store.current is not None and [s.name for s in store.current.signers] == ["Lee Park"]
    assert "ConfigMap golive-system/golive-allowed-signers" in store.current.source
    assert not store.set_configmap("golive-allowed-signers", {SIGNERS_KEY: signers_yaml(lee)})
    # A broken list verifies nothing (it is not read as a shorter list).
    assert store.set_configmap("more", {SIGNERS_KEY: "signers: [{name: x}]"})
    assert store.current is not None and store.current.signers == ()
    assert "ConfigMap golive-system/more: signers[0].name" in (store.current.error or "")
    assert store.set_configmap("more", {"other-key": "x"})
    assert "golive-system/more: data.allowed-signers.yaml: missing" in (store.current.error or "")
    assert store.set_configmap("more", None)
    assert store.current is not None and store.current.error is None
    assert store.set_configmap("golive-allowed-signers", None)
    assert store.current is None


class FakeQueue:
    def __init__(self) -> None:
        self.all = 0


class FakeReconciler:
    def __init__(self) -> None:
        self.signers = SignerStore("golive-system")
        self.enqueued = 0

    def enqueue_all(self) -> None:
        self.enqueued += 1


class FakeRuntime(Runtime):
    """The operator's Runtime (the handlers' API) around a reconciler that only counts."""

    def __init__(self) -> None:
        super().__init__(ClusterState(), None, FakeReconciler())  # type: ignore[arg-type]


class Memo:
    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime


def configmap(namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "golive-allowed-signers", "namespace": namespace}, "data": data}


def test_a_change_of_signers_re_decides_every_agent(lee: Key) -> None:
    rt = FakeRuntime()

    def send(body: dict[str, Any], type_: str = "ADDED") -> None:
        handler = allowed_signers_event(
            {"type": type_, "object": body},  # type: ignore[arg-type]
            body=body,  # type: ignore[arg-type]
            memo=Memo(rt),  # type: ignore[arg-type]
        )
        asyncio.run(handler)

    send(configmap("elsewhere", {SIGNERS_KEY: signers_yaml(lee)}))  # not golive's namespace
    assert rt.reconciler.enqueued == 0 and rt.reconciler.signers.current is None
    send(configmap("golive-system", {SIGNERS_KEY: signers_yaml(lee)}))
    assert rt.reconciler.enqueued == 1 and rt.reconciler.signers.current is not None
    send(configmap("golive-system", {SIGNERS_KEY: signers_yaml(lee)}), "MODIFIED")
    assert rt.reconciler.enqueued == 1  # nothing changed
    send(configmap("golive-system", {}), "DELETED")
    assert rt.reconciler.enqueued == 2 and rt.reconciler.signers.current is None


def test_the_cache_keeps_an_exceptions_creation_time() -> None:
    body = {"apiVersion": "golive.dev/v1alpha1", "kind": "AgentException",
            "metadata": {"name": "x", "namespace": "a", "creationTimestamp": "2026-12-01T00:00:00Z",
                         "uid": "u"}, "spec": {}}  # fmt: skip
    assert slim_exception(body)["metadata"]["creationTimestamp"] == "2026-12-01T00:00:00Z"


def test_webhook_and_gate_decide_the_same_with_the_same_signers(lee: Key) -> None:
    docs = yaml.safe_load_all((ROOT / "examples" / "invoice-triage.yaml").read_text())
    agent = next(d for d in docs if d and d["kind"] == "AgentDeployment")
    approval = agent["spec"]["governance"]["approvals"][0]
    approval["signature"] = lee.sign(approval_payload(agent, approval))
    store = SignerStore("golive-system")
    store.set_configmap("golive-allowed-signers", {SIGNERS_KEY: signers_yaml(lee)})
    policy_set = policy_set_from_library("embedded", [], safe_library=True)
    try:
        for signers, verified in ((store.current, True), (None, False)):
            gate = decide_agent(
                policy_set, read_agent(agent), contracts=None, exceptions=[],
                context=PolicyContext(Operation.RECONCILE, NOW), signers=signers,
                alert_rules=AlertRules.deferred(),  # as at the door: not what this is about
            )  # fmt: skip
            door = decide_admission(
                agent, "CREATE", dry_run=False, decide=at_the_door(policy_set, [], {}, signers)
            )
            assert gate.policy_input["signoffs"]["approvals"][0]["verified"] is verified
            assert door.decision is not None
            found = {(v.policy, v.field, v.message) for v in door.decision.violations}
            assert found == {(v.policy, v.field, v.message) for v in gate.decision.violations}
            assert (
                any(p == "golive.governance.signed_approvals" for p, _, _ in found) is not verified
            )
    finally:
        policy_set.engine.close()


# --- the chart: allowedSigners values -> the watched ConfigMap ----------------------------------


def helm_template(*args: str) -> list[dict[str, Any]]:
    helm = tool_bin_dir(["helm"]) / "helm"
    chart = ROOT / "charts" / "golive"
    proc = subprocess.run(
        [str(helm), "template", "golive", str(chart), "--namespace", "golive-system", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def test_the_chart_renders_the_allowed_signers_configmap(lee: Key, tmp_path: Path) -> None:
    assert not [d for d in helm_template() if d["metadata"]["name"].endswith("allowed-signers")]
    entry = signer_entry(lee, "Lee Park", "lee.park@example.com", ["approve", "review"], ["*"])
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"allowedSigners": [entry]}))
    [configmap] = [d for d in helm_template("-f", str(values)) if d["kind"] == "ConfigMap"
                   and d["metadata"]["name"] == "golive-allowed-signers"]  # fmt: skip
    assert configmap["metadata"]["namespace"] == "golive-system"
    assert configmap["metadata"]["labels"][SIGNERS_LABEL] == "true"
    store = SignerStore("golive-system")
    store.replace_all({"golive-allowed-signers": configmap["data"]})
    assert store.current is not None and store.current.error is None
    [signer] = store.current.signers
    assert (signer.name, signer.rights, signer.domains) == (
        "Lee Park", frozenset({"approve", "review"}), frozenset({"*"}),
    )  # fmt: skip
    # The values schema refuses what golive would refuse.
    values.write_text(yaml.safe_dump({"allowedSigners": [{**entry, "rights": ["deploy"]}]}))
    helm = tool_bin_dir(["helm"]) / "helm"
    proc = subprocess.run(
        [str(helm), "template", "golive", str(ROOT / "charts" / "golive"), "-f", str(values)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode != 0 and "allowedSigners" in proc.stderr
