"""A Namespace's labels are policy input (Pod Security levels): a change re-decides its agents."""

from __future__ import annotations

import asyncio
from typing import Any

from controller.operator.handlers import namespace_event
from tests.unit.test_alert_rules import FakeRuntime, Memo, put_agents, queued

ENFORCE = "pod-security.kubernetes.io/enforce"


def namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def send(rt: FakeRuntime, body: dict[str, Any], type_: str = "MODIFIED") -> None:
    event = {"type": type_, "object": body}
    asyncio.run(namespace_event(event, body, Memo(rt)))  # type: ignore[arg-type]


def test_a_label_change_queues_the_agents_of_that_namespace_only() -> None:
    rt = FakeRuntime()
    put_agents(rt)  # agents/a, agents/quiet, other/b
    send(rt, namespace("agents", {ENFORCE: "baseline"}), "ADDED")
    assert rt.state.namespace_labels["agents"] == {ENFORCE: "baseline"}
    assert queued(rt) == {("agents", "a"), ("agents", "quiet")}


def test_an_event_that_changes_no_label_queues_nothing() -> None:
    rt = FakeRuntime()
    put_agents(rt)
    rt.state.namespace_labels["agents"] = {ENFORCE: "baseline"}
    send(rt, namespace("agents", {ENFORCE: "baseline"}))
    assert queued(rt) == set()
    send(rt, namespace("agents", {ENFORCE: "restricted"}))
    assert queued(rt) == {("agents", "a"), ("agents", "quiet")}


def test_a_deleted_namespace_forgets_its_labels() -> None:
    rt = FakeRuntime()
    put_agents(rt)
    rt.state.namespace_labels["other"] = {ENFORCE: "restricted"}
    send(rt, namespace("other", {ENFORCE: "restricted"}), "DELETED")
    assert "other" not in rt.state.namespace_labels and queued(rt) == {("other", "b")}
