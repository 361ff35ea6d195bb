"""OPA's own conformance cases, run through golive's embedded engine (libopa, sandboxed).

The cases are the YAML files under `v1/test/cases/testdata/v1` of the OPA module pinned in
scripts/versions.env (the same module libopa is built from). Each case is compiled with
`libopa.PreparedQuery(..., sandbox=True)`, evaluated once, and judged the way OPA's own runner
judges it (`testRun` in v1/topdown/exported_test.go):

- modules are named `test-<i>.rego` (want_error texts name them); data and input as given;
  input_term is a Rego term that overrides input;
- want_error: the error text contains it; want_error_code: a topdown error with that code;
  an error nobody expected fails the case;
- want_result: the *set* of binding objects equals the expected set, values compared as JSON
  (sets come out as sorted arrays, numbers compare by value); sort_bindings sorts each binding
  value, which must be an array; ignore_generated_vars drops `__localq*` bindings;
- strict_error: OPA's runner evaluates the case with strict builtin errors.

Each case ends as passed, as an explained failure (one category of EXPLAINED_FAILURES, and
only when the case shows exactly that category's symptom), or as an unexplained failure,
which fails the test. The summary is printed as one JSON line.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.engine import libopa
from kit.controlplane import REPO, HarnessError, go_module_dir

pytestmark = pytest.mark.e2e

OPA_MODULE = "github.com/open-policy-agent/opa"
CASES_UNDER = Path("v1/test/cases/testdata/v1")  # the Rego v1 cases (v0 syntax is not golive's)
EVAL_TIMEOUT_SECONDS = 30.0
WORKERS = 2  # the machine has two cores; ctypes releases the GIL for each call into libopa

# Every field of OPA's TestCase (v1/test/cases/cases.go). A case with any other field is a
# format this runner does not know, and fails rather than being half-checked.
CASE_FIELDS = frozenset(
    {
        "note",
        "query",
        "modules",
        "data",
        "input",
        "input_term",
        "want_defined",
        "want_result",
        "want_error_code",
        "want_error",
        "sort_bindings",
        "ignore_generated_vars",
        "strict_error",
        "experimental_keywords",
        "env",
    }
)

# Why a case may fail on golive's engine and still be as intended. Each category is given
# only when the case shows exactly its symptom (CaseJudge, judge_answer); nothing else is excused.
EXPLAINED_FAILURES = {
    "refused_builtin": (
        "the case calls a builtin golive's sandbox refuses (refusedBuiltins in libopa/main.go: "
        "http.send, net.*, opa.runtime, rand.intn, uuid.rfc4122): the policy does not "
        "compile and the error says the builtin 'is refused by golive'; a decision may depend "
        "on nothing but its input and policies"
    ),
    "refused_builtin_unnamed": (
        "the case mocks a refused builtin (`with http.send as ...`) or mocks with one "
        "(`with time.now_ns as opa.runtime`); OPA's compiler rejects that before its type "
        "check, without naming the builtin ('with keyword target must reference existing "
        "input, data, or a function', 'var opa is unsafe'); checked: the same case passes "
        "when compiled without the sandbox, and the sandbox is OPA's capabilities less the "
        "refused builtins"
    ),
    "strict_builtin_errors_only": (
        "the expected error is raised only with strict builtin errors (strict_error: true); "
        "golive evaluates as the OPA server does, non-strict, where a builtin that fails makes "
        "its expression undefined; checked: the case answers its want_result if it has one, "
        "else undefined (what OPA's Wasm runner requires of such cases), without an error"
    ),
    "input_term_without_json_form": (
        "input_term is a Rego term with no JSON form (it holds a set or a non-string key); "
        "golive's input is always a JSON document built from Kubernetes objects, and the "
        "engine takes input only as JSON text"
    ),
    "data_conflicts_with_rule": (
        "the case's data holds a document a rule also defines; OPA's topdown runner evaluates "
        "the compiled query directly, where base data wins, while the rego API (used by "
        "`opa eval`, the OPA server and golive) refuses the overlap at compile time "
        "('conflicting rule for data path'); golive passes no data to its policies"
    ),
    "test_only_builtin": (
        "the case calls a builtin that OPA's topdown test binary registers for itself "
        "(RegisterBuiltinFunc in v1/topdown/*_test.go, e.g. test.sleep); it is not a builtin "
        "of OPA, so no OPA outside that test binary compiles the case"
    ),
}


def _yaml_as_opa_reads_it() -> type[yaml.CSafeLoader]:
    """A YAML loader that reads the cases as OPA's util.Unmarshal (sigs.k8s.io/yaml) does.

    Two differences from PyYAML's safe loader matter here: timestamps stay strings, and a
    mapping key keeps its source text (`on:` is the key "on", not the boolean true; JSON
    keys are strings anyway).
    """

    class CaseLoader(yaml.CSafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
            for index, (key_node, value_node) in enumerate(node.value):
                if (
                    isinstance(key_node, yaml.ScalarNode)
                    and key_node.tag != "tag:yaml.org,2002:str"
                ):
                    text_key = yaml.ScalarNode("tag:yaml.org,2002:str", key_node.value)
                    node.value[index] = (text_key, value_node)
            return super().construct_mapping(node, deep=deep)

    CaseLoader.yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
    }
    return CaseLoader


CaseLoader = _yaml_as_opa_reads_it()


@dataclass(frozen=True)
class Verdict:
    note: str
    file: str
    category: str  # "passed", a key of EXPLAINED_FAILURES, or "unexplained"
    reason: str = ""
    refused_builtins: tuple[str, ...] = ()


def pinned_opa_version() -> str:
    versions = (REPO / "scripts" / "versions.env").read_text()
    match = re.search(r"^OPA_VERSION=(\S+)$", versions, re.MULTILINE)
    if match is None:
        pytest.fail("scripts/versions.env pins no OPA_VERSION")
    return match.group(1)


def opa_module_dir(version: str) -> Path:
    """The pinned OPA module source, downloaded through the Go module proxy if not cached."""
    if shutil.which("go") is None:
        pytest.fail(f"go is not installed; it is needed to fetch {OPA_MODULE}@{version}'s cases")
    try:
        module_dir = go_module_dir(OPA_MODULE, version)
    except HarnessError as error:
        pytest.fail(str(error))
    if not (module_dir / CASES_UNDER).is_dir():
        pytest.fail(f"{OPA_MODULE}@{version} has no conformance cases at {CASES_UNDER}")
    return module_dir


def load_cases(cases_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    cases = []
    for path in sorted(cases_dir.rglob("*.yaml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=CaseLoader)
        for case in document.get("cases") or []:
            cases.append((path, case))
    return cases


# --- Values compared as OPA's runner compares them -----------------------------------------


def canonical(value: Any) -> Any:
    """A hashable, totally ordered form of a JSON value in which equal Rego values are equal:
    objects ignore key order, numbers compare by value (1 == 1.0, 1e3 == 1000)."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int):
        return ("number", Fraction(value))
    if isinstance(value, float):
        # repr is the shortest text that reads back as this double: the number's decimal text.
        if math.isfinite(value):
            return ("number", Fraction(repr(value)))
        return ("number", value)  # 1e400 reads as inf in Python; inf equals only itself
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(canonical(item) for item in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((str(k), canonical(v)) for k, v in value.items())))
    raise TypeError(f"not a JSON value: {value!r}")


