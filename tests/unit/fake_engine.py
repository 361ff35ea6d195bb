"""A scripted engine for the unit tests of the operator, the webhook and the decision path."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from controller.domain.decision import RawViolation
from controller.engine.protocol import EngineError


class FakeEngine:
    """Returns the configured violations, or raises the configured error, and records inputs."""

    def __init__(
        self,
        violations: Iterable[RawViolation] = (),
        error: EngineError | None = None,
        *,
        name: str = "fake",
        digest: str = "sha256:fake",
    ) -> None:
        self.name = name
        self.digest = digest
        self.violations = list(violations)
        self.error = error
        self.inputs: list[Mapping[str, Any]] = []
        self.closed = False
        self._lock = threading.Lock()

    def evaluate(self, policy_input: Mapping[str, Any]) -> list[RawViolation]:
        with self._lock:
            self.inputs.append(policy_input)
            if self.error is not None:
                raise self.error
            return sorted(set(self.violations))

    def close(self) -> None:
        self.closed = True
