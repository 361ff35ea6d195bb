"""ctypes binding to `_libopa`: OPA's own evaluator, built from libopa/ by setup.py.

Loaded once per process (one Go runtime per process). `ctypes.CDLL` releases the GIL for the
length of each call, so evaluations in several threads run on several cores. Every call passes
JSON text in and gets JSON text back; the Go side recovers its own panics and answers them as
errors, so a call never raises anything but the exceptions below.

Not fork-safe after loading: a child made with fork() and no exec() has no Go threads. golive
only starts children with subprocess (fork + exec), which is fine.
"""

from __future__ import annotations

import ctypes
import functools
import json
import sysconfig
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.engine.protocol import EngineUnavailable, PolicyError

LIBRARY_PATH = Path(__file__).with_name("_libopa" + str(sysconfig.get_config_var("EXT_SUFFIX")))


class LibraryError(PolicyError):
    """An error answered by the library: `code` says which kind (see libopa/main.go)."""

    def __init__(self, code: str, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


class EvaluationTimeout(EngineUnavailable):
    """The evaluation passed its deadline: no decision, never an admit."""


@functools.cache
def _library() -> ctypes.CDLL:
    if not LIBRARY_PATH.is_file():
        raise EngineUnavailable(
            f"the embedded engine's library {LIBRARY_PATH.name} is not built; install golive "
            "with `pip install .` (or `make venv` in a checkout), which builds it with Go"
        )
    try:
        lib = ctypes.CDLL(str(LIBRARY_PATH))
    except OSError as error:
        raise EngineUnavailable(
            f"the embedded engine's library cannot be loaded: {error}"
        ) from None
    for name in (
        "golive_opa_prepare",
        "golive_opa_inspect",
        "golive_opa_test",
        "golive_opa_explain",
    ):
        function = getattr(lib, name)
        function.argtypes = [ctypes.c_char_p]
        function.restype = ctypes.c_void_p
    lib.golive_opa_eval.argtypes = [
        ctypes.c_longlong,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_longlong,
        ctypes.c_longlong,
    ]
    lib.golive_opa_eval.restype = ctypes.c_void_p
    lib.golive_opa_release.argtypes = [ctypes.c_longlong]
    lib.golive_opa_release.restype = None
    lib.golive_opa_version.argtypes = []
    lib.golive_opa_version.restype = ctypes.c_void_p
    lib.golive_opa_free.argtypes = [ctypes.c_void_p]
    lib.golive_opa_free.restype = None
    return lib


def _take(pointer: int | None) -> bytes:
    """The C string the library returned, freed."""
    if not pointer:
        raise EngineUnavailable("the embedded engine returned nothing")
    lib = _library()
    try:
        return ctypes.string_at(pointer)
    finally:
        lib.golive_opa_free(pointer)


def _answer(pointer: int | None) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(_take(pointer))
    error = answer.get("error")
    if error is not None:
        code, message = str(error.get("code")), str(error.get("message"))
        if code == "timeout":
            raise EvaluationTimeout(message)
        raise LibraryError(code, message, list(error.get("errors") or []))
    return answer


def _request(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def version() -> str:
    return _take(_library().golive_opa_version()).decode("utf-8")


@dataclass(frozen=True)
class ModuleFacts:
    """A module as OPA's parser reads it."""

    package: str  # "golive.ownership.single_owner"
    rules: tuple[str, ...]  # rule names, in order of first appearance
    annotations: tuple[Mapping[str, Any], ...]  # METADATA blocks, as OPA reads them


def inspect(modules: Mapping[str, str]) -> dict[str, ModuleFacts]:
    """Parse modules with OPA's parser; raises LibraryError (code "compile") naming
    module:row:col for a module that does not parse."""
    answer = _answer(_library().golive_opa_inspect(_request(modules)))
    return {
        name: ModuleFacts(str(facts["package"]), tuple(facts["rules"]), tuple(facts["annotations"]))
        for name, facts in answer["modules"].items()
    }


class PreparedQuery:
    """A query compiled once against a set of modules; evaluated many times, from any thread."""

    def __init__(
        self,
        modules: Mapping[str, str],
        query: str,
        *,
        data: Mapping[str, Any] | None = None,
        sandbox: bool = True,
    ) -> None:
        """Raises LibraryError (code "compile") when a module does not compile or uses a
        builtin the sandbox refuses; the message names module:row:col."""
        request: dict[str, Any] = {"modules": dict(modules), "query": query, "sandbox": sandbox}
        if data is not None:
            request["data"] = dict(data)
        self._lib = _library()
        self._handle: int | None = int(
            _answer(self._lib.golive_opa_prepare(_request(request)))["handle"]
        )
        self._lock = threading.Lock()

    def evaluate(self, input_json: bytes | None, now_ns: int, timeout: float) -> list[Any]:
        """The result set (as `opa eval` prints it) for one input given as JSON text.

        now_ns: what time.now_ns() answers. timeout: seconds; past it EvaluationTimeout.
        Raises LibraryError for evaluation errors (code "eval", "input", "panic").
        """
        handle = self._handle
        if handle is None:
            raise EngineUnavailable("the embedded engine is closed")
        text = input_json or b""
        pointer = self._lib.golive_opa_eval(
            handle, text, len(text), now_ns, max(1, int(timeout * 1e9))
        )
        result: list[Any] = _answer(pointer)["result"]
        return result

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._lib.golive_opa_release(self._handle)
                self._handle = None


@dataclass(frozen=True)
class RegoTestResult:
    package: str
    name: str
    outcome: str  # pass | fail | error | skip
    message: str
    file: str
    row: int

    @property
    def failed(self) -> bool:
        """Failed or errored; a skipped (`todo_`) test is not a failure, as in `opa test`."""
        return self.outcome in ("fail", "error")


def run_tests(modules: Mapping[str, str], timeout: float = 5.0) -> list[RegoTestResult]:
    """Every `test_*` rule of the modules, run by OPA's own test runner (as `opa test` does),
    in golive's sandbox. Raises LibraryError if the modules do not compile."""
    answer = _answer(
        _library().golive_opa_test(_request({"modules": dict(modules), "timeout_seconds": timeout}))
    )
    return [
        RegoTestResult(
            str(r["package"]),
            str(r["name"]),
            str(r["outcome"]),
            str(r.get("message", "")),
            str(r.get("file", "")),
            int(r.get("row", 0)),
        )
        for r in answer["results"]
    ]


@dataclass(frozen=True)
class TraceEvent:
    """One event of OPA's evaluation trace (topdown.Event), as `opa eval --explain` sees it."""

    op: str  # Enter, Eval, Exit, Fail, Redo, Unify, Index, Note...
    query_id: int
    parent_id: int
    file: str
    row: int
    text: str  # the source text at the location (an expression, a rule head)
    rule: bool  # the event is about a rule (entering or leaving its body)
    variables: Mapping[str, str]  # an expression's variables and their values (OPA's text)


def explain(
    modules: Mapping[str, str], query: str, input_json: bytes, now_ns: int
) -> tuple[list[Any], list[TraceEvent]]:
    """Evaluate `query` once with OPA's tracer on; the result set and the trace. Raises
    LibraryError if the modules do not compile or the evaluation fails."""
    request = {
        "modules": dict(modules),
        "query": query,
        "input": json.loads(input_json),
        "now_ns": now_ns,
    }
    answer = _answer(_library().golive_opa_explain(_request(request)))
    events = [
        TraceEvent(
            str(e["op"]),
            int(e["query_id"]),
            int(e["parent_id"]),
            str(e.get("file", "")),
            int(e.get("row", 0)),
            str(e.get("text", "")),
            bool(e.get("rule", False)),
            dict(e.get("vars") or {}),
        )
        for e in answer["events"]
    ]
    return list(answer["result"]), events
