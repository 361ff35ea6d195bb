"""Parity: the embedded engine (OPA in-process) and a real OPA server give identical answers.

Every sample manifest of the real library (policies/**/samples) plus >= 10,000 generated
AgentDeployments (fields present, absent, well- and ill-typed) are evaluated on both engines;
the sorted raw violations must be identical. Divergences are counted and shown, not shrunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from controller.domain.contract import resolve_contract
from controller.domain.model import parse_agent_exception, read_agent
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import PolicyBundle, load_bundle_dir
from controller.engine.embedded import EmbeddedEngine
from controller.engine.protocol import EngineError
from controller.engine.remote import RemoteEngine
from kit.controlplane import OpaServer
from tests.strategies import contract_spec, namespace_labels, policy_ids, resolution, spec

pytestmark = pytest.mark.e2e

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
GENERATED_EXAMPLES = 10_000


@pytest.fixture(scope="module")
def bundle() -> PolicyBundle:
    if not any(POLICIES.glob("*/*/policy.rego")):
        pytest.fail("policies/ has no policy folders")
    return load_bundle_dir(POLICIES)


@pytest.fixture(scope="module")
def engines(
    bundle: PolicyBundle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[EmbeddedEngine, RemoteEngine]]:
    server = OpaServer(tmp_path_factory.mktemp("opa")).start()
    try:
        with EmbeddedEngine(bundle) as embedded, RemoteEngine(bundle, server.url) as remote:
            yield embedded, remote
    finally:
        server.stop()


def answer(engine: EmbeddedEngine | RemoteEngine, policy_input: dict[str, Any]) -> str:
    """The engine's answer as canonical JSON; an error is an answer too (its class)."""
    try:
        return json.dumps([vars(v) for v in engine.evaluate(policy_input)], sort_keys=True)
    except EngineError as error:
        return f"{type(error).__name__}"


def sample_inputs() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(POLICIES.glob("*/*/samples/*/*.yaml.sample")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        agents = [d for d in documents if d.get("kind") == "AgentDeployment"]
        contracts = {
            d["metadata"]["name"]: d for d in documents if d.get("kind") == "AgentContract"
        }
        # A sample's Namespace (Pod Security levels) is its agents' namespaceLabels.
        labels = {
            str(d["metadata"]["name"]): dict(d["metadata"].get("labels") or {})
            for d in documents
            if d.get("kind") == "Namespace"
        }
        exceptions = []
        for document in documents:
            if document.get("kind") == "AgentException":
                exceptions.append(parse_agent_exception(document))
        for agent in agents:
            ref = (agent.get("spec") or {}).get("contractRef") or {}
            name = ref.get("name") if isinstance(ref, dict) else None
            for operation, skipped in ((Operation.CHECK, False), (Operation.CREATE, True)):
                contract = resolve_contract(name, contracts.get(name), lookup_skipped=skipped)
                namespace = agent["metadata"].get("namespace", "")
                context = PolicyContext(operation, NOW, labels.get(namespace, {}))
                policy_input = build_policy_input(read_agent(agent), contract, exceptions, context)
                cases.append((f"{path.relative_to(POLICIES)}:{operation.value}", policy_input))
    return cases


def test_every_sample_gives_identical_answers(
    engines: tuple[EmbeddedEngine, RemoteEngine],
) -> None:
    embedded, remote = engines
    cases = sample_inputs()
    assert len(cases) >= 20
    divergences = [
        (name, embedded_answer, remote_answer)
        for name, policy_input in cases
        if (embedded_answer := answer(embedded, policy_input))
        != (remote_answer := answer(remote, policy_input))
    ]
    assert divergences == [], f"{len(divergences)} of {len(cases)} samples diverge"
    # The samples are meant to exercise the library: some must be denied, some allowed.
    answers = {answer(embedded, policy_input) for _, policy_input in cases}
    assert "[]" in answers and len(answers) > 5


# --- generated agents (strategies in tests/strategies.py) -----------------------------------


@st.composite
def policy_inputs(draw: st.DrawFn) -> dict[str, Any]:
    agent_spec = draw(spec)
    agent = {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "invoice-triage", "namespace": "finance-agents",
                     "labels": draw(st.one_of(st.just({}), st.just({"team": "ap"})))},
        "spec": agent_spec,
    }  # fmt: skip
    how = draw(resolution)
    ref_name = "invoice-triage-v3"
    if how == "undeclared":
        contract = resolve_contract(None, None)
    elif how == "missing":
        contract = resolve_contract(ref_name, None)
    elif how == "skipped":
        contract = resolve_contract(ref_name, None, lookup_skipped=True)
    else:
        contract = resolve_contract(ref_name, {"spec": draw(contract_spec)})
    operation = draw(st.sampled_from(list(Operation)))
    labels = draw(namespace_labels)
    policy_input = build_policy_input(
        read_agent(agent), contract, [], PolicyContext(operation, NOW, labels)
    )
    policy_input["exceptions"] = draw(st.lists(st.fixed_dictionaries({
        "name": st.just("x"), "policies": st.lists(policy_ids, max_size=2),
        "expiresAt": st.just("2026-12-01T00:00:00Z")}), max_size=2))  # fmt: skip
    return policy_input


@pytest.mark.parametrize(
    "odd_value",
    [-2.3349214891446446e-19, 3.349471906968371e16, 1e300, 0.1, [2, 2], {"a": 1.5}],
)
def test_wrongly_typed_values_render_the_same_on_both_engines(
    engines: tuple[EmbeddedEngine, RemoteEngine], odd_value: Any
) -> None:
    """Found by the generator in the rego-cpp era: a float where a string belongs was rendered
    "-0" by the old embedded engine and exactly by OPA; kept as a regression case."""
    embedded, remote = engines
    agent = {
        "apiVersion": "golive.dev/v1alpha1",
        "kind": "AgentDeployment",
        "metadata": {"name": "odd", "namespace": "parity"},
        "spec": {"monitoring": {"dashboard": odd_value}, "owner": {"name": odd_value}},
    }
    policy_input = build_policy_input(
        read_agent(agent), resolve_contract(None, None), [], PolicyContext(Operation.CHECK, NOW)
    )
    assert answer(embedded, policy_input) == answer(remote, policy_input)
    assert json.dumps(odd_value, separators=(",", ":")) in answer(remote, policy_input).replace(
        '\\"', '"'
    )


def test_generated_agents_give_identical_answers(
    engines: tuple[EmbeddedEngine, RemoteEngine],
) -> None:
    embedded, remote = engines
    seen: list[int] = []
    divergences: list[tuple[str, str, str]] = []
    answers: set[str] = set()

    @settings(
        max_examples=GENERATED_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # count every divergence instead of shrinking the first
        suppress_health_check=list(HealthCheck),
    )
    @given(policy_input=policy_inputs())
    def compare(policy_input: dict[str, Any]) -> None:
        seen.append(1)
        embedded_answer = answer(embedded, policy_input)
        remote_answer = answer(remote, policy_input)
        answers.add(embedded_answer)
        if embedded_answer != remote_answer:
            divergences.append((json.dumps(policy_input["agent"]["spec"])[:600],
                                embedded_answer[:600], remote_answer[:600]))  # fmt: skip

    compare()
    print(f"\nparity: {len(seen)} generated inputs, {len(answers)} distinct answers, "
          f"{len(divergences)} divergences")  # fmt: skip
    assert len(seen) >= GENERATED_EXAMPLES
    assert len(answers) > 50, "the generator should reach many different outcomes"
    assert divergences == [], f"{len(divergences)} of {len(seen)} diverge; first: {divergences[:3]}"