def binding_set(
    bindings_list: list[Mapping[str, Any]], sort_bindings: bool, ignore_generated: bool
) -> frozenset[Any]:
    """A result set as a set of binding objects (OPA's runner compares ast.Sets of objects).

    With sort_bindings OPA's runner sorts each value it got and expects want_result to be
    written in that order; sorting both sides in one order is the same test.
    """
    objects = set()
    for bindings in bindings_list:
        entries = []
        for name, value in bindings.items():
            if ignore_generated and name.startswith("__localq"):
                continue
            if sort_bindings:
                if not isinstance(value, list):
                    raise TypeError(f"sort_bindings: binding {name} is not an array: {value!r}")
                entries.append((name, ("array", tuple(sorted(canonical(v) for v in value)))))
            else:
                entries.append((name, canonical(value)))
        objects.add(tuple(sorted(entries)))
    return frozenset(objects)


def has_error_code(message: str, code: str) -> bool:
    """topdown.Error prints as `<file>:<row>: <code>: <message>`; libopa passes that text on."""
    return re.search(rf"(^|: ){re.escape(code)}: ", message) is not None


# --- Running one case ---------------------------------------------------------------------


def input_from_term(term: str) -> bytes | None:
    """The input_term as JSON text, or None when the term has no JSON form.

    OPA's parser reads the term (it is Rego, not JSON: trailing commas, sets); the term has a
    JSON form when it survives a JSON round trip unchanged.
    """
    query = f"term := {term}\ntext := json.marshal(term)\njson.unmarshal(text) == term"
    prepared = libopa.PreparedQuery({}, query, sandbox=True)
    try:
        result = prepared.evaluate(None, time.time_ns(), EVAL_TIMEOUT_SECONDS)
    finally:
        prepared.close()
    if not result:
        return None
    return str(result[0]["bindings"]["text"]).encode("utf-8")


