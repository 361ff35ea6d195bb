"""Fuzz: 10,000 generated specs through the decision and 3,000 generated or mutated
AdmissionReview bodies through the live webhook. No crash, no 5xx, no admit without a
decision, and every rejection names a field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.domain.alert_rules import AlertRules
from controller.domain.decision import Result
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext
from controller.engine.decision_pipeline import PolicySet, decide_agent
from controller.engine.factory import policy_set_from_library
from kit.controlplane import REPO, ControlPlane
from kit.operator import OperatorProcess, admission_review
from tests.e2e.agents import agent
from tests.strategies import contract_spec, spec

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
FIELD = re.compile(r"^(spec|metadata)(\.[A-Za-z0-9_$]+|\[\d+\])*$")
DENIAL = re.compile(r"\[(golive\.[a-z0-9_.]+)\] (\S+): ")
seen: dict[str, int] = {"decisions": 0, "reviews": 0, "admitted": 0}


@pytest.fixture(scope="module")
def policy_set() -> Iterator[PolicySet]:
    policies = policy_set_from_library("embedded", [REPO / "policies"], safe_library=False)
    yield policies
    policies.engine.close()


def as_agent(agent_spec: Any, name: str = "fuzzed") -> dict[str, Any]:
    return {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": name, "namespace": "fuzz"},
        "spec": agent_spec,
    }


@settings(
    max_examples=10_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(agent_spec=spec, contract_body=st.one_of(st.none(), contract_spec))
def test_ten_thousand_specs_through_the_decision(
    policy_set: PolicySet, agent_spec: Any, contract_body: Any
) -> None:
    found = None if contract_body is None else {"spec": contract_body}
    verdict = decide_agent(
        policy_set,
        read_agent(as_agent(agent_spec)),
        contracts=lambda namespace, name: found,
        exceptions=[],
        context=PolicyContext(Operation.CHECK, NOW),
    )
    seen["decisions"] += 1
    decision = verdict.decision
    try:
        json.dumps(verdict.policy_input, allow_nan=False)
    except ValueError:
        # Infinity is valid YAML but not JSON (so never from the API server): no decision.
        assert decision.result is Result.UNKNOWN and decision.reason.value == "PolicyError"
        return
    # Any JSON shape is judged, not an engine failure: the library handles every shape.
    assert decision.result is not Result.UNKNOWN, decision.message
    for violation in decision.violations:
        assert FIELD.match(violation.field), violation
        assert violation.message.strip()
    if decision.result is Result.BLOCKED:
        assert decision.count("deny") > 0


def test_decision_fuzz_really_ran() -> None:
    assert seen["decisions"] >= 10_000


# --- the webhook ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def webhook(
    cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    cluster.kubectl("create", "namespace", "fuzz", check=False)
    op = OperatorProcess(cluster, tmp_path_factory.mktemp("fuzz-op"), webhook=True)
    try:
        op.start()
        yield op
    finally:
        op.stop()
        op.delete_webhook_config()


def review_body(agent_spec: Any, operation: str, dry_run: bool) -> dict[str, Any]:
    return admission_review(as_agent(agent_spec), operation, dry_run, username="fuzzer")


COMPLIANT_SPEC = agent("fuzz")["spec"]

junk = st.one_of(
    st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3), st.just({})
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real review, then one mutation: a key dropped or replaced deep inside, or raw bytes."""
    # Generated specs, and the compliant example (so that mutations also reach real admits).
    agent_spec = draw(st.one_of(spec, st.just(COMPLIANT_SPEC)))
    body = review_body(agent_spec, draw(st.sampled_from(["CREATE", "UPDATE"])), draw(st.booleans()))
    kind = draw(st.sampled_from(["none", "drop", "replace", "truncate", "bytes"]))
    if kind in ("drop", "replace"):
        node: Any = body
        path = draw(st.lists(st.sampled_from(["request", "object", "spec", "metadata", "kind",
                                              "resource", "uid", "userInfo", "owner", "budget"]),
                             min_size=1, max_size=4))  # fmt: skip
        for key in path[:-1]:
            if isinstance(node, dict) and isinstance(node.get(key), dict):
                node = node[key]
        if isinstance(node, dict) and path[-1] in node:
            if kind == "drop":
                del node[path[-1]]
            else:
                node[path[-1]] = draw(junk)
    raw = json.dumps(body).encode()
    if kind == "truncate":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    if kind == "bytes":
        raw = draw(st.binary(max_size=200))
    return raw


