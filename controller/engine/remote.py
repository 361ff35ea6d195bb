"""The remote engine: a real OPA server (`opa run --server`), through opa-python-client.

Modules are uploaded with PUT /v1/policies/golive/<module name>; decisions come from
POST /v1/data/golive_entrypoint/violations_at_decision_time {"input": ...} (the generated rule
that sets time.now_ns() to golive's decision time, as the embedded engine does). The client
covers both calls; we pass
`rego_compat=False` so it never rewrites a module behind our back (its default retries a
rejected upload as "upgraded" v0 syntax), and `retries=0` so a timeout is reported at once.

- connection errors, timeouts, non-OPA HTTP errors -> EngineUnavailable;
- compile errors on upload, evaluation errors (OPA's 500 with a code), malformed or undefined
  results -> PolicyError with OPA's message.
The digest is the bundle's, computed locally, the same as the embedded engine's. The bundle was
compiled in golive's sandbox when it was built, so a refused builtin (http.send, net.*...) never
reaches the server, whose own capabilities would allow it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from opa_client import OpaClient
from opa_client.errors import DeletePolicyError, RegoParseError

from controller.domain.decision import RawViolation
from controller.engine.bundle import (
    ENTRYPOINT_MODULE,
    TIMED_ENTRYPOINT_RULE,
    PolicyBundle,
    check_in_sandbox,
    violations_from_result,
)
from controller.engine.protocol import (
    ENTRYPOINT_PACKAGE,
    EngineUnavailable,
    PolicyError,
    encode_input,
)

DEFAULT_TIMEOUT_SECONDS = 2.0
POLICY_ID_PREFIX = "golive/"


def policy_id(module_name: str) -> str:
    """OPA policy id of a module; the prefix marks the ids golive owns on a shared server."""
    return POLICY_ID_PREFIX + module_name


def _describe_opa_errors(error: RegoParseError) -> str:
    details = []
    for item in error.errors:
        if not isinstance(item, dict):
            continue
        location = item.get("location") or {}
        where = ""
        if isinstance(location, dict) and location.get("file"):
            file = str(location["file"]).removeprefix(POLICY_ID_PREFIX)
            where = f"{file}:{location.get('row', '?')}:{location.get('col', '?')}: "
        details.append(f"{where}{item.get('message', '')}")
    return "; ".join(details) or f"{error.expression}: {error.message}"


def _upload_order(names: list[str]) -> list[str]:
    """golive.lib helpers first, the generated entry point last: fewer retries in `_upload`."""

    def rank(name: str) -> tuple[int, str]:
        if name == ENTRYPOINT_MODULE:
            return (2, name)
        return (0 if name.startswith("lib/") or "/lib/" in name else 1, name)

    return sorted(names, key=rank)


class RemoteEngine:
    """An OPA server holding the bundle's modules. Thread-safe (uploads hold a lock)."""

    name = "remote"

    def __init__(
        self,
        bundle: PolicyBundle,
        url: str = "http://127.0.0.1:8181",
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        token: str | None = None,
    ) -> None:
        """Upload `bundle` (replacing golive's previous modules on the server).

        Raises PolicyError if golive's sandbox or OPA refuses a module (file:row:col), and
        EngineUnavailable if OPA cannot be reached.
        """
        check_in_sandbox(bundle.modules)  # also for a bundle assembled by hand
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineUnavailable(f"OPA url {url!r} is not an http(s) URL")
        self.bundle = bundle
        self.digest = bundle.digest
        self.url = url
        self._lock = threading.Lock()
        self._closed = False
        self._client = OpaClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 80),
            ssl=parts.scheme == "https",
            token=token,
            retries=0,
            timeout=timeout,
        )
        with self._lock:
            self._upload()

    def _upload(self) -> None:
        try:
            self._delete_golive_modules()
            # OPA compiles each upload against what it already has, so a module calling a
            # helper that is not there yet is refused; retry refused ones while others land.
            pending = _upload_order(list(self.bundle.modules))
            while pending:
                refused: dict[str, RegoParseError] = {}
                for name in pending:
                    try:
                        self._client.update_policy_from_string(
                            self.bundle.modules[name], policy_id(name), rego_compat=False
                        )
                    except RegoParseError as error:
                        refused[name] = error
                if len(refused) == len(pending):
                    first = refused[pending[0]]
                    raise PolicyError(
                        f"OPA refused module {pending[0]}: {_describe_opa_errors(first)}"
                    )
                pending = list(refused)
        except requests.RequestException as error:
            raise EngineUnavailable(f"OPA at {self.url} is unavailable: {error}") from None
        except (ValueError, KeyError) as error:  # a non-JSON answer: not an OPA we can use
            raise EngineUnavailable(f"OPA at {self.url} answered oddly: {error}") from None
        except Exception as error:  # the client's own error types (DeletePolicyError...)
            if isinstance(error, PolicyError):
                raise
            raise EngineUnavailable(f"OPA at {self.url}: {error}") from None

    def _delete_golive_modules(self) -> None:
        """Remove every module golive uploaded before, so old and new copies never merge.

        OPA refuses to delete a module others still call, so delete dependents first (entry
        point, rules, then lib helpers) and retry the refused ones while others go.
        """
        existing = [
            name.removeprefix(POLICY_ID_PREFIX)
            for name in self._client.get_policies_list()
            if name.startswith(POLICY_ID_PREFIX)
        ]
        pending = list(reversed(_upload_order(existing)))
        while pending:
            refused = []
            for name in pending:
                try:
                    self._client.delete_policy(policy_id(name))
                except DeletePolicyError:
                    refused.append(name)
            if len(refused) == len(pending):
                raise EngineUnavailable(
                    f"OPA at {self.url} refuses to delete golive's old modules: {refused}"
                )
            pending = refused

    def _query(self, policy_input: Mapping[str, Any]) -> dict[str, Any]:
        try:
            answer = self._client.query_rule(
                dict(policy_input), ENTRYPOINT_PACKAGE, TIMED_ENTRYPOINT_RULE
            )
        except requests.HTTPError as error:
            response = error.response
            body: Any = None
            with contextlib.suppress(ValueError):
                body = response.json() if response is not None else None
            # OPA answers evaluation errors (conflicts, type errors) as 400/500 with a code:
            # those are the policies' fault. Anything else is the server's or the network's.
            opa_error = isinstance(body, dict) and bool(body.get("code"))
            if opa_error and response is not None and response.status_code in (400, 500):
                message = body.get("message", body)
                raise PolicyError(f"OPA could not evaluate the policies: {message}") from None
            raise EngineUnavailable(f"OPA at {self.url} answered {error}") from None
        except requests.RequestException as error:
            raise EngineUnavailable(f"OPA at {self.url} is unavailable: {error}") from None
        except ValueError as error:
            raise EngineUnavailable(f"OPA at {self.url} answered oddly: {error}") from None
        if not isinstance(answer, dict):
            raise EngineUnavailable(f"OPA at {self.url} answered oddly: {answer!r}")
        return answer

    def evaluate(self, policy_input: Mapping[str, Any]) -> list[RawViolation]:
        if self._closed:
            raise EngineUnavailable("the remote engine is closed")
        encode_input(policy_input)  # same refusal as the embedded engine (e.g. NaN, Infinity)
        answer = self._query(policy_input)
        if "result" not in answer:
            # Undefined entry point: the server lost our modules (an OPA restart keeps nothing)
            # or someone deleted them. Upload again once, then ask again.
            with self._lock:
                if self._closed:  # a replaced engine must not re-upload its old bundle
                    raise EngineUnavailable("the remote engine is closed")
                self._upload()
            answer = self._query(policy_input)
            if "result" not in answer:
                raise PolicyError("the entry point is undefined on the OPA server after upload")
        return violations_from_result(answer["result"])

    def close(self) -> None:
        """Stop using the server (its modules stay: a successor engine replaces them)."""
        with self._lock:
            self._closed = True
        self._client.close_connection()

    def __enter__(self) -> RemoteEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
