"""Events the way client-go's EventRecorder writes them (k8s.io/client-go/tools/record).

The reconcile gate only *records* an event (a put on a bounded queue, never a wait on the API
server); sender threads write them, as client-go's broadcaster does with one goroutine per
sink (four here, see SENDERS). So the decision rate is bound by the status patches and
Deployment applies, not by event writes, and a slow or failing events endpoint delays no
decision. Events are what Kubernetes makes them: best effort, shown a moment after the status
that caused them.

Before a write, `EventCorrelator` applies client-go's semantics (events_cache.go, same defaults):
- aggregation: more than 9 events of one object, type and reason with *different* messages in
  600 s are written as one event, "(combined from similar events): <latest message>";
- correlation: an event equal to an earlier one (object, type, reason, message) is not created
  again; the earlier one is patched with `count` + 1 and a new `lastTimestamp`;
- spam filter: per object and type, a token bucket of 25 events refilled at 1 per 300 s; an
  event beyond it is dropped;
- the caches of all three are LRUs of 4,096 keys;
- retries: an event whose write fails in transport is tried up to 12 times, 10 s apart (the
  first wait randomised); one the API server refuses (any HTTP status) is not retried; a patch
  of an event that no longer exists (404) creates it anew.
The queues hold at most 1,000 events in all (client-go's maxQueuedEvents); a record beyond it
is dropped and counted, as client-go's broadcaster drops when its channel is full. Four sender
threads share the writes, each agent's events always on the same one (in order). The status is
the record of every decision; events tell people about transitions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("golive.events")

MAX_QUEUED_EVENTS = 1000
# client-go writes from one goroutine; one Python thread through the kubernetes client writes
# ~20-40 events/s on a busy 2-core machine (the API server's round trip, not its CPU, bounds
# it), and a policy change that blocks 1,000 agents queues 1,000 at once: 4 threads keep up.
SENDERS = 4
MAX_TRIES_PER_EVENT = 12
RETRY_SLEEP_S = 10.0
LRU_ENTRIES = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL_S = 600.0
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
COMBINED_PREFIX = "(combined from similar events): "


class _LRU(OrderedDict[bytes, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_recent(self, key: bytes) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: bytes, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass
class Event:
    """One event about one object, as the recorder is asked for it (not yet correlated)."""

    involved: dict[str, Any]  # involvedObject: apiVersion, kind, name, namespace, uid[, rv]
    type: str
    reason: str
    message: str
    component: str
    instance: str

    def _object_key(self) -> str:
        o = self.involved
        return "\x00".join(
            str(o.get(k) or "") for k in ("kind", "namespace", "name", "uid", "apiVersion")
        )

    def event_key(self) -> bytes:
        """client-go getEventKey: source, object, type, reason, message."""
        return _digest(
            self.component, self.instance, self._object_key(), self.type, self.reason, self.message
        )

    def spam_key(self) -> bytes:
        """client-go getSpamKey: source, object, type."""
        return _digest(self.component, self.instance, self._object_key(), self.type)

    def aggregate_key(self) -> bytes:
        """client-go EventAggregatorByReasonFunc: everything but the message."""
        return _digest(self.component, self.instance, self._object_key(), self.type, self.reason)


def _digest(*parts: str) -> bytes:
    """The caches keep 16-byte digests of their keys, not the keys: client-go's keys hold the
    whole message: 3 LRUs of 4,096 took 6.9 MB with them, 4.8 MB with digests (tracemalloc)."""
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).digest()


@dataclass
class Correlated:
    """What to write: a new Event (name, count 1) or a patch of an earlier one (count > 1)."""

    event: Event
    name: str
    count: int
    first_at: float
    key: bytes  # the correlation key the write's outcome is remembered under


@dataclass(slots=True)
class _Seen:
    count: int
    first_at: float
    name: str


class EventCorrelator:
    """client-go's EventCorrelator (aggregator, logger, spam filter), on a caller's clock.
    Not thread-safe: the recorder calls it under a lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._aggregates = _LRU(LRU_ENTRIES)  # aggregate key -> (message set, last seen)
        self._seen = _LRU(LRU_ENTRIES)  # event key -> _Seen
        self._buckets = _LRU(LRU_ENTRIES)  # spam key -> [tokens, last refill]

    def _aggregate(self, event: Event) -> tuple[Event, bytes]:
        now = self.clock()
        key = event.aggregate_key()
        record = self._aggregates.get_recent(key)
        if record is None or now - record[1] > AGGREGATE_INTERVAL_S:
            record = (set(), now)
        messages: set[bytes] = record[0]
        messages.add(_digest(event.message))
        self._aggregates.put(key, (messages, now))
        if len(messages) < AGGREGATE_MAX_EVENTS:
            return event, event.event_key()
        messages.pop()  # as client-go's PopAny: the set stays at the limit
        combined = Event(
            involved=event.involved,
            type=event.type,
            reason=event.reason,
            message=COMBINED_PREFIX + event.message,
            component=event.component,
            instance=event.instance,
        )
        return combined, key

    def _allowed(self, event: Event) -> bool:
        now = self.clock()
        key = event.spam_key()
        bucket: list[float] = self._buckets.get_recent(key) or [float(SPAM_BURST), now]
        tokens = min(float(SPAM_BURST), bucket[0] + (now - bucket[1]) * SPAM_QPS)
        allowed: bool = tokens >= 1.0
        self._buckets.put(key, [tokens - 1.0 if allowed else tokens, now])
        return allowed

    def correlate(self, event: Event) -> Correlated | None:
        """The write to make, or None when the spam filter drops the event."""
        event, key = self._aggregate(event)
        seen = self._seen.get_recent(key)
        if seen is not None:
            result = Correlated(event, seen.name, seen.count + 1, seen.first_at, key)
        else:
            name = f"{event.involved.get('name')}.{time.time_ns():x}"
            result = Correlated(event, name, 1, self.clock(), key)
        self._seen.put(key, _Seen(result.count, result.first_at, result.name))
        if not self._allowed(result.event):
            return None
        return result

    def written(self, result: Correlated, name: str) -> None:
        """The API server stored it under `name` (a create after a lost one may rename it)."""
        self._seen.put(result.key, _Seen(result.count, result.first_at, name))


