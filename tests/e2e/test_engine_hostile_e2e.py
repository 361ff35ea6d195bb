"""Hostile modules and hostile inputs against OPA-in-process (the embedded engine).

- Network, environment and process builtins (`http.send`, `net.lookup_ip_addr`,
  `opa.runtime()`) are refused when the bundle is loaded: by `golive check` on both engines
  (exit 2, the message names module:row:col and the builtin, nothing reaches the OPA server)
  and by the operator (status Unknown/PolicyError, the webhook refuses, nothing admitted).
- A rule that runs far past the deadline gives Unknown/EngineUnavailable, never an admit, in
  `golive check`, the embedded engine and the operator, which answers the next decision.
- 10,000 generated hostile inputs (deep nesting, strings of megabytes, odd numbers) through the
  embedded engine in one process: every answer is a well-formed decision and none admits an agent
  the library denies; some of them also through a live webhook, and a stored deeply nested agent
  must not take the operator down.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.domain.decision import Decision, Reason, Result
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext
from controller.engine.bundle import ENTRYPOINT_MODULE, bundle_from_modules, load_library
from controller.engine.decision_pipeline import PolicySet, decide_agent
from controller.engine.embedded import EmbeddedEngine
from controller.engine.factory import policy_set_from_library
from controller.engine.protocol import EngineUnavailable
from kit.controlplane import REPO, ControlPlane, OpaServer
from kit.operator import (
    OperatorProcess,
    admission_review,
    apply_objects,
    policy_configmap,
    policy_configmaps,
)
from tests.e2e.agents import agent, apply, condition, contract, get, wait_admitted, wait_for

FEATURES = REPO / "tests" / "e2e" / "fixtures" / "opa_features"
LIBRARY = REPO / "policies"
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
POLICY_NS = "golive-hostile"  # the operator's own namespace: exempt from its webhook
FIELD = re.compile(r"^(spec|metadata)(\.[A-Za-z0-9_$]+|\[\d+\])*$")
SLOW = "golive.dev/slow"


def hostile_module(name: str, body: str) -> str:
    """A well-formed golive policy (METADATA, package, deny) around `body`."""
    return (
        f"# METADATA\n# title: Hostile {name}\n# custom:\n#   id: golive.hostile.{name}\n"
        f"#   enforcement: deny\n#   severity: high\npackage golive.hostile.{name}\n\n"
        f'import rego.v1\n\ndeny contains {{"field": "spec", "msg": "hostile"}} if {{\n{body}\n}}\n'
    )


REFUSED = {
    "http.send": hostile_module(
        "http_send",
        '\tresp := http.send({"method": "GET", "url": "http://127.0.0.1:9/"})\n'
        "\tresp.status_code == 200",
    ),
    "net.lookup_ip_addr": hostile_module(
        "net_lookup", '\tcount(net.lookup_ip_addr("kubernetes.default.svc")) > 0'
    ),
    "opa.runtime": hostile_module("opa_runtime", '\topa.runtime().env.HOME != ""'),
}

# Slow only for agents annotated golive.dev/slow=true, so the bundle loads (golive evaluates two
# smoke inputs at load) and the operator decides every other agent as usual.
SLOW_RULES = {
    # the example: a comprehension over a hundred million numbers
    "range": hostile_module(
        "slow_range",
        f'\tinput.agent.metadata.annotations["{SLOW}"] == "true"\n'
        "\tcount([x | some x in numbers.range(1, 100000000)]) > 0",
    ),
    # ten billion steps in little memory (kinder to a shared machine for repeated retries)
    "loops": hostile_module(
        "slow_loops",
        f'\tinput.agent.metadata.annotations["{SLOW}"] == "true"\n'
        "\tsome i in numbers.range(1, 100000)\n\tsome j in numbers.range(1, 100000)\n\ti * j < 0",
    ),
}


def no_contracts(namespace: str, name: str) -> None:
    """A contract lookup that finds nothing (as `golive check` without --contracts)."""
    return None


def location(text: str, builtin: str) -> str:
    """row:col of the builtin's first call, as OPA counts them (a tab is one column)."""
    for row, line in enumerate(text.splitlines(), start=1):
        col = line.find(builtin + "(")
        if col >= 0:
            return f"{row}:{col + 1}"
    raise AssertionError(f"{builtin} not in the module")


