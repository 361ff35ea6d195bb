"""Leader election on a real Lease: one leader, takeover after expiry, one winner per race."""

from __future__ import annotations

import threading
import time

from controller.k8s.lease import LeaseConfig, LeaseElector
from kit.controlplane import ControlPlane


def electors(cluster: ControlPlane, namespace: str, n: int, **kw: float) -> list[LeaseElector]:
    config = LeaseConfig(namespace=namespace, name="golive-test", **kw)
    return [LeaseElector(cluster.api_client(), config, f"replica-{i}") for i in range(n)]


def test_exactly_one_leader_and_takeover_after_expiry(
    cluster: ControlPlane, namespace: str
) -> None:
    a, b = electors(cluster, namespace, 2, duration=3, renew_deadline=2, retry_period=0.5)
    assert a.tick() is True
    assert b.tick() is False
    for _ in range(4):  # a keeps renewing: b never gets in
        time.sleep(0.5)
        assert a.tick() and not b.tick()
    # a stops renewing (killed). b must wait for a whole lease duration of silence.
    started = time.monotonic()
    while not b.tick():
        time.sleep(0.2)
        assert time.monotonic() - started < 10
    waited = time.monotonic() - started
    assert 2.5 <= waited <= 5, waited
    assert not a.leading or time.monotonic() - a._last_renew >= 2  # a stepped down by deadline
    assert a.tick() is False  # and cannot take it back while b renews
    lease = cluster.kubectl("get", "lease", "golive-test", "-n", namespace, "-o", "json").stdout
    assert '"holderIdentity": "replica-1"' in lease and '"leaseTransitions": 1' in lease


def test_racing_candidates_produce_one_winner(cluster: ControlPlane, namespace: str) -> None:
    candidates = electors(cluster, namespace, 6, duration=3, renew_deadline=2, retry_period=0.5)
    results: dict[str, bool] = {}
    barrier = threading.Barrier(len(candidates))

    def run(elector: LeaseElector) -> None:
        barrier.wait()
        results[elector.identity] = elector.tick()

    threads = [threading.Thread(target=run, args=(e,)) for e in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results.values()) == 1, results


def test_release_hands_over_without_waiting(cluster: ControlPlane, namespace: str) -> None:
    a, b = electors(cluster, namespace, 2, duration=30, renew_deadline=20, retry_period=1)
    assert a.tick() and not b.tick()
    a.release()
    assert not a.leading
    started = time.monotonic()
    while not b.tick():
        time.sleep(0.2)
        assert time.monotonic() - started < 5
