"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

Only the leader reconciles; every replica watches (warm caches) and serves the webhook. Expiry
is judged on this process's own clock from when it last saw the record change, never by
comparing another node's timestamps, so clock skew between replicas cannot cause two leaders.
Updates carry the resourceVersion they read: of two candidates racing for an expired lease,
the API server lets exactly one write win.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger("golive.lease")


@dataclass(frozen=True)
class LeaseConfig:
    namespace: str
    name: str = "golive-operator"
    duration: float = 15.0  # a holder silent this long has lost the lease
    renew_deadline: float = 10.0  # a leader that could not renew this long steps down
    retry_period: float = 2.0  # how often candidates and the leader try


def _now_micro() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LeaseElector:
    """Call `tick()` every `retry_period` (in a thread); `leading` says whether we may write."""

    def __init__(self, api_client: client.ApiClient, config: LeaseConfig, identity: str) -> None:
        self.api = client.CoordinationV1Api(api_client)
        self.config = config
        self.identity = identity
        self._last_renew = 0.0  # monotonic time of our last successful acquire/renew
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, transitions)
        self._observed_at = 0.0  # monotonic time the observed record last changed

    @property
    def leading(self) -> bool:
        return (
            self._last_renew > 0
            and time.monotonic() - self._last_renew < self.config.renew_deadline
        )

    def tick(self) -> bool:
        """Try to acquire or renew; returns `leading` afterwards. Never raises for API errors."""
        try:
            self._try()
        except ApiException as error:
            log.warning("lease %s: %s %s", self.config.name, error.status, error.reason)
        except Exception as error:  # network errors: we simply do not renew
            log.warning("lease %s: %s", self.config.name, error)
        return self.leading

    def _try(self) -> None:
        cfg = self.config
        try:
            lease = self.api.read_namespaced_lease(cfg.name, cfg.namespace)
        except ApiException as error:
            if error.status != 404:
                raise
            self.api.create_namespaced_lease(cfg.namespace, self._body(transitions=0))
            self._won()
            return
        spec = lease.spec or client.V1LeaseSpec()
        record = (spec.holder_identity, spec.renew_time, spec.lease_transitions)
        now = time.monotonic()
        if record != self._observed:
            self._observed, self._observed_at = record, now
        holder = spec.holder_identity
        expired = now - self._observed_at > (spec.lease_duration_seconds or cfg.duration)
        if holder and holder != self.identity and not expired:
            self._last_renew = 0.0  # someone else leads
            return
        transitions = (spec.lease_transitions or 0) + (0 if holder == self.identity else 1)
        version = (lease.metadata or client.V1ObjectMeta()).resource_version
        body = self._body(
            transitions,
            acquired=spec.acquire_time if holder == self.identity else None,
            resource_version=version,
        )
        self.api.replace_namespaced_lease(cfg.name, cfg.namespace, body)  # 409 if someone won
        if holder != self.identity:
            log.info("lease %s acquired by %s (was %s)", cfg.name, self.identity, holder)
        self._won()

    def _won(self) -> None:
        self._last_renew = time.monotonic()

    def _body(
        self,
        transitions: int,
        acquired: dt.datetime | None = None,
        resource_version: str | None = None,
    ) -> client.V1Lease:
        now = _now_micro()
        return client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.config.name,
                namespace=self.config.namespace,
                resource_version=resource_version,
            ),
            spec=client.V1LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=int(self.config.duration),
                acquire_time=acquired or now,
                renew_time=now,
                lease_transitions=transitions,
            ),
        )

    def release(self) -> None:
        """On a clean shutdown, hand over at once instead of making others wait for expiry."""
        if not self.leading:
            return
        self._last_renew = 0.0
        try:
            lease = self.api.read_namespaced_lease(self.config.name, self.config.namespace)
            if lease.spec is not None and lease.spec.holder_identity == self.identity:
                lease.spec.holder_identity = None
                lease.spec.lease_duration_seconds = 1
                self.api.replace_namespaced_lease(self.config.name, self.config.namespace, lease)
        except Exception as error:
            log.warning("lease %s not released: %s", self.config.name, error)