def refused_builtins_of(error: libopa.LibraryError) -> tuple[str, ...]:
    """The refused builtins, when a compile error is due to nothing but sandbox refusals."""
    names = []
    for detail in error.details:
        match = re.search(r"builtin (\S+) is refused by golive", str(detail.get("message")))
        if match is None:
            return ()
        names.append(match.group(1))
    return tuple(sorted(set(names)))


def every_detail_matches(error: libopa.LibraryError, pattern: str) -> bool:
    messages = [str(detail.get("message")) for detail in error.details]
    return bool(messages) and all(re.search(pattern, message) for message in messages)


def builtins_registered_by_opa_tests(module_dir: Path) -> frozenset[str]:
    """Builtins OPA's topdown tests register for themselves (the test binary that runs the
    cases), read from the module source."""
    names = set()
    for test_file in (module_dir / "v1" / "topdown").glob("*_test.go"):
        text = test_file.read_text(encoding="utf-8")
        names.update(re.findall(r'RegisterBuiltinFunc\("([^"]+)"', text))
    return frozenset(names)


@dataclass(frozen=True)
class CaseJudge:
    test_only_builtins: frozenset[str]

    def __call__(self, path: Path, case: dict[str, Any], sandbox: bool = True) -> Verdict:
        note, file = str(case.get("note")), str(path)

        def verdict(category: str, reason: str = "", refused: tuple[str, ...] = ()) -> Verdict:
            return Verdict(note, file, category, reason, refused)

        unknown_fields = set(case) - CASE_FIELDS
        if unknown_fields:
            return verdict(
                "unexplained", f"fields this runner does not know: {sorted(unknown_fields)}"
            )
        # OPA's runner sets env for the case and parses with experimental keywords on request;
        # no v1 case uses either today, and this runner cannot honour them (the Go runtime in
        # the library does not see environment changes made after it is loaded).
        for unsupported in ("env", "experimental_keywords"):
            if case.get(unsupported):
                return verdict("unexplained", f"this runner does not support {unsupported}")

        input_json: bytes | None = None
        if case.get("input_term") is not None:
            input_json = input_from_term(str(case["input_term"]))
            if input_json is None:
                return verdict("input_term_without_json_form", str(case["input_term"]))
        elif case.get("input") is not None:
            input_json = json.dumps(case["input"]).encode("utf-8")

        modules = {f"test-{i}.rego": text for i, text in enumerate(case.get("modules") or [])}
        try:
            prepared = libopa.PreparedQuery(
                modules, str(case["query"]), data=case.get("data"), sandbox=sandbox
            )
        except libopa.LibraryError as error:
            return verdict(*self.explain_compile_error(path, case, error, sandbox))

        result: list[Any] = []
        error_text: str | None = None
        try:
            result = prepared.evaluate(input_json, time.time_ns(), EVAL_TIMEOUT_SECONDS)
        except libopa.EvaluationTimeout as timeout:
            return verdict("unexplained", f"timed out: {timeout}")
        except libopa.LibraryError as error:
            if error.code != "eval":
                return verdict("unexplained", f"{error.code} error: {error}")
            error_text = str(error)
        finally:
            prepared.close()
        try:
            return verdict(*judge_answer(case, result, error_text))
        except TypeError as error:  # a binding sort_bindings cannot sort, a non-JSON value
            return verdict("unexplained", str(error))

    def explain_compile_error(
        self, path: Path, case: dict[str, Any], error: libopa.LibraryError, sandbox: bool
    ) -> tuple[str, str, tuple[str, ...]]:
        """(category, reason, refused builtins) for a case that does not compile. OPA's runner
        compiles every case (a compile error fails it), so only the explained causes pass."""
        reason = f"does not compile ({error.code}): {error}"
        if error.code != "compile":
            return "unexplained", reason, ()
        refused = refused_builtins_of(error)
        if refused:
            return "refused_builtin", str(error), refused
        test_only = "|".join(re.escape(name) for name in sorted(self.test_only_builtins))
        if test_only and every_detail_matches(error, rf"undefined function ({test_only})$"):
            return "test_only_builtin", str(error), ()
        if case.get("data") and every_detail_matches(error, "conflicting rule for data path"):
            return "data_conflicts_with_rule", str(error), ()
        if sandbox:
            # The sandbox differs from OPA's own capabilities only by the refused builtins:
            # a case that passes without it failed because of a refusal.
            unsandboxed = self(path, case, sandbox=False)
            if unsandboxed.category == "passed":
                return "refused_builtin_unnamed", str(error), ()
            reason += f"; without the sandbox: {unsandboxed.category}: {unsandboxed.reason}"
        return "unexplained", reason, ()


