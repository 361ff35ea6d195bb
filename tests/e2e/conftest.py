"""Fixtures for end-to-end tests on a real kube-apiserver + etcd and a real OPA server.

Two clusters: `cluster` is the bare control plane (etcd + kube-apiserver: fast, nothing ever
runs), `full_cluster` adds kube-controller-manager, kube-scheduler and KWOK nodes, for tests about
rollout, Ready and garbage collection. `namespace` and `full_namespace` give a test its own
namespace in one or the other.

The binaries are built (or reused from the cache) by scripts/tools.sh; a missing binary is a
build step, never a skip. Every process a fixture starts is stopped by that fixture, also when
a test fails, and dies with the test runner if the runner is killed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.cluster import Cluster
from kit.controlplane import ControlPlane, OpaServer, running_with_crds


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """One control plane for the session, with the golive CRDs installed."""
    with running_with_crds(ControlPlane(tmp_path_factory.mktemp("controlplane"))) as plane:
        yield plane


@pytest.fixture(scope="session")
def full_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One full cluster for the session (controllers, scheduler, KWOK node), CRDs installed."""
    with running_with_crds(Cluster(tmp_path_factory.mktemp("fullcluster"))) as plane:
        yield plane


@pytest.fixture
def opa_server(tmp_path: Path) -> Iterator[OpaServer]:
    """A fresh `opa run --server` for one test (tests may kill and restart it)."""
    server = OpaServer(tmp_path / "opa")
    try:
        yield server.start()
    finally:
        server.stop()


def _fresh_namespace(plane: ControlPlane, request: pytest.FixtureRequest) -> str:
    base = request.node.name.lower().replace("_", "-")[:40]
    base = "".join(c if c.isalnum() or c == "-" else "-" for c in base).strip("-")
    name = f"t-{base}-{secrets.token_hex(3)}"  # unique even for parametrized tests
    plane.kubectl("create", "namespace", name)
    return name


@pytest.fixture
def namespace(cluster: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace per test in the bare control plane, so tests do not see each other's objects."""
    name = _fresh_namespace(cluster, request)
    yield name
    # No namespace controller runs there, so finalization never completes; deleting without
    # waiting is enough to keep names free for the next run of the session.
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def full_namespace(full_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace per test in the full cluster; the real namespace controller empties it."""
    name = _fresh_namespace(full_cluster, request)
    yield name
    full_cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