class WriteRefused(Exception):
    """The API server answered with an error status: client-go does not retry these."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status


# The sink: create(namespace, body) and patch(namespace, name, body); each raises WriteRefused
# for an HTTP error status and anything else (OSError, urllib3 errors) for a transport failure.
Create = Callable[[str, dict[str, Any]], None]
Patch = Callable[[str, str, dict[str, Any]], None]


def _timestamp(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_body(result: Correlated, now: float) -> dict[str, Any]:
    e = result.event
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": result.name, "namespace": e.involved.get("namespace")},
        "involvedObject": {k: v for k, v in e.involved.items() if v is not None},
        "type": e.type,
        "reason": e.reason,
        "message": e.message[:1024],
        "firstTimestamp": _timestamp(result.first_at),
        "lastTimestamp": _timestamp(now),
        "count": result.count,
        "source": {"component": e.component},
        "reportingComponent": e.component,
        "reportingInstance": e.instance,
    }


class EventRecorder:
    """Queue events and write them from a few threads (see the module's docstring): each agent's
    events go to one of them (by a hash of the object), so one agent's events are written in
    order, one at a time, as client-go's single goroutine writes them.

    on_outcome(result) is called once per recorded event with one of: created, patched,
    dropped (queue full), filtered (spam filter), refused (an HTTP error), failed (retries
    exhausted)."""

    def __init__(
        self,
        create: Create,
        patch: Patch,
        *,
        max_queued: int = MAX_QUEUED_EVENTS,
        senders: int = SENDERS,
        retry_sleep: float = RETRY_SLEEP_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._create = create
        self._patch = patch
        self._queues: list[queue.Queue[Event]] = [
            queue.Queue(max(1, max_queued // senders)) for _ in range(senders)
        ]
        self._retry_sleep = retry_sleep
        self._clock = clock
        self.correlator = EventCorrelator(clock)
        self._correlating = threading.Lock()
        self.on_outcome: Callable[[str], None] = lambda _outcome: None
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._pending = 0  # recorded and not yet written or given up (for flush)
        self._idle = threading.Condition(self._lock)

    def record(self, event: Event) -> bool:
        """Queue an event; never blocks. False (and counted) when the queue is full."""
        with self._lock:
            if not self._threads:
                for index, q in enumerate(self._queues):
                    thread = threading.Thread(
                        target=self._run, args=(q,), name=f"golive-events-{index}", daemon=True
                    )
                    thread.start()
                    self._threads.append(thread)
            q = self._queues[hash(event.spam_key()) % len(self._queues)]
            try:
                q.put_nowait(event)
            except queue.Full:
                dropped = True
            else:
                dropped = False
                self._pending += 1
        if dropped:
            log.warning(
                "event %s for %s/%s dropped: %d events already queued",
                event.reason,
                event.involved.get("namespace"),
                event.involved.get("name"),
                sum(q.maxsize for q in self._queues),
            )
            self.on_outcome("dropped")
        return not dropped

    def flush(self, timeout: float) -> bool:
        """Wait until every queued event is written or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _run(self, q: queue.Queue[Event]) -> None:
        while True:
            event = q.get()
            try:
                self.on_outcome(self._send(event))
            except Exception:  # the sender never dies
                log.exception("event %s not recorded", event.reason)
                self.on_outcome("failed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _send(self, event: Event) -> str:
        with self._correlating:
            result = self.correlator.correlate(event)
        if result is None:
            return "filtered"
        namespace = str(event.involved.get("namespace") or "default")
        for tries in range(1, MAX_TRIES_PER_EVENT + 1):
            try:
                return self._write(namespace, result)
            except WriteRefused as error:
                log.warning(
                    "event %s for %s/%s refused (not retried): %s",
                    event.reason,
                    namespace,
                    event.involved.get("name"),
                    error,
                )
                return "refused"
            except Exception as error:  # transport: retried, as client-go does
                if tries == MAX_TRIES_PER_EVENT:
                    log.error("event %s not written after %d tries: %s", event.reason, tries, error)
                    break
                delay = self._retry_sleep * (random.random() if tries == 1 else 1.0)
                log.warning("event %s not written (%s); retry in %.1fs", event.reason, error, delay)
                time.sleep(delay)
        return "failed"

    def _write(self, namespace: str, result: Correlated) -> str:
        body = event_body(result, self._clock())
        if result.count > 1:
            try:
                self._patch(
                    namespace,
                    result.name,
                    {k: body[k] for k in ("count", "lastTimestamp", "message")},
                )
                return "patched"
            except WriteRefused as error:
                if error.status != 404:
                    raise
                # The earlier event is gone (events expire after an hour): create it anew.
        self._create(namespace, body)
        with self._correlating:
            self.correlator.written(result, result.name)
        return "created"


def involved_object(obj: Mapping[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
    }