@settings(
    max_examples=3_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(raw=mutated())
def test_three_thousand_reviews_through_the_webhook(
    webhook: OperatorProcess, policy_set: PolicySet, raw: bytes
) -> None:
    status, answer = webhook.post_review(raw)
    seen["reviews"] += 1
    assert status < 500, (status, answer)
    if status != 200:
        assert status == 400 and answer, (status, answer)  # a clear error, never a crash
        return
    response = answer["response"]
    assert isinstance(response, dict)
    if response["allowed"]:
        # Every admit is justified: the same library decides the same object offline, as the
        # webhook must have (no contract or PrometheusRule lookup at admission, no exception or
        # label in the fuzz namespace), and admits it too.
        request = json.loads(raw)["request"]
        operation = Operation.CREATE if request["operation"] == "CREATE" else Operation.UPDATE
        verdict = decide_agent(
            policy_set,
            read_agent(request["object"]),
            contracts=None,
            exceptions=[],
            context=PolicyContext(operation, datetime.now(UTC)),
            alert_rules=AlertRules.deferred(),
        )
        assert verdict.decision.result is Result.ADMITTED, (verdict.decision.message, request)
        seen["admitted"] += 1
        return
    message = response["status"]["message"]
    assert message.strip()
    if message.startswith("golive denied"):
        named = DENIAL.findall(message)
        assert named, message
        assert all(FIELD.match(field) for _, field in named), message


def test_webhook_fuzz_really_ran_and_the_server_lives(webhook: OperatorProcess) -> None:
    assert seen["reviews"] >= 3_000
    assert webhook.process is not None and webhook.process.alive()
    status, _ = webhook.post_review(json.dumps(review_body({}, "CREATE", False)).encode())
    assert status == 200


def test_webhook_fuzz_admitted_some_reviews() -> None:
    # The justified-admit check above ran on real admits, not only on denials.
    assert seen["admitted"] > 0, seen


def test_generated_agents_through_the_api_server_store_only_what_golive_admits(
    cluster: ControlPlane, webhook: OperatorProcess, policy_set: PolicySet
) -> None:
    """Generated agents applied for real (kubectl apply through the API server and the
    registered webhook): each one stored is one the library admits; each one the library
    blocks is refused and not stored."""
    agents = st.lists(spec, min_size=40, max_size=40).example()
    stored = refused = 0
    for i, agent_spec in enumerate(agents):
        obj = as_agent(agent_spec, f"fuzz-store-{i}")
        verdict = decide_agent(
            policy_set,
            read_agent(obj),
            contracts=None,
            exceptions=[],
            context=PolicyContext(Operation.CREATE, datetime.now(UTC)),
            alert_rules=AlertRules.deferred(),
        )
        try:
            body = json.dumps(obj, allow_nan=False)
        except ValueError:
            continue  # not JSON, so never sent by a client
        proc = cluster.kubectl("apply", "-f", "-", input=body, check=False)
        exists = cluster.kubectl("get", "agd", obj["metadata"]["name"], "-n", "fuzz", check=False)
        if exists.returncode == 0:
            stored += 1
            assert verdict.decision.result is Result.ADMITTED, (verdict.decision.message, obj)
        if verdict.decision.result is not Result.ADMITTED:
            refused += 1
            assert proc.returncode != 0 and exists.returncode != 0, (proc.stdout, obj)
    assert refused > 0  # generated specs are mostly incomplete: golive refuses them
