"""The gate on the remote engine: a real OPA server killed and restarted under the operator.

Its own module, so no other operator is running while it does (module-scoped fixtures).
"""

from __future__ import annotations

import time
from pathlib import Path

from kit.controlplane import REPO, ControlPlane, OpaServer
from kit.operator import OperatorProcess
from tests.e2e.agents import agent, apply, condition, contract, get, wait_admitted


def image_of(dep: dict) -> str:  # type: ignore[type-arg]
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


def test_remote_opa_killed_means_unknown_and_restart_recovers(
    cluster: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    opa = OpaServer(tmp_path / "opa").start()
    op = OperatorProcess(
        cluster,
        tmp_path / "operator",
        engine="remote",
        opa_url=opa.url,
        policies=REPO / "policies",
    )
    try:
        op.start()
        apply(cluster, contract(namespace), agent(namespace))
        wait_admitted(cluster, namespace, "invoice-triage", "True")
        obj = get(cluster, "agd", namespace, "invoice-triage")
        assert obj is not None and obj["status"]["policy"]["engine"] == "remote"
        before = get(cluster, "deployment", namespace, "invoice-triage")

        opa.kill()
        edit = agent(namespace)
        edit["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example.com/new:4"
        apply(cluster, edit)
        obj = wait_admitted(cluster, namespace, "invoice-triage", "Unknown", generation=2)
        assert condition(obj, "Admitted")["reason"] == "EngineUnavailable"
        after = get(cluster, "deployment", namespace, "invoice-triage")
        assert after is not None and before is not None
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

        restarted = time.monotonic()
        opa = OpaServer(tmp_path / "opa2", port=opa.port).start()  # same address, empty OPA
        wait_admitted(cluster, namespace, "invoice-triage", "True", generation=2, timeout=90)
        recovery = time.monotonic() - restarted
        dep = get(cluster, "deployment", namespace, "invoice-triage")
        assert dep is not None and image_of(dep) == "registry.example.com/new:4"
        print(f"recovered {recovery:.1f}s after OPA came back")
    finally:
        op.stop()
        opa.stop()