def judge_answer(
    case: dict[str, Any], result: list[Any], error_text: str | None
) -> tuple[str, str]:
    """(category, reason) for the engine's answer, judged as OPA's runner judges it."""
    want_error, want_error_code = case.get("want_error"), case.get("want_error_code")
    want_result = case.get("want_result")
    sort_bindings = bool(case.get("sort_bindings"))
    ignore_generated = bool(case.get("ignore_generated_vars"))
    # The engine answers the ResultSet as `opa eval` prints it; "bindings" is left out when a
    # result binds no variable.
    got = [entry.get("bindings") or {} for entry in result]

    def same_bindings(want: list[Any]) -> bool:
        return binding_set(got, sort_bindings, ignore_generated) == binding_set(
            want, sort_bindings, ignore_generated
        )

    if case.get("strict_error") and (want_error or want_error_code) and error_text is None:
        # want_result, when present, is the answer without strict errors.
        if same_bindings(want_result if want_result is not None else []):
            return "strict_builtin_errors_only", ""
        return "unexplained", f"strict_error case answers {got} without strict errors"
    if want_error is not None:
        if error_text is None:
            return "unexplained", f"want_error {want_error!r}, got result {got}"
        if str(want_error) not in error_text:
            return "unexplained", f"want_error {want_error!r}, got error {error_text!r}"
    if want_error_code is not None:
        if error_text is None:
            return "unexplained", f"want_error_code {want_error_code}, got result {got}"
        if not has_error_code(error_text, str(want_error_code)):
            return "unexplained", f"want_error_code {want_error_code}, got error {error_text!r}"
    if error_text is not None and want_error is None and want_error_code is None:
        return "unexplained", f"unexpected error: {error_text}"
    if want_result is not None:
        if not same_bindings(want_result):
            return "unexplained", f"want_result {want_result}, got {got}"
    elif case.get("want_defined") is not None:
        # Not checked by OPA's topdown runner; OPA's Wasm runner: defined == non-empty result.
        if bool(result) != bool(case["want_defined"]):
            return "unexplained", f"want_defined {case['want_defined']}, got {got}"
    elif want_error is None and want_error_code is None:
        return "unexplained", "the case states no expectation"
    return "passed", ""


def run_all(cases: list[tuple[Path, dict[str, Any]]], judge: CaseJudge) -> list[Verdict]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda item: judge(*item), cases))


# --- The test ------------------------------------------------------------------------------


def test_opa_conformance_cases_pass_or_are_explained(capsys: pytest.CaptureFixture[str]) -> None:
    version = pinned_opa_version()
    assert libopa.version() == version.removeprefix("v"), (
        f"the embedded engine is OPA {libopa.version()}, scripts/versions.env pins {version}: "
        "rebuild the library (setup.py build_ext --inplace) or align libopa/go.mod"
    )
    module_dir = opa_module_dir(version)
    cases_dir = module_dir / CASES_UNDER
    cases = load_cases(cases_dir)
    assert cases, f"no conformance cases found under {cases_dir}"

    started = time.monotonic()
    verdicts = run_all(cases, CaseJudge(builtins_registered_by_opa_tests(module_dir)))
    elapsed = time.monotonic() - started

    counts = Counter(v.category for v in verdicts)
    unexplained = [v for v in verdicts if v.category == "unexplained"]
    expected = {category: counts[category] for category in EXPLAINED_FAILURES}
    passed = counts["passed"]
    in_scope = len(verdicts) - sum(expected.values())
    summary = {
        "suite": f"opa {version} conformance ({CASES_UNDER})",
        "total": len(verdicts),
        "passed": passed,
        "expected": expected,
        "refused_builtins": dict(
            sorted(Counter(name for v in verdicts for name in v.refused_builtins).items())
        ),
        "unexplained": len(unexplained),
        "pass_rate": round(passed / len(verdicts), 4),
        "pass_rate_in_scope": round(passed / in_scope, 4) if in_scope else None,
        "seconds": round(elapsed, 1),
    }
    line = json.dumps(summary, separators=(",", ":"))
    with capsys.disabled():  # shown with or without -s
        print(f"\n{line}")

    assert sum(counts.values()) == len(cases) == passed + sum(expected.values()) + len(unexplained)
    shown = "\n".join(f"- {v.file}: {v.note}: {v.reason[:600]}" for v in unexplained[:40])
    assert not unexplained, (
        f"{len(unexplained)} conformance case(s) fail without an explanation:\n{shown}\n{line}"
    )
