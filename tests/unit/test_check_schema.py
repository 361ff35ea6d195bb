"""The CRD schemas `golive check` validates with: shipped in the package, never silently absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from controller.bundled import CRDS
from controller.check.schema import SchemaError, SchemaSet

REPO = Path(__file__).resolve().parents[2]


def test_the_package_carries_the_repositorys_crds() -> None:
    shipped = {p.name: p.read_text() for p in CRDS.glob("*.yaml")}
    in_repo = {p.name: p.read_text() for p in (REPO / "crds").glob("*.yaml")}
    assert shipped == in_repo and len(shipped) == 3
    assert sorted(SchemaSet().validators) == ["AgentContract", "AgentDeployment", "AgentException"]


def test_a_missing_folder_is_an_error_not_an_empty_set(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="is not a folder"):
        SchemaSet(tmp_path / "nowhere")


def test_a_missing_kind_is_an_error(tmp_path: Path) -> None:
    for path in CRDS.glob("*.yaml"):
        if "agentexceptions" not in path.name:
            shutil.copy(path, tmp_path / path.name)
    with pytest.raises(SchemaError, match="lack AgentException"):
        SchemaSet(tmp_path)


def test_schema_errors_name_the_field() -> None:
    errors = list(SchemaSet().errors({"kind": "AgentDeployment", "spec": {"replicas": "two"}}))
    assert any(e.startswith("spec.replicas:") for e in errors), errors


def _bodies() -> list[tuple[str, dict[str, object]]]:
    from controller.check.loader import load

    paths = [str(REPO / "examples"), *map(str, REPO.glob("policies/*/*/samples/*/*.sample"))]
    return [
        (d.kind, {k: v for k, v in d.obj.items() if k not in ("apiVersion", "kind", "metadata")})
        for d in load(paths).documents
    ]


def test_the_compiled_check_agrees_with_jsonschema_on_mutated_documents() -> None:
    """A document the compiled check passes is never walked by jsonschema again, so the two
    must agree on every document: the examples and samples, each mutated at random (a field
    set to a value of another type, an out-of-range one, or removed), valid and invalid."""
    import copy
    import random

    schemas = SchemaSet()
    assert sorted(schemas.checks) == sorted(schemas.validators)  # every kind compiles today
    values: list[object] = [None, True, False, 0, 1, -1, 1.5, 2.0, "", "x", "USD", "1000", [],
                            {}, ["a"], {"a": 1}, "2026-01-01", "2026-01-01T00:00:00Z", "nope",
                            "a" * 300, 10**9, [{"name": "x"}]]  # fmt: skip
    rnd = random.Random(23)
    cases = invalid = 0
    for kind, body in _bodies():
        paths = list(_paths(body))
        for _ in range(25):
            mutated = copy.deepcopy(body)
            for _ in range(rnd.choice((1, 1, 2))):
                _mutate(mutated, rnd.choice(paths), rnd, values)
            fast = schemas.checks[kind](mutated)
            slow = not any(schemas.validators[kind].iter_errors(mutated))
            assert fast == slow, (kind, mutated)
            cases += 1
            invalid += not slow
    assert cases > 1000 and cases / 10 < invalid < cases * 9 / 10  # both outcomes well covered


def _paths(obj: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [prefix] if prefix else []
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in items:
        found += _paths(value, (*prefix, key))
    return found


def _mutate(obj: object, path: tuple[object, ...], rnd: object, values: list[object]) -> None:
    import copy
    import random

    assert isinstance(rnd, random.Random)
    parent = obj
    for key in path[:-1]:
        try:
            parent = parent[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation removed or replaced the way there
    last = path[-1]
    if isinstance(parent, dict) and rnd.random() < 0.2:
        parent.pop(last, None)
    elif isinstance(parent, dict) or (isinstance(parent, list) and isinstance(last, int)
                                      and last < len(parent)):  # fmt: skip
        parent[last] = copy.deepcopy(rnd.choice(values))  # type: ignore[index]


def test_a_schema_with_a_keyword_not_compiled_is_left_to_jsonschema() -> None:
    from jsonschema import Draft202012Validator

    from controller.check.schema import valid_check

    assert valid_check(Draft202012Validator({"anyOf": [{"type": "string"}]})) is None
    assert valid_check(Draft202012Validator({"properties": {"a": {"$ref": "#"}}})) is None
    assert valid_check(Draft202012Validator({"properties": {"a": False}})) is None
    check = valid_check(Draft202012Validator({"properties": {"a": {"type": "integer"}}}))
    assert check is not None and check({"a": 2.0}) and not check({"a": True})
