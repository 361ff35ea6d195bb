"""The regopy worker process: compile a bundle once, then answer evaluation requests.

Run by `controller.engine.embedded` as `python -P regopy_worker.py <fd>`, where <fd> is one end
of a socket pair wrapped in a multiprocessing Connection. Stand-alone on purpose (stdlib and
regopy only, no `controller` imports, not started through multiprocessing's spawn): it must not
depend on how the parent's `__main__` was started, and rego-cpp may crash it at any time.

Protocol (JSON frames): parent sends {"modules": {name: text}, "entrypoint": "..."} and waits
for ["ready", ""] or ["compile_error", text]; then each request is the input JSON and each answer
["ok", output text] or ["eval_error", text]; an empty frame means stop.
"""

from __future__ import annotations

import json
import sys
from multiprocessing.connection import Connection
from typing import Any


def _send(conn: Connection, kind: str, text: str) -> None:
    conn.send_bytes(json.dumps([kind, text]).encode("utf-8"))


def serve(conn: Connection) -> None:
    setup: dict[str, Any] = json.loads(conn.recv_bytes())
    modules: dict[str, str] = setup["modules"]
    entrypoint: str = setup["entrypoint"]
    try:
        from regopy import Interpreter
        from regopy.rego_shared import (
            rego_bundle_query_entrypoint,
            rego_free_output,
            rego_output_ok,
            rego_output_string,
        )

        interpreter = Interpreter()
        for name in sorted(modules):
            interpreter.add_module(name, modules[name])
        bundle = interpreter.build(None, entrypoints=[entrypoint])
    except Exception as error:
        _send(conn, "compile_error", str(error))
        return
    _send(conn, "ready", "")
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not request:
            return
        try:
            # The JSON text, not set_input(Input(value)): that faster path prints floats with
            # fixed precision (-2.3e-19 became "-0.000000" in messages), a divergence from OPA
            # found by the parity test. Parsing the text costs ~0.1 ms of a ~5 ms evaluation.
            interpreter.set_input_term(request.decode())
            # The low-level call keeps the raw text even when it is not JSON: rego-cpp embeds
            # error terms in the output for unsafe variables or unknown functions.
            output = rego_bundle_query_entrypoint(interpreter._impl, bundle._impl, entrypoint)
            try:
                ok, text = rego_output_ok(output), rego_output_string(output)
            finally:
                rego_free_output(output)
            _send(conn, "ok" if ok else "eval_error", text)
        except Exception as error:
            _send(conn, "eval_error", f"{type(error).__name__}: {error}")


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