def golive(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="4000", NO_COLOR="1")  # messages on one line
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def policies_with(tmp_path: Path, modules: dict[str, str]) -> Path:
    """The opa_features fixture plus `modules` (relative name -> text) in a fresh folder."""
    root = tmp_path / "policies"
    shutil.copytree(FEATURES, root)
    for name, text in modules.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def feature_agent(name: str, **annotations: str) -> dict[str, Any]:
    """The compliant example, compliant with the opa_features fixture too."""
    obj = agent("hostile", name)
    obj["metadata"]["annotations"] = {"golive.dev/review-by": "2099-12-31T00:00:00Z", **annotations}
    return obj


def write_manifests(directory: Path, objects: list[dict[str, Any]]) -> Path:
    path = directory / "agents.yaml"
    path.write_text("\n---\n".join(json.dumps(obj) for obj in objects) + "\n")
    return path


def opa_policy_ids(server: OpaServer) -> list[str]:
    with urllib.request.urlopen(f"{server.url}/v1/policies", timeout=5) as resp:
        return [p["id"] for p in json.loads(resp.read())["result"]]


def opa_put_policy(server: OpaServer, policy_id: str, text: str) -> int:
    req = urllib.request.Request(
        f"{server.url}/v1/policies/{policy_id}", data=text.encode(), method="PUT"
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


# --- refused builtins -----------------------------------------------------------------------------


@pytest.mark.parametrize("builtin", list(REFUSED))
def test_check_refuses_the_builtin_at_load_on_both_engines(
    opa_server: OpaServer, tmp_path: Path, builtin: str
) -> None:
    opa = opa_server  # a fresh server: no golive module on it yet
    text = REFUSED[builtin]
    module = f"hostile/{builtin.replace('.', '_')}/policy.rego"
    policies = policies_with(tmp_path, {module: text})
    manifests = write_manifests(tmp_path, [feature_agent("compliant")])
    where = f"{module}:{location(text, builtin)}: builtin {builtin} is refused by golive"

    # OPA itself accepts the module: refusing it is golive's sandbox, nobody else's.
    assert opa_put_policy(opa, "probe", text) == 200
    urllib.request.urlopen(
        urllib.request.Request(f"{opa.url}/v1/policies/probe", method="DELETE"), timeout=5
    ).close()

    for engine in (["--engine", "embedded"], ["--engine", "remote", "--opa-url", opa.url]):
        proc = golive(
            "check", "--no-safe-library", "--policies", str(policies), *engine, str(manifests)
        )
        assert proc.returncode == 2, (engine, proc.stdout, proc.stderr)
        assert where in proc.stderr, proc.stderr
        assert "nothing is admitted" in proc.stderr
        assert "admitted" not in proc.stdout
        assert not [p for p in opa_policy_ids(opa) if p.startswith("golive/")]  # no upload

    # Without the hostile module the same folder and agent are fine on both engines.
    (policies / module).unlink()
    for engine in (["--engine", "embedded"], ["--engine", "remote", "--opa-url", opa.url]):
        proc = golive(
            "check", "--no-safe-library", "--policies", str(policies), *engine, str(manifests)
        )
        assert proc.returncode == 0, proc.stderr


# --- the deadline: golive check and the embedded engine -------------------------------------------


@pytest.mark.parametrize("rule", list(SLOW_RULES))
def test_check_past_the_deadline_is_unknown_and_the_other_agents_are_decided(
    tmp_path: Path, rule: str
) -> None:
    policies = policies_with(tmp_path, {f"hostile/slow_{rule}/policy.rego": SLOW_RULES[rule]})
    agents = [
        feature_agent("slow", **{SLOW: "true"}),
        feature_agent("steady"),
        feature_agent("overdue", **{"golive.dev/review-by": "2020-01-31T09:30:00Z"}),
    ]
    manifests = write_manifests(tmp_path, agents)
    started = time.monotonic()
    proc = golive(
        "check", "--no-safe-library", "--policies", str(policies), "-o", "json", str(manifests)
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    reports = {a["name"]: a for a in json.loads(proc.stdout)["agents"]}
    slow = reports["slow"]
    assert (slow["result"], slow["reason"]) == ("unknown", "EngineUnavailable"), slow
    assert "deadline" in slow["message"] and slow["findings"] == []
    assert reports["steady"]["result"] == "admitted"
    assert reports["overdue"]["result"] == "blocked"
    assert [f["policy"] for f in reports["overdue"]["findings"]] == ["golive.schedule.review_by"]
    assert elapsed < 30, f"the 2 s deadline did not stop the rule ({elapsed:.0f} s)"


def test_embedded_engine_deadline_every_time_then_answers() -> None:
    bundle = load_library([FEATURES], safe_library=False)
    modules = {name: text for name, text in bundle.modules.items() if name != ENTRYPOINT_MODULE}
    slow_bundle = bundle_from_modules({**modules, "hostile/slow/policy.rego": SLOW_RULES["loops"]})
    policy_set = PolicySet(EmbeddedEngine(slow_bundle, timeout=0.5), slow_bundle)
    try:
        context = PolicyContext(Operation.CHECK, NOW)
        slow, steady = feature_agent("slow", **{SLOW: "true"}), feature_agent("steady")
        for _ in range(3):
            started = time.monotonic()
            decision = decide_agent(
                policy_set, read_agent(slow), contracts=no_contracts, exceptions=[], context=context
            ).decision
            assert time.monotonic() - started < 2.0  # 0.5 s deadline, not the rule's hours
            assert (decision.result, decision.reason) == (
                Result.UNKNOWN,
                Reason.ENGINE_UNAVAILABLE,
            )
            after = decide_agent(
                policy_set,
                read_agent(steady),
                contracts=no_contracts,
                exceptions=[],
                context=context,
            )
            assert after.decision.result is Result.ADMITTED, after.decision.message
        with pytest.raises(EngineUnavailable, match="deadline"):
            policy_set.engine.evaluate(
                decide_agent(
                    policy_set,
                    read_agent(slow),
                    contracts=no_contracts,
                    exceptions=[],
                    context=context,
                ).policy_input
            )
    finally:
        policy_set.engine.close()


# --- the operator: refused builtins and the deadline ----------------------------------------------


@pytest.fixture(scope="module")
def operator(
    cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """`golive run` with the library from ConfigMaps in POLICY_NS, serving the webhook."""
    cluster.kubectl("create", "namespace", POLICY_NS, check=False)
    apply_objects(cluster, policy_configmaps(LIBRARY, POLICY_NS))
    op = OperatorProcess(
        cluster,
        tmp_path_factory.mktemp("hostile-op"),
        policies=None,
        policy_namespace=POLICY_NS,
        webhook=True,
    )
    op.delete_webhook_config()
    try:
        yield op.start()
    finally:
        op.stop()
        op.delete_webhook_config()
        cluster.kubectl("delete", "agd", "--all", "-n", POLICY_NS, "--wait=false", check=False)


def kubectl_apply(cluster: ControlPlane, obj: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=False)


def digest_of(cluster: ControlPlane, namespace: str, name: str) -> str:
    obj = get(cluster, "agd", namespace, name) or {}
    return str(((obj.get("status") or {}).get("policy") or {}).get("digest", ""))


@pytest.mark.parametrize("builtin", list(REFUSED))
def test_operator_refuses_the_builtin_and_admits_nothing(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str, builtin: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace, "running"))
    wait_admitted(cluster, namespace, "running", "True")
    configmap = "golive-policy-hostile-" + re.sub(r"[^a-z0-9]+", "-", builtin)
    text = REFUSED[builtin]
    module = f"{configmap}/policy.rego:{location(text, builtin)}"
    try:
        apply_objects(cluster, [policy_configmap(configmap, POLICY_NS, {"policy.rego": text})])
        obj = wait_admitted(cluster, namespace, "running", "Unknown", generation=1)
        admitted = condition(obj, "Admitted")
        assert admitted["reason"] == "PolicyError", admitted
        assert f"{module}: builtin {builtin} is refused by golive" in admitted["message"]
        # A new agent is refused at the door, with the reason; nothing is stored.
        proc = kubectl_apply(cluster, agent(namespace, "newcomer"))
        assert proc.returncode != 0, proc.stdout
        assert "golive could not decide newcomer (PolicyError)" in proc.stderr, proc.stderr
        assert f"builtin {builtin} is refused" in proc.stderr
        assert get(cluster, "agd", namespace, "newcomer") is None
    finally:
        cluster.kubectl("delete", "configmap", configmap, "-n", POLICY_NS, check=False)
    wait_admitted(cluster, namespace, "running", "True", generation=1)  # the library is back
    assert operator.process is not None and operator.process.alive()


def test_operator_past_the_deadline_is_unknown_then_answers_the_next_decision(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    apply(cluster, contract(namespace), agent(namespace, "steady"))
    wait_admitted(cluster, namespace, "steady", "True")
    before = digest_of(cluster, namespace, "steady")
    slow_in_exempt_ns = agent(POLICY_NS, "slow-stored")
    slow_in_exempt_ns["metadata"]["annotations"] = {SLOW: "true"}
    try:
        apply_objects(
            cluster,
            [
                policy_configmap(
                    "golive-policy-slow", POLICY_NS, {"policy.rego": SLOW_RULES["loops"]}
                )
            ],
        )
        # Loaded when the running agents were re-decided with the new digest (still admitted).
        wait_for(
            lambda: digest_of(cluster, namespace, "steady") not in ("", before),
            what="the slow module loaded",
        )
        wait_admitted(cluster, namespace, "steady", "True", generation=1)

        # The webhook: refused, with the reason, well within the webhook's own timeout.
        slow = agent(namespace, "slow")
        slow["metadata"]["annotations"] = {SLOW: "true"}
        started = time.monotonic()
        proc = kubectl_apply(cluster, slow)
        assert proc.returncode != 0, proc.stdout
        assert time.monotonic() - started < 5
        assert "golive could not decide slow (EngineUnavailable)" in proc.stderr, proc.stderr
        assert "deadline" in proc.stderr
        assert get(cluster, "agd", namespace, "slow") is None

        # The reconcile gate: an agent stored in the exempt namespace is Unknown, not deployed.
        apply(cluster, contract(POLICY_NS), slow_in_exempt_ns)
        obj = wait_admitted(cluster, POLICY_NS, "slow-stored", "Unknown")
        assert condition(obj, "Admitted")["reason"] == "EngineUnavailable"
        assert "deadline" in condition(obj, "Admitted")["message"]
        assert get(cluster, "deployment", POLICY_NS, "slow-stored") is None

        # The same process answers the next decisions, at the door and in the gate.
        proc = kubectl_apply(cluster, agent(namespace, "next"))
        assert proc.returncode == 0, proc.stderr
        wait_admitted(cluster, namespace, "next", "True")
        assert operator.process is not None and operator.process.alive()
    finally:
        cluster.kubectl("delete", "agd", "slow-stored", "-n", POLICY_NS, check=False)
        cluster.kubectl("delete", "configmap", "golive-policy-slow", "-n", POLICY_NS, check=False)


# --- 10,000 hostile inputs through the embedded engine --------------------------------------------

ODD_NUMBERS = [
    1e308, -1e308, 1.7976931348623157e308, -0.0, 0.0, 5e-324, -5e-324, 1e-320,
    2.2250738585072014e-308, 0.1 + 0.2, 1e-7, 123456789.12345679, 2**53 + 1, 2**63 - 1, 2**63,
    2**63 + 1, -(2**63) - 1, 2**64 + 1, 10**30, -(10**30), 10**308, 3, -1,
]  # fmt: skip
# none of these is a person's name ("first last") or an email address
ONE_WORD = ["", " ", "\x00", "\u2028", "\ud800", "\ufeff", "\u202egnp.exe", "\U0001f916" * 100]
ODD_STRINGS = [*ONE_WORD, "a\nb", "Dana\u00a0Ruiz", "x" * 300]
HUGE_SIZES = [64 * 1024, 1024 * 1024, 3 * 1024 * 1024]
_huge: dict[tuple[int, bool], str] = {}


def nested(depth: int, kind: str, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        as_object = kind == "object" or (kind == "mixed" and level % 2 == 1)
        value = {"k": value} if as_object else [value]
    return value


# Costly values are drawn as small recipes and built in the test body, so that hypothesis shows
# a failing example as `Deep(depth=5000, ...)`, not as megabytes or thousands of brackets.
@dataclass(frozen=True)
class Deep:
    depth: int
    kind: str  # object | array | mixed
    leaf: Any

    def build(self) -> Any:
        return nested(self.depth, self.kind, self.leaf)


@dataclass(frozen=True)
class Huge:
    size: int
    one_word: bool  # "DanaDana..." is no person's name; "Dana Dana ..." has several words

    def build(self) -> str:
        """One shared string per recipe (building megabytes 10,000 times would be the cost)."""
        key = (self.size, self.one_word)
        if key not in _huge:
            text = ("Dana " * (self.size // 5 + 1))[: self.size]
            _huge[key] = text.replace(" ", "D") if self.one_word else text
        return _huge[key]


@dataclass(frozen=True)
class Wide:
    kind: str  # object | array

    def build(self) -> Any:
        return {f"k{i}": i for i in range(5_000)} if self.kind == "object" else [0] * 50_000


def build(value: Any) -> Any:
    return value.build() if isinstance(value, Deep | Huge | Wide) else value


leaves = st.one_of(st.sampled_from(ODD_NUMBERS), st.sampled_from(ODD_STRINGS), st.none())
deep_values = st.builds(
    Deep,
    depth=st.sampled_from([2, 30, 200, 600, 999, 1000, 2000, 5000]),
    kind=st.sampled_from(["object", "array", "mixed"]),
    leaf=leaves,
)


def weighted(**choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, drawn with the given weights (megabytes are costly: rare)."""
    names = [name for name, (weight, _) in choices.items() for _ in range(weight)]
    return st.sampled_from(names).flatmap(lambda name: choices[name][1])


hostile_values = weighted(
    number=(30, st.sampled_from(ODD_NUMBERS)),
    string=(20, st.sampled_from(ODD_STRINGS)),
    deep=(40, deep_values),
    huge=(1, st.builds(Huge, st.sampled_from(HUGE_SIZES), st.booleans())),
    wide=(1, st.builds(Wide, st.sampled_from(["object", "array"]))),
)
# invalid as a person's name or email whatever the value: the library must deny
invalid_people = weighted(
    number=(30, st.sampled_from(ODD_NUMBERS)),
    string=(20, st.sampled_from(ONE_WORD)),
    deep=(40, deep_values),
    huge=(1, st.builds(Huge, st.sampled_from(HUGE_SIZES[:2]), st.just(True))),
)
_EXAMPLE = (agent("fuzz", "hostile"), contract("fuzz"))


def example_agent() -> dict[str, Any]:
    """A fresh copy of the compliant example (parsed once; its contract is _EXAMPLE[1])."""
    return copy.deepcopy(_EXAMPLE[0])


BASES: dict[str, Callable[[dict[str, Any]], object]] = {
    "compliant": lambda spec: None,
    "team-owner": lambda spec: spec["owner"].update(name="Platform Team"),
    "no-fallback": lambda spec: spec.pop("fallback"),
    "no-budget": lambda spec: spec.pop("budget"),
}


@dataclass(frozen=True)
class Case:
    """A base agent (one of BASES) and one hostile value put at `where`/`target`."""

    base: str
    where: str  # noise | annotation | owner | requests
    target: str
    value: Any

    def agent(self) -> dict[str, Any]:
        obj = example_agent()
        BASES[self.base](obj["spec"])
        value = build(self.value)
        if self.where == "noise":  # a key no policy reads
            obj["spec"][self.target] = value
        elif self.where == "annotation":
            obj["metadata"]["annotations"] = {self.target: value}
        elif self.where == "owner" and self.target == "whole":
            obj["spec"]["owner"] = value
        elif self.where == "owner":
            obj["spec"]["owner"][self.target] = value
        else:
            obj["spec"]["budget"]["expectedDailyRequests"] = value
        return obj


@st.composite
def cases(draw: st.DrawFn) -> Case:
    base = draw(st.sampled_from(sorted(BASES)))
    where = draw(st.sampled_from(["noise", "annotation", "owner", "requests"]))
    if where == "noise":
        return Case(base, where, draw(st.sampled_from(["x-fuzz", "notes"])), draw(hostile_values))
    if where == "annotation":
        return Case(base, where, "fuzz", draw(hostile_values))
    if where == "owner":
        target = draw(st.sampled_from(["name", "email", "whole"]))
        return Case(base, where, target, draw(invalid_people))
    base = draw(st.sampled_from(sorted(set(BASES) - {"no-budget"})))
    return Case(base, where, "expectedDailyRequests", draw(st.sampled_from(ODD_NUMBERS)))


@pytest.fixture(scope="module")
def library() -> Iterator[PolicySet]:
    policies = policy_set_from_library("embedded")  # the SAFE library golive ships
    yield policies
    policies.engine.close()


_base_decisions: dict[str, Decision] = {}
seen = {"inputs": 0}


def decide(policy_set: PolicySet, obj: dict[str, Any]) -> Decision:
    return decide_agent(
        policy_set,
        read_agent(obj),
        contracts=lambda namespace, name: _EXAMPLE[1],  # read, never changed
        exceptions=[],
        context=PolicyContext(Operation.CHECK, NOW),
    ).decision


def assert_well_formed(decision: Decision) -> None:
    assert isinstance(decision.result, Result) and isinstance(decision.reason, Reason)
    assert decision.message.strip()
    if decision.result is Result.UNKNOWN:
        assert decision.reason in (Reason.POLICY_ERROR, Reason.ENGINE_UNAVAILABLE)
        assert decision.violations == ()
        return
    assert list(decision.violations) == sorted(set(decision.violations))
    for violation in decision.violations:
        assert FIELD.match(violation.field), violation
        assert violation.message.strip() and violation.policy.startswith("golive.")
    denies = decision.count("deny")
    assert (decision.result is Result.BLOCKED) == (denies > 0)
    if denies:
        assert decision.reason is Reason.VIOLATIONS
    else:
        quiet = Reason.COMPLIANT if not decision.violations else Reason.ADMITTED_WITH_FINDINGS
        assert decision.reason is quiet


def over_budget_at_100x(requests: Any) -> bool:
    """Whether the example's budget is exceeded at 100x `requests` a day (exact decimals)."""
    budget = _EXAMPLE[0]["spec"]["budget"]
    try:
        monthly = Decimal(budget["costPerRequest"]) * Decimal(requests) * 30 * 100
    except InvalidOperation:
        return False
    return monthly > Decimal(budget["monthlyLimit"])


@settings(
    max_examples=10_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=cases())
def test_ten_thousand_hostile_inputs_never_crash_or_admit_a_denied_agent(
    library: PolicySet, case: Case
) -> None:
    if case.base not in _base_decisions:
        clean = example_agent()
        BASES[case.base](clean["spec"])
        _base_decisions[case.base] = decide(library, clean)
    expected = _base_decisions[case.base]
    try:
        decision: Decision | None = decide(library, case.agent())  # must return, not raise
        raised = ""
    except Exception as error:
        decision, raised = None, type(error).__name__
    # Failed outside the handler and by type only, so hypothesis sees one failure however deep
    # the stack was when Python gave up.
    if decision is None:
        pytest.fail(f"decide_agent raised {raised} instead of returning a decision")
    seen["inputs"] += 1
    assert_well_formed(decision)
    if case.where in ("noise", "annotation"):
        # A value no policy reads changes nothing; at worst the input cannot be decided.
        if decision.result is not Result.UNKNOWN:
            assert decision.violations == expected.violations
            assert decision.result is expected.result
    elif case.where == "owner":
        assert decision.result is not Result.ADMITTED
        if decision.result is Result.BLOCKED:
            assert any(
                v.policy == "golive.ownership.single_owner" and v.enforcement == "deny"
                for v in decision.violations
            ), decision.violations
    elif expected.result is not Result.ADMITTED or over_budget_at_100x(case.value):
        assert decision.result is not Result.ADMITTED, decision.message


def test_hostile_fuzz_really_ran_and_covered_the_deep_cases(library: PolicySet) -> None:
    assert seen["inputs"] >= 10_000
    # The deepest and largest inputs explicitly, whatever the generator happened to draw.
    one_word = Huge(3 * 1024 * 1024, one_word=True).build()
    for value in (nested(5000, "object", 1), nested(5000, "array", 1), one_word):
        obj = example_agent()
        obj["spec"]["owner"]["name"] = value
        decision = decide(library, obj)
        assert_well_formed(decision)
        assert decision.result is not Result.ADMITTED


# --- deep nesting through golive check, the webhook and the operator ------------------------------


def deep_agent(namespace: str, name: str, depth: int) -> dict[str, Any]:
    """An agent nested `depth` levels deep in a free-form field of spec.template (the CRD keeps
    unknown fields there), whose owner is one word: the library and the opa_features fixture
    both deny it, so deciding it may give Blocked or Unknown, never Admitted."""
    obj = agent(namespace, name)
    obj["spec"]["owner"]["name"] = "Dana"
    obj["spec"]["template"]["metadata"]["x-deep"] = nested(depth, "object", "leaf")
    return obj


@contextlib.contextmanager
def deep_recursion() -> Iterator[None]:
    """Room for the test's own copies and JSON of deeply nested objects."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def dumps_deep(value: Any) -> str:
    with deep_recursion():
        return json.dumps(value)


def admitted_condition(cluster: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    """The Admitted condition alone (the whole object may be too deep for the test's json)."""
    proc = cluster.kubectl(
        "get", "agd", name, "-n", namespace, "-o", "jsonpath={.status.conditions}"
    )
    conditions = json.loads(proc.stdout or "[]")
    return next((c for c in conditions if c["type"] == "Admitted"), {})


@pytest.mark.parametrize("depth", [600, 990])
def test_check_decides_a_deeply_nested_manifest_without_crashing(
    tmp_path: Path, depth: int
) -> None:
    """libyaml refuses more than 1,000 levels (an input error); below that golive must decide."""
    manifests = tmp_path / "deep.json"
    manifests.write_text(dumps_deep(deep_agent("hostile", "deep", depth)))
    proc = golive(
        "check", "--no-safe-library", "--policies", str(FEATURES), "-o", "json", str(manifests)
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (1, 2), proc.stdout
    run = json.loads(proc.stdout)
    assert [a["result"] for a in run["agents"]] in ([], ["unknown"], ["blocked"]), run
    assert run["agents"] or run["errors"], run  # decided, or an input error naming the file


def post_raw(op: OperatorProcess, body: bytes) -> tuple[int, bytes]:
    req = urllib.request.Request(
        op.webhook_url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    context = ssl.create_default_context(cadata=op.webhook_ca.decode())
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def assert_refused_review(status: int, raw: bytes, uid: str) -> None:
    """A clear refusal: an AdmissionReview denying this uid, or a 400 with a JSON message."""
    assert status in (200, 400), (status, raw[:300])
    answer = json.loads(raw)
    if status == 400:
        assert answer.get("error"), answer
        return
    assert answer["response"]["uid"] == uid
    assert answer["response"]["allowed"] is False, answer


# Hostile owners up to 64 KiB (the CRD schema keeps larger ones from the webhook; megabytes
# reach it in free-form fields, see the large-agent test) and depths Python's json refuses.
webhook_owners = invalid_people.filter(lambda value: not isinstance(value, Huge))
webhook_cases = st.one_of(
    st.builds(
        Case,
        base=st.sampled_from(sorted(BASES)),
        where=st.just("owner"),
        target=st.sampled_from(["name", "email", "whole"]),
        value=st.one_of(webhook_owners, st.just(Huge(64 * 1024, one_word=True))),
    ),
    st.builds(Deep, st.sampled_from([600, 999, 5000]), st.just("object"), st.just("leaf")),
)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
@given(case=webhook_cases)
def test_hostile_reviews_through_the_live_webhook_are_refused(
    operator: OperatorProcess, case: Case | Deep
) -> None:
    """Agents the library denies (hostile owners) or nested deeper than Python's json reads."""
    obj = case.agent() if isinstance(case, Case) else deep_agent("fuzz", "hostile", case.depth)
    with deep_recursion():
        review = admission_review(obj, username="fuzzer")
    status, raw = post_raw(operator, dumps_deep(review).encode())
    assert_refused_review(status, raw, review["request"]["uid"])
    assert operator.process is not None and operator.process.alive()


def test_a_large_agent_the_api_server_accepts_is_reviewed(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    """Megabytes in a free-form field (a container's unknown fields are kept by the CRD): the
    API server accepts the object, so the webhook must review it, not fail on the body size
    (a failed call is a denial with failurePolicy Fail and an unreviewed admit with Ignore)."""
    apply(cluster, contract(namespace))
    for name, owner in (("large-compliant", "Dana Ruiz"), ("large-denied", "Dana")):
        large = agent(namespace, name)
        large["spec"]["owner"]["name"] = owner
        large["spec"]["template"]["spec"]["containers"][0]["x-blob"] = "a" * (1200 * 1024)
        proc = cluster.kubectl(
            "create", "--dry-run=server", "-f", "-", input=json.dumps(large), check=False
        )
        assert "failed calling webhook" not in proc.stderr, proc.stderr[-500:]
        if owner == "Dana Ruiz":
            assert proc.returncode == 0 and "(server dry run)" in proc.stdout, proc.stderr
        else:
            assert proc.returncode != 0
            assert f"golive denied {name}: [golive.ownership.single_owner] spec.owner.name" in (
                proc.stderr
            ), proc.stderr[-500:]
    assert operator.process is not None and operator.process.alive()


def test_a_stored_deeply_nested_agent_neither_kills_the_operator_nor_is_admitted(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str
) -> None:
    """Stored where the webhook does not look (its own namespace is exempt; so is everything
    with failurePolicy Ignore while the webhook is down), the reconcile gate must decide it
    (Blocked or Unknown: its owner is one word) and keep deciding the others. Runs last: it
    may take the operator down."""
    apply(cluster, contract(POLICY_NS))
    names = {600: "deep-600", 5000: "deep-5000"}
    process = operator.process
    assert process is not None
    try:
        for depth, name in names.items():
            proc = cluster.kubectl(
                "apply", "-f", "-", input=dumps_deep(deep_agent(POLICY_NS, name, depth))
            )
            assert proc.returncode == 0, proc.stderr

        def settled() -> bool:
            conditions = [admitted_condition(cluster, POLICY_NS, name) for name in names.values()]
            return not process.alive() or all(conditions)

        wait_for(settled, 30, "both deep agents decided (or the operator gone)")
        assert process.alive(), f"the operator died:\n{operator.log()[-2500:]}"
        for name in names.values():
            admitted = admitted_condition(cluster, POLICY_NS, name)
            assert admitted["status"] in ("False", "Unknown"), admitted  # its owner is one word
            assert get(cluster, "deployment", POLICY_NS, name) is None
        apply(cluster, contract(namespace), agent(namespace, "after-deep"))
        wait_admitted(cluster, namespace, "after-deep", "True")
    finally:
        for name in names.values():
            cluster.kubectl("delete", "agd", name, "-n", POLICY_NS, "--wait=false", check=False)
