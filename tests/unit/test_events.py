"""The event recorder: client-go's correlation, aggregation and spam filter, off the caller's
path (controller/k8s/events.py). Real recorder and thread; the sink records the requests."""

from __future__ import annotations

import threading
from typing import Any

from controller.k8s.events import (
    AGGREGATE_MAX_EVENTS,
    COMBINED_PREFIX,
    SPAM_BURST,
    SPAM_QPS,
    Event,
    EventCorrelator,
    EventRecorder,
    WriteRefused,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def event(
    name: str = "agent-a",
    reason: str = "Blocked",
    message: str = "no owner",
    type_: str = "Warning",
) -> Event:
    return Event(
        involved={
            "apiVersion": "golive.dev/v1alpha1",
            "kind": "AgentDeployment",
            "name": name,
            "namespace": "agents",
            "uid": f"uid-{name}",
        },
        type=type_,
        reason=reason,
        message=message,
        component="golive-operator",
        instance="pod-0",
    )


class Sink:
    def __init__(self, refuse: int | None = None, transport_failures: int = 0) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []
        self.patched: list[tuple[str, str, dict[str, Any]]] = []
        self.refuse = refuse
        self.transport_failures = transport_failures
        self.gate = threading.Event()
        self.gate.set()

    def create(self, namespace: str, body: dict[str, Any]) -> None:
        self.gate.wait(10)
        if self.transport_failures:
            self.transport_failures -= 1
            raise ConnectionResetError("reset by peer")
        if self.refuse is not None:
            raise WriteRefused(self.refuse, "Forbidden")
        self.created.append((namespace, body))

    def patch(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        if not any(b["metadata"]["name"] == name for _, b in self.created):
            raise WriteRefused(404, "Not Found")
        self.patched.append((namespace, name, body))


def recorder(sink: Sink, clock: Clock | None = None, **kw: Any) -> tuple[EventRecorder, list[str]]:
    outcomes: list[str] = []
    rec = EventRecorder(sink.create, sink.patch, clock=clock or Clock(), **kw)
    rec.on_outcome = outcomes.append
    return rec, outcomes


def test_an_event_is_created_with_the_fields_kubectl_shows() -> None:
    sink = Sink()
    rec, outcomes = recorder(sink)
    assert rec.record(event())
    assert rec.flush(5)
    assert outcomes == ["created"]
    namespace, body = sink.created[0]
    assert namespace == "agents"
    assert body["metadata"]["name"].startswith("agent-a.")
    assert (body["type"], body["reason"], body["message"], body["count"]) == (
        "Warning",
        "Blocked",
        "no owner",
        1,
    )
    assert body["involvedObject"]["kind"] == "AgentDeployment"
    assert body["source"] == {"component": "golive-operator"}
    assert body["firstTimestamp"] == body["lastTimestamp"] == "2027-01-15T08:00:00Z"


def test_a_repeated_event_patches_the_count_of_the_first() -> None:
    sink, clock = Sink(), Clock()
    rec, outcomes = recorder(sink, clock)
    rec.record(event())
    rec.flush(5)
    clock.now += 60
    rec.record(event())
    rec.record(event(message="another message"))
    rec.flush(5)
    assert outcomes == ["created", "patched", "created"]
    first = sink.created[0][1]["metadata"]["name"]
    assert sink.patched == [
        (
            "agents",
            first,
            {"count": 2, "lastTimestamp": "2027-01-15T08:01:00Z", "message": "no owner"},
        )
    ]


def test_a_patch_of_an_expired_event_creates_it_again() -> None:
    sink = Sink()
    rec, outcomes = recorder(sink)
    rec.record(event())
    rec.flush(5)
    sink.created.clear()  # the API server let it expire
    rec.record(event())
    rec.flush(5)
    assert outcomes == ["created", "created"]
    assert sink.created[0][1]["count"] == 2


def test_ten_messages_of_one_reason_are_combined() -> None:
    sink = Sink()
    rec, _ = recorder(sink)
    for i in range(AGGREGATE_MAX_EVENTS + 2):
        rec.record(event(message=f"message {i}"))
    rec.flush(5)
    messages = [b["message"] for _, b in sink.created]
    assert messages[: AGGREGATE_MAX_EVENTS - 1] == [f"message {i}" for i in range(9)]
    # The tenth distinct message and later ones: one combined event, counted up.
    assert messages[AGGREGATE_MAX_EVENTS - 1] == COMBINED_PREFIX + "message 9"
    assert len(sink.created) == AGGREGATE_MAX_EVENTS
    assert [p[2]["message"] for p in sink.patched] == [
        COMBINED_PREFIX + "message 10",
        COMBINED_PREFIX + "message 11",
    ]


def test_the_spam_filter_allows_a_burst_per_object_then_one_per_five_minutes() -> None:
    clock = Clock()
    correlator = EventCorrelator(clock)
    kept = [correlator.correlate(event(reason=f"R{i}")) for i in range(SPAM_BURST + 3)]
    assert sum(k is not None for k in kept) == SPAM_BURST
    # Another object is not limited by the first one's bucket.
    assert correlator.correlate(event(name="agent-b")) is not None
    clock.now += 1 / SPAM_QPS
    assert correlator.correlate(event(reason="later")) is not None
    assert correlator.correlate(event(reason="later still")) is None


def test_recording_never_waits_for_the_api_server_and_a_full_queue_drops() -> None:
    sink = Sink()
    sink.gate.clear()  # the API server hangs
    rec, outcomes = recorder(sink, max_queued=3, senders=1)
    results = [rec.record(event(name=f"agent-{i}")) for i in range(6)]
    # One may already be taken by the sender thread; the queue holds three more.
    assert results.count(False) in (2, 3)
    assert outcomes.count("dropped") == results.count(False)
    sink.gate.set()
    assert rec.flush(5)
    assert len(sink.created) == results.count(True)


def test_one_agents_events_keep_their_order_across_senders() -> None:
    sink = Sink()
    rec, _ = recorder(sink, senders=4)
    for i in range(8):
        for name in ("agent-a", "agent-b", "agent-c"):
            rec.record(event(name=name, reason=f"R{i}"))
    assert rec.flush(5)
    for name in ("agent-a", "agent-b", "agent-c"):
        reasons = [b["reason"] for _, b in sink.created if b["involvedObject"]["name"] == name]
        assert reasons == [f"R{i}" for i in range(8)]


def test_a_refused_event_is_not_retried_a_transport_failure_is() -> None:
    sink = Sink(refuse=403)
    rec, outcomes = recorder(sink, retry_sleep=0.01)
    rec.record(event())
    rec.flush(5)
    assert outcomes == ["refused"] and sink.created == []

    sink = Sink(transport_failures=2)
    rec, outcomes = recorder(sink, retry_sleep=0.01)
    rec.record(event())
    assert rec.flush(5)
    assert outcomes == ["created"] and len(sink.created) == 1


def test_an_event_is_given_up_after_twelve_tries() -> None:
    sink = Sink(transport_failures=12)
    rec, outcomes = recorder(sink, retry_sleep=0.001)
    rec.record(event())
    assert rec.flush(5)
    assert outcomes == ["failed"] and sink.created == []
