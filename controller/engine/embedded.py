"""The embedded engine: OPA's own evaluator in this process (controller/engine/libopa.py).

The bundle is compiled once into a prepared query for `data.golive_entrypoint.violations`, in
golive's sandbox (OPA capabilities without network, environment or random builtins); each
decision evaluates it on the input's JSON text with a deadline, with the GIL released.

Failure modes, all closed (never an admit):
- a module does not compile or uses a refused builtin -> PolicyError at load, naming
  module:row:col and the builtin;
- evaluation past its deadline -> EngineUnavailable (the decision is Unknown, retried);
- an evaluation error or a recovered Go panic -> PolicyError;
- a fatal Go runtime error (out of memory, a crash in cgo) ends the whole process: the webhook
  then fails (failurePolicy Fail denies) and the reconcile gate writes nothing until the
  operator restarts, so nothing is admitted by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from controller.domain.decision import RawViolation
from controller.engine import libopa
from controller.engine.bundle import (
    ENTRYPOINT_QUERY,
    PolicyBundle,
    entrypoint_value,
    violations_from_result,
)
from controller.engine.protocol import PolicyError, encode_input

DEFAULT_TIMEOUT_SECONDS = 2.0


def evaluation_time_ns(policy_input: Mapping[str, Any]) -> int:
    """What time.now_ns() answers: golive's decision time, `input.context.now`.

    The remote engine gives OPA the same moment (the generated entry point's
    `violations_at_decision_time`), so both engines agree, and `golive check --at`, the webhook
    and the reconcile gate each decide as of their own `now`. Without it the decision fails on
    both engines alike rather than silently using the wall clock.
    """
    context = policy_input.get("context")
    now = context.get("now") if isinstance(context, Mapping) else None
    try:
        moment = datetime.fromisoformat(now) if isinstance(now, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PolicyError(f"input.context.now: expected an RFC 3339 time, found {now!r}")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


class EmbeddedEngine:
    """OPA in-process. Thread-safe: OPA's prepared queries serve concurrent evaluations."""

    name = "embedded"

    def __init__(self, bundle: PolicyBundle, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        """Compile `bundle`; raises PolicyError if it does not compile or is refused,
        EngineUnavailable if the library is missing."""
        self.bundle = bundle
        self.digest = bundle.digest
        self.timeout = timeout
        self._query = libopa.PreparedQuery(bundle.modules, ENTRYPOINT_QUERY)

    def evaluate(self, policy_input: Mapping[str, Any]) -> list[RawViolation]:
        now_ns = evaluation_time_ns(policy_input)
        result = self._query.evaluate(encode_input(policy_input), now_ns, self.timeout)
        return violations_from_result(entrypoint_value(result))

    def close(self) -> None:
        self._query.close()

    def __enter__(self) -> EmbeddedEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
