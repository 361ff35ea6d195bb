"""Child process for rego_tests: read {modules, query} on stdin, print {value} or {error}."""

from __future__ import annotations

import json
import sys

import regopy


def main() -> None:
    request = json.load(sys.stdin)
    interpreter = regopy.Interpreter()
    try:
        for name, text in sorted(request["modules"].items()):
            interpreter.add_module(name, text)
        output = str(interpreter.query(request["query"]))
    except Exception as error:  # rego-cpp reports compile errors as exceptions
        print(json.dumps({"error": str(error)}))
        return
    if output.strip() == "undefined":
        print(json.dumps({"value": {}}))
        return
    try:
        parsed = json.loads(output)
    except json.JSONDecodeError:
        print(json.dumps({"error": output[:2000]}))
        return
    expressions = parsed.get("expressions") if isinstance(parsed, dict) else None
    if not expressions:
        print(json.dumps({"error": output[:2000]}))
        return
    print(json.dumps({"value": expressions[0]}))


if __name__ == "__main__":
    main()
