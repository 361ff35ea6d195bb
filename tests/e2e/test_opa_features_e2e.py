"""OPA features golive once refused, decided alike everywhere (fixtures/opa_features).

The fixture's policies use `time.parse_rfc3339_ns` on a Kubernetes `...Z` timestamp compared
with `time.now_ns()` (golive's decision time), `rego.metadata.rule()`, `sprintf("%v", ...)` over
computed numbers and `with input as {...}` inside a rule. The same agents are decided by:

- `golive check --engine embedded` and `golive check --engine remote` (a real `opa run --server`),
  at two `--at` times, one before and one after the review date;
- the `opa` binary itself (`opa eval` of the bundle's modules, generated entry point included,
  on the exact input golive builds);
- the admission webhook of a real `golive run` on a real kube-apiserver (kubectl apply);
- the reconcile gate of the same process (status.violations of stored agents).

Whole violation lists (policy, field, message) must be equal, not only admit/deny.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from controller.check.loader import load
from controller.check.run import with_namespace
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext
from controller.engine.bundle import TIMED_ENTRYPOINT_RULE, load_library
from controller.engine.decision_pipeline import PolicySet, decide_agent
from controller.engine.factory import policy_set_from_library
from controller.engine.protocol import ENTRYPOINT_PACKAGE
from kit.controlplane import REPO, ControlPlane, OpaServer, tool_bin_dir
from kit.operator import OperatorProcess
from tests.e2e.agents import agent, get, wait_admitted

FIXTURE = REPO / "tests" / "e2e" / "fixtures" / "opa_features"
REVIEW_BY = "golive.dev/review-by"
REVIEW_FIELD = 'metadata.annotations["golive.dev/review-by"]'
PAST_REVIEW = "2020-01-31T09:30:00Z"  # a Friday
BEFORE_REVIEW = "2019-06-01T00:00:00Z"  # an --at at which PAST_REVIEW is still ahead
WEBHOOK = 'admission webhook "agentdeployments.golive.dev" denied the request: '
DENIAL_ENTRY = re.compile(r"\[(golive\.[a-z0-9_.]+)\] (\S+): (.*?)(?=; \[golive\.|$)")

Triple = tuple[str, str, str]  # (policy, field, message)


# --- the agents -----------------------------------------------------------------------------------


def cases(namespace: str) -> dict[str, dict[str, Any]]:
    """AgentDeployments (name -> object) built from the compliant example, one fixture rule
    broken per case, and one that breaks all of them. All pass the CRD schema."""

    def make(name: str, review_by: str = "2099-12-31T00:00:00Z") -> dict[str, Any]:
        obj = agent(namespace, name)
        obj["metadata"]["annotations"] = {REVIEW_BY: review_by}
        return obj

    out = {"compliant": make("compliant")}
    out["overdue"] = make("overdue", PAST_REVIEW)
    out["not-a-time"] = make("not-a-time", "next tuesday")
    out["many-replicas"] = make("many-replicas")
    out["many-replicas"]["spec"]["replicas"] = 5
    out["big-spender"] = make("big-spender")
    out["big-spender"]["spec"]["budget"].update(
        costPerRequest="0.0125", expectedDailyRequests=70001
    )
    out["unnamed-approvers"] = make("unnamed-approvers")
    out["unnamed-approvers"]["spec"]["governance"]["approvals"] += [
        {"name": "ops", "email": "ops@example.com", "role": "security", "at": "2026-11-21"},
        {"email": "sam.ortiz@example.com", "role": "legal", "at": "2026-11-22"},
    ]
    everything = copy.deepcopy(out["unnamed-approvers"])
    everything["metadata"]["name"] = "everything"
    everything["metadata"]["annotations"] = {REVIEW_BY: PAST_REVIEW}
    everything["spec"]["replicas"] = 7
    everything["spec"]["owner"]["name"] = "Dana"
    everything["spec"]["budget"].update(costPerRequest="0.1", expectedDailyRequests=5003)
    out["everything"] = everything
    return {name: obj for name, obj in out.items()}


def write_manifests(directory: Path, objects: list[dict[str, Any]]) -> Path:
    path = directory / "agents.yaml"
    path.write_text("\n---\n".join(json.dumps(obj) for obj in objects) + "\n")
    return path


# --- the deciders ---------------------------------------------------------------------------------


def golive(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="4000", NO_COLOR="1")  # one line per message, no wrapping
    return subprocess.run(
        [sys.executable, "-m", "controller.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def check_json(manifests: Path, at: str, *engine: str) -> dict[str, dict[str, Any]]:
    """`golive check -o json`: agent name -> {"result", "violations": sorted triples}."""
    proc = golive("check", "--no-safe-library", "--policies", str(FIXTURE), "--at", at,
                  "-o", "json", *engine, str(manifests))  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr  # 2 would be a load or input error
    run = json.loads(proc.stdout)
    assert run["errors"] == [] and run["engine"] == (engine[1] if engine else "embedded")
    return {
        a["name"]: {
            "result": a["result"],
            "violations": sorted((f["policy"], f["field"], f["message"]) for f in a["findings"]),
        }
        for a in run["agents"]
    }


def opa_eval(workdir: Path, modules: dict[str, str], policy_input: dict[str, Any]) -> list[Triple]:
    """The `opa` binary's answer for the bundle's modules (entry point included) and an input."""
    policies = workdir / "modules"
    for name, text in modules.items():
        target = policies / name.lstrip("/")  # names start with the folder given to golive
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    input_path = workdir / "input.json"
    input_path.write_text(json.dumps(policy_input))
    query = f"data.{ENTRYPOINT_PACKAGE}.{TIMED_ENTRYPOINT_RULE}"
    opa = tool_bin_dir(["opa"]) / "opa"
    proc = subprocess.run(
        [str(opa), "eval", "--format", "json", "--data", str(policies), "--input",
         str(input_path), query],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)["result"]
    value = result["expressions"][0]["value"]
    assert all(set(entry) == {"policy", "field", "msg"} for entry in value), value
    return sorted((v["policy"], v["field"], v["msg"]) for v in value)


def inputs_as_golive_check_builds_them(
    policy_set: PolicySet, manifests: Path, at: str
) -> dict[str, dict[str, Any]]:
    """The policy input of every agent in `manifests`, built by the loader and decide_agent as
    `golive check` builds it (no contracts given, no exceptions, operation CHECK)."""
    now = datetime.fromisoformat(at)
    out = {}
    for doc in load([str(manifests)]).documents:
        verdict = decide_agent(
            policy_set,
            read_agent(with_namespace(doc)),
            contracts=lambda namespace, name: None,  # no --contracts given
            exceptions=[],
            context=PolicyContext(Operation.CHECK, now),
        )
        out[doc.name] = dict(verdict.policy_input)
    return out


def rule_title(path: Path) -> str:
    """The `title:` of the METADATA block before the first rule (not the package's)."""
    text = path.read_text()
    rule_block = text[text.index("\npackage ") :]
    found = re.search(r"^# title: (.+)$", rule_block, re.MULTILINE)
    assert found is not None
    return found.group(1)


# --- golive check (both engines) and opa eval -----------------------------------------------------


@pytest.fixture(scope="module")
def opa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpaServer]:
    server = OpaServer(tmp_path_factory.mktemp("opa-features-opa"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def embedded() -> Iterator[PolicySet]:
    policies = policy_set_from_library("embedded", [FIXTURE], safe_library=False)
    yield policies
    policies.engine.close()


@pytest.mark.parametrize("at", [BEFORE_REVIEW, "2026-11-25T17:00:00Z"])
def test_check_on_both_engines_and_opa_eval_give_the_same_violations(
    opa: OpaServer, embedded: PolicySet, tmp_path: Path, at: str
) -> None:
    agents = cases("opa-features")
    manifests = write_manifests(tmp_path, list(agents.values()))
    local = check_json(manifests, at)
    remote = check_json(manifests, at, "--engine", "remote", "--opa-url", opa.url)
    assert remote == local
    assert set(local) == set(agents)

    bundle = load_library([FIXTURE], safe_library=False)  # as golive check loads it
    inputs = inputs_as_golive_check_builds_them(embedded, manifests, at)
    for name, policy_input in inputs.items():
        assert policy_input["context"]["now"] == at
        by_opa = opa_eval(tmp_path / name, dict(bundle.modules), policy_input)
        assert by_opa == local[name]["violations"], name
        # every fixture policy is `deny`: blocked exactly when something was found
        assert local[name]["result"] == ("blocked" if by_opa else "admitted"), name

    # What the features compute, so that agreeing on nothing or on garbage cannot pass.
    found = {name: local[name]["violations"] for name in local}
    assert found["compliant"] == []
    overdue = [
        (
            "golive.schedule.review_by",
            REVIEW_FIELD,
            f"the review was due on Friday 2020-01-31 ({PAST_REVIEW}); "
            "review the agent, then move the date",
        )
    ]
    assert found["overdue"] == ([] if at == BEFORE_REVIEW else overdue)  # --at moves it
    assert found["not-a-time"] == [
        (
            "golive.schedule.review_by",
            REVIEW_FIELD,
            "next tuesday is not an RFC 3339 time such as 2027-01-31T00:00:00Z",
        )
    ]
    title = rule_title(FIXTURE / "messages" / "titled_replicas" / "policy.rego")
    assert found["many-replicas"] == [
        ("golive.messages.titled_replicas", "spec.replicas", f"{title}: spec.replicas is 5")
    ]
    assert found["big-spender"] == [
        (
            "golive.messages.daily_spend",
            "spec.budget.costPerRequest",
            "0.0125 USD a request x 70001 requests a day = 875.0125 a day "
            "(0.6076475694444444 a minute, 6125.0875 a week), above 500",
        )
    ]
    assert found["unnamed-approvers"] == [
        (
            "golive.people.approvers_named",
            "spec.governance.approvals[1].name",
            "approver ops is not a named person (first and last name)",
        ),
        (
            "golive.people.approvers_named",
            "spec.governance.approvals[2].name",
            "approver null is not a named person (first and last name)",
        ),
    ]
    policies_hit = {policy for policy, _, _ in found["everything"]}
    assert policies_hit == set(bundle.policies) - (
        {"golive.schedule.review_by"} if at == BEFORE_REVIEW else set()
    )
    owner = "the owner is not a named person (first and last name)"
    assert ("golive.people.approvers_named", "spec.owner.name", owner) in found["everything"]


def test_time_now_ns_is_the_decision_time_on_every_engine(
    opa: OpaServer, embedded: PolicySet, tmp_path: Path
) -> None:
    """The review date itself as --at: not yet passed; one second later: passed. Both engines
    and opa eval (through the generated `violations_at_decision_time`) flip at that second."""
    overdue = {"overdue": cases("opa-features")["overdue"]}
    manifests = write_manifests(tmp_path, list(overdue.values()))
    bundle = load_library([FIXTURE], safe_library=False)  # as golive check loads it
    for at, expected in ((PAST_REVIEW, "admitted"), ("2020-01-31T09:30:01Z", "blocked")):
        local = check_json(manifests, at)
        remote = check_json(manifests, at, "--engine", "remote", "--opa-url", opa.url)
        assert local == remote and local["overdue"]["result"] == expected, (at, local)
        policy_input = inputs_as_golive_check_builds_them(embedded, manifests, at)["overdue"]
        by_opa = opa_eval(tmp_path / at.replace(":", ""), dict(bundle.modules), policy_input)
        assert by_opa == local["overdue"]["violations"]


# --- the webhook and the reconcile gate -----------------------------------------------------------


@pytest.fixture(scope="module", params=["embedded", "remote"])
def operator(
    cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[OperatorProcess]:
    """`golive run` with the fixture folder, serving the webhook (registered by URL), on each
    engine; the remote one on its own OPA server."""
    engine = str(request.param)
    server = (
        OpaServer(tmp_path_factory.mktemp("opa-features-op-opa")) if engine == "remote" else None
    )
    op = OperatorProcess(
        cluster,
        tmp_path_factory.mktemp(f"opa-features-op-{engine}"),
        engine=engine,
        opa_url=server.start().url if server else None,
        policies=FIXTURE,
        webhook=True,
    )
    op.delete_webhook_config()
    try:
        yield op.start()
    finally:
        op.stop()
        op.delete_webhook_config()
        if server:
            server.stop()


def expected_now(tmp_path: Path, agents: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What `golive check` says now (the webhook and the gate decide as of their own now; the
    fixture's dates are far from it, so the verdicts cannot move in between)."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return check_json(write_manifests(tmp_path, list(agents.values())), at)


def denial_entries(stderr: str) -> list[Triple]:
    assert WEBHOOK in stderr, stderr
    message = stderr[stderr.index(WEBHOOK) + len(WEBHOOK) :].strip()
    assert message.startswith("golive denied "), message
    return sorted(DENIAL_ENTRY.findall(message))


def test_the_webhook_refuses_with_the_same_violations_as_check(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str, tmp_path: Path
) -> None:
    agents = cases(namespace)
    expected = expected_now(tmp_path, agents)
    assert {n for n, e in expected.items() if e["result"] == "admitted"} == {"compliant"}
    for name, obj in agents.items():
        proc = cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=False)
        if expected[name]["result"] == "admitted":
            assert proc.returncode == 0, proc.stderr
            stored = wait_admitted(cluster, namespace, name, "True")
            assert stored["status"].get("violations", []) == []
            continue
        assert proc.returncode != 0, (name, proc.stdout)
        assert denial_entries(proc.stderr) == expected[name]["violations"], name
        assert get(cluster, "agd", namespace, name) is None


def test_the_reconcile_gate_blocks_with_the_same_violations_as_check(
    cluster: ControlPlane, operator: OperatorProcess, namespace: str, tmp_path: Path
) -> None:
    """Stored without the webhook (as with failurePolicy Ignore or objects older than golive),
    each agent is decided by the reconcile gate alone."""
    agents = cases(namespace)
    expected = expected_now(tmp_path, agents)
    saved = json.loads(
        cluster.kubectl("get", "validatingwebhookconfiguration", "golive", "-o", "json").stdout
    )
    operator.delete_webhook_config()
    try:
        for obj in agents.values():
            cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))
    finally:
        for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
            saved["metadata"].pop(key, None)
        cluster.kubectl("create", "-f", "-", input=json.dumps(saved))
    for name in agents:
        admitted = "True" if expected[name]["result"] == "admitted" else "False"
        stored = wait_admitted(cluster, namespace, name, admitted)
        assert stored["status"]["policy"]["engine"] == operator.engine
        violations = stored["status"].get("violations", [])
        assert (
            sorted((v["policy"], v["field"], v["message"]) for v in violations)
            == expected[name]["violations"]
        ), name
        assert all(v["enforcement"] == "deny" for v in violations)
        deployment = get(cluster, "deployment", namespace, name)
        assert (deployment is not None) == (admitted == "True"), name
