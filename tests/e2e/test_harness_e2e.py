"""The harness is a real control plane: these fail if the apiserver is not really there."""

from __future__ import annotations

import json
import time

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from kit.controlplane import ControlPlane, OpaServer, pid_alive


def test_create_and_read_configmap(cluster: ControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(cluster.api_client())
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="probe"), data={"k": "v"})
    created = core.create_namespaced_config_map(namespace, body)
    assert created.metadata.uid  # assigned by the apiserver, not by us
    assert created.metadata.resource_version
    read = core.read_namespaced_config_map("probe", namespace)
    assert read.data == {"k": "v"}
    assert read.metadata.uid == created.metadata.uid


def test_server_side_dry_run_stores_nothing(cluster: ControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(cluster.api_client())
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="dry"), data={"k": "v"})
    core.create_namespaced_config_map(namespace, body, dry_run="All")
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("dry", namespace)
    assert err.value.status == 404


def test_rbac_denies_the_non_admin_token(cluster: ControlPlane, namespace: str) -> None:
    core = client.CoreV1Api(cluster.api_client(user=True))
    with pytest.raises(ApiException) as err:
        core.list_namespaced_secret(namespace)
    assert err.value.status == 403
    assert cluster.user_name in json.loads(err.value.body)["message"]


def test_rbac_grant_takes_effect(cluster: ControlPlane, namespace: str) -> None:
    # A Role of our own: the aggregated "view" ClusterRole is empty here, because aggregation
    # is done by kube-controller-manager, which this control plane does not run.
    cluster.kubectl(
        "create", "role", "cm-reader", "--verb=list", "--resource=configmaps", "-n", namespace
    )
    cluster.kubectl(
        "create",
        "rolebinding",
        "cm-reader",
        "--role=cm-reader",
        f"--user={cluster.user_name}",
        "-n",
        namespace,
    )
    core = client.CoreV1Api(cluster.api_client(user=True))
    deadline = time.monotonic() + 10
    while True:  # RBAC caches update within a moment of the write
        try:
            core.list_namespaced_config_map(namespace)
            break
        except ApiException as err:
            if err.status != 403 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_built_kubectl_talks_to_the_same_server(cluster: ControlPlane, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "via-kubectl", "--from-literal=a=b", "-n", namespace)
    core = client.CoreV1Api(cluster.api_client())
    assert core.read_namespaced_config_map("via-kubectl", namespace).data == {"a": "b"}
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"].startswith("v1.")
    denied = cluster.kubectl("get", "secrets", "-n", namespace, user=True, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()


def test_opa_server_answers_a_real_query(opa_server: OpaServer) -> None:
    import urllib.request

    policy = b"package probe\n\nanswer := input.x * 2\n"
    put = urllib.request.Request(f"{opa_server.url}/v1/policies/probe", data=policy, method="PUT")
    urllib.request.urlopen(put, timeout=5).read()
    post = urllib.request.Request(
        f"{opa_server.url}/v1/data/probe/answer", data=b'{"input": {"x": 21}}', method="POST"
    )
    assert json.loads(urllib.request.urlopen(post, timeout=5).read()) == {"result": 42}


def test_stopping_leaves_no_process_behind(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plane = ControlPlane(tmp_path / "cp")
    opa = OpaServer(tmp_path / "opa")
    try:
        plane.start()
        opa.start()
        pids = [*plane.pids(), opa.process.pid]  # type: ignore[union-attr]
        assert len(pids) == 3
        assert all(pid_alive(p) for p in pids)
    finally:
        plane.stop()
        opa.stop()
    assert not [p for p in pids if pid_alive(p)]


def test_killed_test_runner_takes_its_servers_with_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """If pytest itself is SIGKILLed, the parent-death signal stops etcd and the apiserver."""
    import signal
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from kit.controlplane import ControlPlane\n"
        f"p = ControlPlane(Path({str(tmp_path / 'cp')!r})).start()\n"
        "print(' '.join(map(str, p.pids())), flush=True)\n"
        "time.sleep(600)\n"
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd="."
    )
    try:
        line = runner.stdout.readline()  # type: ignore[union-attr]
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2 and all(pid_alive(p) for p in pids)
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.1)
        assert not [p for p in pids if pid_alive(p)]
    finally:
        runner.kill()
