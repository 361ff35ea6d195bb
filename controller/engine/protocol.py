"""The one interface every policy engine keeps: embedded (OPA in-process), remote (OPA
server); the unit tests add a fake (tests/unit/fake_engine.py).

Thread safety: the operator and the webhook call `evaluate` through `asyncio.to_thread`, so
several threads may call it at once; every implementation must be safe for that (a lock is
enough). `evaluate` never returns partial results: it returns all violations or raises.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from controller.domain.decision import RawViolation

ENTRYPOINT_PACKAGE = "golive_entrypoint"
ENTRYPOINT_RULE = "violations"


class EngineError(Exception):
    """Base of the two ways an evaluation can fail; both give a decision `unknown`."""


class EngineUnavailable(EngineError):
    """The engine could not answer: unreachable, past its deadline, or not built."""


class PolicyError(EngineError):
    """The policies cannot be used: a module does not compile, is refused (refused builtin,
    missing METADATA), fails at evaluation, returns malformed entries or panicked the engine."""


class Engine(Protocol):
    name: str  # "embedded" | "remote": shown in status.policy.engine
    digest: str  # "sha256:..." of the loaded bundle: shown in status.policy.digest

    def evaluate(self, policy_input: Mapping[str, Any]) -> list[RawViolation]:
        """All entries of data.golive_entrypoint.violations, sorted; raises EngineError."""
        ...

    def close(self) -> None:
        """Release the prepared query / HTTP session. Idempotent."""
        ...


def encode_input(policy_input: Mapping[str, Any]) -> bytes:
    """The input as strict JSON, the same for every engine (no NaN/Infinity, which JSON cannot
    carry and OPA would refuse). Raises PolicyError naming the problem."""
    try:
        return json.dumps(policy_input, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as error:
        raise PolicyError(f"the policy input cannot be written as JSON: {error}") from None
