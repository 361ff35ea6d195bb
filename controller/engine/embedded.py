"""The embedded engine: regopy (rego-cpp), isolated in a long-lived worker process.

Why a worker process: rego-cpp can kill the whole process (SIGSEGV/SIGABRT) on some policies
and inputs (engines.md; e.g. `with input as {...}` aborts at compile, deeply nested input
segfaults at evaluation). The operator and the webhook must survive that and must never admit
because of it. So the parent process never imports regopy: a spawned child holds an
Interpreter with the bundle compiled once (`build` + `query_bundle_entrypoint`), the parent
sends the input as JSON over a socket pair and gets the output text back. The child is a plain
`subprocess` running `regopy_worker.py` (not multiprocessing's spawn, which re-imports the
caller's `__main__` and so depends on how the operator or CLI was started).

- the child dies during a call  -> PolicyError ("crashed the embedded engine (signal N)"), and
  the next call starts a fresh child (the crash may depend on the input);
- the child does not answer within `timeout` -> it is killed, EngineUnavailable;
- loading compiles and smoke-evaluates the bundle in the child, so a module that does not
  compile (or crashes rego-cpp) is reported at load as PolicyError with rego-cpp's message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.domain.contract import resolve_contract
from controller.domain.decision import RawViolation
from controller.domain.model import API_VERSION
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import PolicyBundle, refuse_forbidden, violations_from_result
from controller.engine.protocol import (
    ENTRYPOINT_PATH,
    EngineUnavailable,
    PolicyError,
    encode_input,
)
from controller.engine.rego_errors import describe_rego_errors

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 2.0
DEFAULT_START_TIMEOUT_SECONDS = 60.0
_LOG_TAIL_BYTES = 2000


_WORKER_SCRIPT = Path(__file__).with_name("regopy_worker.py")


def _exit_reason(returncode: int | None) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"signal {-returncode}, {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


class _Worker:
    """One child process (regopy_worker.py) holding a compiled bundle."""

    def __init__(self, modules: Mapping[str, str], start_timeout: float) -> None:
        self.modules = dict(modules)
        # rego-cpp prints diagnostics on stdout/stderr: keep them out of the operator's
        # streams, but readable for error messages.
        self.log = tempfile.TemporaryFile(prefix="golive-regopy-")  # noqa: SIM115 (closed in stop)
        self.conn, child_conn = multiprocessing.Pipe(duplex=True)
        try:
            # -P: do not put controller/engine on sys.path (its modules are not for the child).
            self.process = subprocess.Popen(
                [sys.executable, "-P", str(_WORKER_SCRIPT), str(child_conn.fileno())],
                pass_fds=(child_conn.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=self.log,
                close_fds=True,
            )
        except OSError as error:
            self.conn.close()
            self.log.close()
            raise EngineUnavailable(f"the embedded engine could not start: {error}") from None
        finally:
            child_conn.close()
        try:
            setup = {"modules": self.modules, "entrypoint": ENTRYPOINT_PATH}
            self.conn.send_bytes(json.dumps(setup).encode("utf-8"))
            if not self.conn.poll(start_timeout):
                raise EngineUnavailable(
                    f"the embedded engine did not compile the policies within {start_timeout:g} s"
                )
            kind, text = json.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            reason, tail = self.exit_reason(), self.log_tail()
            self.stop()
            raise PolicyError(
                f"compiling the policies crashed the embedded engine ({reason}); "
                f"rego-cpp said: {tail or 'nothing'}"
            ) from None
        except BaseException:
            self.stop()
            raise
        if kind != "ready":
            self.stop()
            raise PolicyError(
                f"the policies do not compile: {describe_rego_errors(text, self.modules)}"
            )

    def exit_reason(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1.0)
        return _exit_reason(self.process.returncode)

    def log_tail(self) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - _LOG_TAIL_BYTES))
            text = self.log.read().decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""
        return " ".join(text.split())

    def request(self, payload: bytes, timeout: float) -> tuple[str, str]:
        """Send one input; raises EOFError/OSError if the child is gone, TimeoutError."""
        self.conn.send_bytes(payload)
        if not self.conn.poll(timeout):
            raise TimeoutError
        kind, text = json.loads(self.conn.recv_bytes())
        return str(kind), str(text)

    def stop(self, graceful: bool = True) -> None:
        if graceful and self.process.poll() is None:
            try:
                self.conn.send_bytes(b"")
                self.process.wait(timeout=1.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5.0)
        self.conn.close()
        self.log.close()


def _smoke_inputs() -> list[dict[str, Any]]:
    """Two inputs every library must evaluate without error: an empty spec and a full one."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    context = PolicyContext(Operation.CHECK, now)
    empty = {
        "apiVersion": API_VERSION,
        "kind": "AgentDeployment",
        "metadata": {"name": "golive-smoke", "namespace": "golive-smoke"},
        "spec": {},
    }
    full = dict(
        empty,
        spec={
            "owner": {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"},
            "scope": {
                "process": "smoke",
                "inputFormat": "application/pdf",
                "outputFormat": "application/json",
            },
            "contractRef": {"name": "smoke-v1"},
            "fallback": {"mode": "human-review", "target": "queue/smoke", "timeoutSeconds": 30},
            "budget": {
                "currency": "USD",
                "monthlyLimit": "4000",
                "costPerRequest": "0.0004",
                "expectedDailyRequests": 2000,
            },
            "monitoring": {
                "metricsPath": "/metrics",
                "dashboard": "https://grafana.example.com/d/x",
                "alerts": ["SmokeErrorRate"],
            },
            "governance": {
                "regulated": True,
                "domain": "finance",
                "reviewCadence": "weekly",
                "approvals": [
                    {
                        "name": "Lee Park",
                        "email": "lee.park@example.com",
                        "role": "compliance",
                        "at": "2025-12-20",
                    }
                ],
            },
            "replicas": 1,
            "template": {
                "metadata": {"labels": {"app": "smoke"}},
                "spec": {"containers": [{"name": "agent", "image": "example/agent:1"}]},
            },
        },
    )
    return [
        build_policy_input(empty, resolve_contract(None, None), [], context),
        build_policy_input(full, resolve_contract("smoke-v1", None), [], context),
    ]


class _Slot:
    """One worker process and the lock that serializes its calls."""

    def __init__(self, bundle: PolicyBundle, timeout: float, start_timeout: float) -> None:
        self.bundle = bundle
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.lock = threading.Lock()
        self.worker: _Worker | None = _Worker(bundle.modules, start_timeout)

    def evaluate_locked(self, payload: bytes) -> list[RawViolation]:
        if self.worker is None:
            # A previous call crashed or timed out: start a fresh worker for this one.
            self.worker = _Worker(self.bundle.modules, self.start_timeout)
        worker = self.worker
        try:
            kind, text = worker.request(payload, self.timeout)
        except TimeoutError:
            self.stop_locked(graceful=False)
            raise EngineUnavailable(
                f"the embedded engine did not answer within {self.timeout:g} s; "
                "its worker was stopped and will be restarted"
            ) from None
        except (EOFError, OSError):
            reason, tail = worker.exit_reason(), worker.log_tail()
            self.stop_locked()
            log.warning("regopy worker died (%s); output: %s", reason, tail)
            raise PolicyError(
                f"policy evaluation crashed the embedded engine ({reason}); the decision is "
                f"unknown and a fresh worker will serve the next call. rego-cpp said: "
                f"{tail or 'nothing'}"
            ) from None
        if kind != "ok":
            raise PolicyError(
                f"policy evaluation failed: {describe_rego_errors(text, self.bundle.modules)}"
            )
        try:
            output = json.loads(text) if text != "undefined" else {}
        except json.JSONDecodeError:
            raise PolicyError(
                "policy evaluation returned an error term: "
                f"{describe_rego_errors(text, self.bundle.modules)}"
            ) from None
        expressions = output.get("expressions") if isinstance(output, dict) else None
        if not isinstance(expressions, list) or len(expressions) != 1:
            raise PolicyError(f"the entry point is undefined or ambiguous: {text[:300]}")
        return violations_from_result(expressions[0])

    def stop_locked(self, graceful: bool = True) -> None:
        if self.worker is not None:
            self.worker.stop(graceful)
            self.worker = None


class EmbeddedEngine:
    """regopy in worker processes. Thread-safe: each worker serves one call at a time, and a
    call takes whichever worker is free, so `workers` decisions run in parallel (rego-cpp is
    CPU-bound: one worker per core is the useful size)."""

    name = "embedded"

    def __init__(
        self,
        bundle: PolicyBundle,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        start_timeout: float = DEFAULT_START_TIMEOUT_SECONDS,
        workers: int = 1,
    ) -> None:
        """Compile and smoke-evaluate `bundle` in fresh workers; raises PolicyError if it
        does not compile, crashes, or returns malformed entries, EngineUnavailable if a
        worker cannot start in time."""
        refuse_forbidden(bundle.modules)
        if workers < 1:
            raise ValueError(f"workers: expected at least 1, got {workers}")
        self.bundle = bundle
        self.digest = bundle.digest
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._closed = False
        self._slots: list[_Slot] = []
        self._free: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        try:
            for _ in range(workers):
                slot = _Slot(bundle, timeout, start_timeout)
                self._slots.append(slot)
                for smoke_input in _smoke_inputs():
                    slot.evaluate_locked(encode_input(smoke_input))
        except PolicyError as error:
            self._stop_all()
            raise PolicyError(f"smoke evaluation failed: {error}") from None
        except BaseException:
            self._stop_all()
            raise
        for slot in self._slots:
            self._free.put(slot)

    @property
    def workers(self) -> int:
        return len(self._slots)

    def evaluate(self, policy_input: Mapping[str, Any]) -> list[RawViolation]:
        payload = encode_input(policy_input)
        if self._closed:
            raise EngineUnavailable("the embedded engine is closed")
        slot = self._free.get()
        try:
            with slot.lock:
                if self._closed:
                    raise EngineUnavailable("the embedded engine is closed")
                return slot.evaluate_locked(payload)
        finally:
            self._free.put(slot)

    def _stop_all(self) -> None:
        for slot in self._slots:
            with slot.lock:
                slot.stop_locked()

    def close(self) -> None:
        self._closed = True
        self._stop_all()

    def __enter__(self) -> EmbeddedEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def measure_latency(engine: EmbeddedEngine, policy_input: Mapping[str, Any], calls: int) -> float:
    """Mean seconds per evaluate() call (IPC included); for benchmarks and `golive` diagnostics."""
    start = time.perf_counter()
    for _ in range(calls):
        engine.evaluate(policy_input)
    return (time.perf_counter() - start) / calls
