"""Two operators in one process (kopf wired with its own registry, settings and memo per
operator, no module globals), on the real apiserver: they elect one leader on the Lease, the
leader gates the agents, and both stop cleanly.

Found while writing it: the lease identity was host-pid, so two operators in one process had
the same identity and would both have led. It now carries a random part, as client-go's does.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from controller.operator.main import OperatorOptions, operate
from kit.controlplane import ControlPlane
from tests.e2e.agents import agent, apply, contract, wait_admitted


async def run_two(cluster: ControlPlane, namespace: str) -> list[str]:
    options = OperatorOptions(
        kubeconfig=str(cluster.kubeconfig),
        health_port=0,
        metrics_port=0,
        leader_election_namespace=namespace,
        lease_duration=4.0,
    )
    stop = asyncio.Event()
    operators = [asyncio.create_task(operate(options, stop)) for _ in range(2)]
    try:
        await asyncio.to_thread(apply, cluster, contract(namespace), agent(namespace))
        await asyncio.to_thread(
            wait_admitted, cluster, namespace, "invoice-triage", "True", None, 60
        )
        lease = json.loads(
            (
                await asyncio.to_thread(
                    cluster.kubectl,
                    "get",
                    "lease",
                    "golive-operator",
                    "-n",
                    namespace,
                    "-o",
                    "json",
                )
            ).stdout
        )
        return [str(lease["spec"]["holderIdentity"])]
    finally:
        stop.set()
        done, pending = await asyncio.wait(operators, timeout=30)
        assert not pending, "an operator did not stop"
        for task in done:
            assert task.exception() is None, task.exception()


def test_two_operators_run_in_one_process(
    cluster: ControlPlane, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="golive.operator")
    (holder,) = asyncio.run(run_two(cluster, namespace))
    leaders = [r for r in caplog.records if r.getMessage().startswith("leading:")]
    # Exactly one of the two led (with a shared identity both would have).
    assert len(leaders) == 1, [r.getMessage() for r in leaders]
    assert holder.count("-") >= 2  # host-pid-random
    deployment = json.loads(
        cluster.kubectl("get", "deployment", "invoice-triage", "-n", namespace, "-o", "json").stdout
    )
    owners = deployment["metadata"]["ownerReferences"]
    assert len(owners) == 1 and owners[0]["kind"] == "AgentDeployment"
