"""Structural validation of golive documents against the CRDs' own OpenAPI schemas.

`golive check` rejects what the API server would reject, with the field path and what was
expected, before any policy runs. CEL rules (x-kubernetes-validations) are not evaluated here;
the API server still enforces them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from controller.bundled import CRDS
from controller.domain.api import KINDS


class SchemaError(Exception):
    """The CRD schemas cannot be read; the message says which and where from."""


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".") or "(the object)"


Check = Callable[[Any], bool]

# The keywords `valid_check` compiles: `properties` and `items` descend (as jsonschema's own
# keyword functions do); these leaves are judged by jsonschema's own keyword function (or, for
# `type` and `pattern`, the same tests inlined). A schema using any other keyword jsonschema
# knows, a `$` keyword, or a boolean subschema gets no compiled check: jsonschema judges it alone.
_LEAVES = frozenset(
    {
        "type",
        "enum",
        "const",
        "pattern",
        "format",
        "required",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
    }
)
# jsonschema's draft 2020-12 type checks for these types are plain isinstance checks
# (jsonschema/_types.py); "integer" and "number" are left to its TypeChecker.
_SIMPLE_TYPES: Mapping[str, Callable[[Any], bool]] = {
    "string": lambda x: isinstance(x, str),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


class _NotCompiled(Exception):
    pass


def valid_check(validator: Draft202012Validator) -> Check | None:
    """A function telling whether an instance has no error under `validator`'s schema: the
    same answer as `not any(validator.iter_errors(instance))`, without jsonschema's per-node
    machinery (a validator made per subschema, errors built for every branch). None when the
    schema uses a keyword this does not compile."""
    try:
        return _compile(validator, validator.schema)
    except _NotCompiled:
        return None


def _compile(validator: Draft202012Validator, schema: Any) -> Check:
    if not isinstance(schema, dict):
        raise _NotCompiled  # a boolean schema
    keywords = validator.VALIDATORS
    checks: list[Check] = []
    for keyword, value in schema.items():
        if keyword.startswith("$"):
            raise _NotCompiled  # $ref, $id, $schema, $defs...: references and dialects
        if keyword not in keywords:
            continue  # an annotation jsonschema ignores (description, x-kubernetes-*...)
        if keyword == "properties":
            checks.append(
                _properties({name: _compile(validator, sub) for name, sub in value.items()})
            )
        elif keyword == "items":
            if "prefixItems" in schema:
                raise _NotCompiled
            checks.append(_items(_compile(validator, value)))
        elif keyword == "type":
            checks.append(_type(validator, value))
        elif keyword == "pattern":
            try:
                compiled = re.compile(value)
            except (re.error, TypeError):
                raise _NotCompiled from None  # jsonschema raises its own error when it meets it
            checks.append(_pattern(compiled))
        elif keyword in _LEAVES:
            checks.append(_leaf(validator, keywords[keyword], value, schema))
        else:
            raise _NotCompiled
    if not checks:
        return lambda instance: True
    if len(checks) == 1:
        return checks[0]
    return lambda instance: all(check(instance) for check in checks)


def _properties(subs: dict[str, Check]) -> Check:
    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return True
        return all(sub(instance[name]) for name, sub in subs.items() if name in instance)

    return check


def _items(sub: Check) -> Check:
    return lambda instance: not isinstance(instance, list) or all(sub(x) for x in instance)


def _type(validator: Draft202012Validator, types: Any) -> Check:
    names = types if isinstance(types, list) else [types]
    tests = [_SIMPLE_TYPES.get(name) or _is_type(validator, name) for name in names]
    if len(tests) == 1:
        return tests[0]
    return lambda instance: any(test(instance) for test in tests)


def _is_type(validator: Draft202012Validator, name: str) -> Check:
    return lambda instance: bool(validator.is_type(instance, name))


def _pattern(compiled: re.Pattern[str]) -> Check:
    # jsonschema: a string that `re.search(pattern, instance)` does not match is an error.
    return lambda instance: not isinstance(instance, str) or compiled.search(instance) is not None


def _leaf(
    validator: Draft202012Validator, keyword: Callable[..., Any], value: Any, schema: Any
) -> Check:
    def check(instance: Any) -> bool:
        for _ in keyword(validator, value, instance, schema) or ():
            return False
        return True

    return check


class SchemaSet:
    """kind -> validator for the served version, from the CRD files in a folder."""

    def __init__(self, crd_dir: Path = CRDS) -> None:
        """Raises SchemaError when the folder or a kind's CRD is missing or unreadable."""
        self.validators: dict[str, Draft202012Validator] = {}
        # kind -> the compiled "has no error" check: a document it passes is not walked again
        # by jsonschema; one it fails is, for the errors and their messages.
        self.checks: dict[str, Check] = {}
        if not crd_dir.is_dir():
            raise SchemaError(f"the CRD schemas are missing: {crd_dir} is not a folder")
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for path in sorted(crd_dir.glob("*.yaml")):
            for crd in yaml.load_all(path.read_text(), Loader=loader):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                kind = crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if version.get("storage"):
                        schema = version["schema"]["openAPIV3Schema"]
                        validator = Draft202012Validator(schema, format_checker=FormatChecker())
                        self.validators[kind] = validator
                        check = valid_check(validator)
                        if check is not None:
                            self.checks[kind] = check
                        else:
                            self.checks.pop(kind, None)
        # Every kind golive reads: a missing schema stops `golive check`, never passes it.
        missing = [kind for kind in KINDS if kind not in self.validators]
        if missing:
            raise SchemaError(
                f"the CRD schemas in {crd_dir} lack {', '.join(missing)}; golive check will not "
                "decide without them"
            )

    def errors(self, obj: dict[str, Any]) -> Iterator[str]:
        validator = self.validators.get(str(obj.get("kind")))
        if validator is None:
            return
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        check = self.checks.get(str(obj.get("kind")))
        if check is not None and check(body):
            return
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            yield f"{_path(error)}: {error.message}"
