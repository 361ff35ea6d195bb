"""Keep one OpenReports Report per AgentDeployment, when the cluster serves Reports.

The reconcile gate calls `sync` after it wrote the status. The Report is built by
controller/domain/report.py and written (server-side apply) only when it differs from what was
last written or seen: the records of golive's Reports come from one list at start (before any
decision, so a restart rewrites nothing) and from a watch of them (kopf), which also repairs a
Report someone deleted. Whether Reports are served is asked at start and followed through the
watch of CustomResourceDefinitions, so a CRD installed later is used without a restart; without
it nothing is written and nothing fails.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from controller.domain.api import MANAGED_BY, MANAGED_BY_LABEL
from controller.domain.decision import Decision
from controller.domain.model import AgentDeployment
from controller.domain.policy_metadata import PolicyInfo
from controller.domain.report import (
    ReportRecord,
    build_report,
    record_of,
    report_agent,
    report_changed,
    report_name,
)
from controller.k8s.api import KubeIO
from controller.operator import metrics

log = logging.getLogger("golive.reports")

Key = tuple[str, str]
SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"


class ReportWriter:
    def __init__(self, kube: KubeIO, cluster: str = "") -> None:
        self.kube = kube
        self.cluster = cluster  # --cluster-name: labelled on every Report
        # Whether the cluster serves reports.openreports.io (discovery, then the CRD watch).
        self.served = False
        # The last written or seen Report of each agent, compactly (domain/report.py).
        self.records: dict[Key, ReportRecord] = {}
        self._refused = False  # a 403 is logged once, not on every agent

    async def sync(
        self,
        agent: AgentDeployment,
        decision: Decision,
        policies: Mapping[str, PolicyInfo],
        digest: str,
        now: datetime,
        fence: Callable[[], None],
    ) -> bool:
        """Write the agent's Report if it changed; True when it was written.

        policies, digest: the loaded library's METADATA and digest. A decision made under
        another library (it was reloaded meanwhile) writes nothing: the reload decides every
        agent again. fence: raises when this replica may no longer write.
        """
        if not self.served or decision.digest != digest:
            return False
        key = (agent.namespace, agent.name)
        previous = self.records.get(key)
        body = build_report(agent, decision, policies, previous, now, self.cluster)
        if body is None or not report_changed(previous, body):
            return False
        fence()
        # Recorded before the write: its watch echo must be recognised as ours.
        self.records[key] = record_of(body)
        try:
            await asyncio.to_thread(self.kube.apply_report, body)
        except ApiException as error:
            if previous is None:
                self.records.pop(key, None)
            else:
                self.records[key] = previous
            if error.status == 404:
                # The CRD went before its watch said so (the watch turns `served` off), or the
                # namespace is being deleted with the agent: nothing to write either way.
                log.info("%s/%s: Report not written: %s", *key, error.reason)
                return False
            if error.status == 403:
                if not self._refused:
                    log.warning(
                        "OpenReports Reports are not written: %s (the chart's ClusterRole "
                        "grants list, watch, create and patch on reports.openreports.io)",
                        error.reason,
                    )
                    self._refused = True
                return False
            raise
        metrics.REPORT_WRITES.inc()
        return True

    def set_served(self, served: bool) -> bool:
        """True when that changed; Reports go with their CRD, and so do the records."""
        if served == self.served:
            return False
        self.served = served
        self.records.clear()
        self._refused = False
        return True

    def prime(self, reports: list[dict[str, Any]]) -> None:
        """Records from a list of golive's Reports (at start)."""
        for report in reports:
            key = report_agent(report)
            if key is not None:
                self.records[key] = record_of(report)

    def seen(self, report: Mapping[str, Any], agent: AgentDeployment | None) -> None:
        """A Report event (not a deletion): record it if it is the agent's current Report (an
        older agent's of the same name waits for garbage collection)."""
        key = report_agent(report)
        name = (report.get("metadata") or {}).get("name")
        if key is not None and agent is not None and name == report_name(agent):
            self.records[key] = record_of(report)

    def deleted(self, report: Mapping[str, Any]) -> Key | None:
        """A Report was deleted: the key of the agent whose current Report it was (to be written
        again if the agent is still there), else None."""
        key = report_agent(report)
        record = self.records.get(key) if key is not None else None
        if (
            key is None
            or record is None
            or record.name != (report.get("metadata") or {}).get("name")
        ):
            return None
        del self.records[key]
        return key

    def forget(self, key: Key) -> None:
        """The agent is gone (its Report goes with it, by its ownerReference)."""
        self.records.pop(key, None)


async def discover_reports(writer: ReportWriter, kube: KubeIO) -> None:
    """Before any decision: are Reports served, and which of golive's exist (their records)?
    Unanswered, nothing is written until the CRD watch reports the CRD (it lists every CRD
    when it starts)."""
    try:
        reports = await asyncio.to_thread(kube.list_reports, SELECTOR)
    except Exception as error:
        log.warning("cannot list OpenReports Reports yet (%s); the CRD watch decides", error)
        return
    writer.set_served(reports is not None)
    writer.prime(reports or [])
    log.info(
        "OpenReports CRD %s",
        f"found: one Report per agent ({len(reports)} of golive's exist)"
        if reports is not None
        else "not found: no Reports are written",
    )
