"""The golive CRDs on a real kube-apiserver: installed, established, and enforcing.

What only a real API server can tell: the schemas are accepted as structural, the CEL rules
compile and fit the estimated cost budget, malformed objects are rejected with the path of the
offending field (the message a developer sees in `kubectl apply` or in Argo CD), stored objects
come back exactly as sent (no defaulting, no pruning: Argo CD stays Synced), and `kubectl get`
prints the columns the CRDs declare.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from kit.controlplane import ControlPlane
from tests.unit.test_crds import (
    DELETE,
    DIGEST,
    GROUP,
    KINDS,
    NOW,
    VERSION,
    design_agent,
    design_contract,
    design_exception,
    design_status,
    with_field,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CRD_DIR = REPO / "crds"


@pytest.fixture(scope="module")
def crds(cluster: ControlPlane) -> ControlPlane:
    """The three CRDs applied from crds/ (idempotent if the session fixture already did)."""
    cluster.apply_crds(CRD_DIR)
    # Established means served; discovery and the published OpenAPI (kubectl get by short name,
    # kubectl explain) follow a moment later.
    deadline = time.monotonic() + 60
    probes = [("get", "agd,agc,agx", "-A"), ("explain", "agd.spec"), ("explain", "agx.spec")]
    while probes:
        if cluster.kubectl(*probes[0], check=False).returncode == 0:
            probes.pop(0)
            continue
        assert time.monotonic() < deadline, f"kubectl {' '.join(probes[0])} never succeeded"
        time.sleep(0.5)
    return cluster


@pytest.fixture
def namespace(crds: ControlPlane) -> Iterator[str]:
    """A fresh namespace per test (a unique name: parametrized tests each get their own)."""
    name = f"crds-{uuid.uuid4().hex[:10]}"
    crds.kubectl("create", "namespace", name)
    yield name
    crds.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _api(cluster: ControlPlane) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(cluster.api_client())


def _plural(kind: str) -> str:
    return KINDS[kind][0]


def create(cluster: ControlPlane, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = namespace
    return _api(cluster).create_namespaced_custom_object(
        GROUP, VERSION, namespace, _plural(obj["kind"]), obj, field_validation="Strict"
    )


def rejection(cluster: ControlPlane, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Create obj, expect a 422 Invalid, return the Status body."""
    with pytest.raises(ApiException) as err:
        create(cluster, namespace, obj)
    assert err.value.status == 422, err.value.body
    status = json.loads(err.value.body)
    assert status["reason"] == "Invalid", status
    return status


def causes(status: dict[str, Any]) -> dict[str, str]:
    return {c.get("field", ""): c.get("message", "") for c in status["details"]["causes"]}


# --------------------------------------------------------------------------------------------
# installation


def test_crds_are_established_and_structural(crds: ControlPlane) -> None:
    ext = client.ApiextensionsV1Api(crds.api_client())
    for plural, _ in KINDS.values():
        crd = ext.read_custom_resource_definition(f"{plural}.{GROUP}")
        conds = {c.type: c for c in crd.status.conditions}
        assert conds["Established"].status == "True", conds
        assert conds["NamesAccepted"].status == "True", conds
        # The API server flags a non-structural schema with this condition instead of failing.
        assert "NonStructuralSchema" not in conds, conds["NonStructuralSchema"].message
        assert crd.status.accepted_names.short_names == [KINDS[crd.spec.names.kind][1]]


def test_stored_crds_equal_the_files(crds: ControlPlane) -> None:
    # The API server adds no defaults to the CRDs themselves: git equals live (no Argo CD drift
    # on the CRDs either).
    for path in sorted(CRD_DIR.glob("*.yaml")):
        want = yaml.safe_load(path.read_text())
        live = json.loads(crds.kubectl("get", "crd", want["metadata"]["name"], "-o", "json").stdout)
        assert live["spec"]["versions"] == want["spec"]["versions"], path.name
        assert live["spec"]["names"] == want["spec"]["names"], path.name


def test_kubectl_explain_describes_fields(crds: ControlPlane) -> None:
    out = crds.kubectl("explain", "agd.spec.budget.monthlyLimit").stdout
    assert "decimal string" in out
    out = crds.kubectl("explain", "agx.spec.expiresAt").stdout
    assert "RFC 3339" in out


# --------------------------------------------------------------------------------------------
# valid objects


def test_design_examples_are_accepted_and_round_trip(crds: ControlPlane, namespace: str) -> None:
    for obj in (design_contract(), design_agent(), design_exception()):
        obj["metadata"]["namespace"] = namespace
        created = create(crds, namespace, obj)
        # Exactly what was sent: no defaulting, no pruning (GitOps: no drift).
        assert created["spec"] == obj["spec"], obj["kind"]
        assert "status" not in created


def test_minimal_agent_is_accepted(crds: ControlPlane, namespace: str) -> None:
    # The checklist is Rego's to judge, so a bare agent is stored (and later blocked by golive).
    agent = design_agent()
    agent["spec"] = {"template": agent["spec"]["template"]}
    assert create(crds, namespace, agent)["spec"] == agent["spec"]


def test_unquoted_yaml_date_is_accepted_by_kubectl(crds: ControlPlane, namespace: str) -> None:
    agent = design_agent()
    agent["metadata"] = {"name": "unquoted-date", "namespace": namespace}
    text = yaml.safe_dump(agent).replace("at: '2026-11-20'", "at: 2026-11-20")
    assert "at: 2026-11-20\n" in text
    crds.kubectl("apply", "--server-side", "-f", "-", input=text)
    live = json.loads(
        crds.kubectl("get", "agd", "unquoted-date", "-n", namespace, "-o", "json").stdout
    )
    assert live["spec"]["governance"]["approvals"][0]["at"] == "2026-11-20"


# --------------------------------------------------------------------------------------------
# rejections name the field


BAD_AGENTS = [
    # (field to change, value, field path the API server must name, words in its message)
    ("spec.fallback.mode", "escalate", "spec.fallback.mode", "Unsupported value"),
    ("spec.budget.monthlyLimit", "4,000", "spec.budget.monthlyLimit", "should match"),
    ("spec.budget.monthlyLimit", 4000, "spec.budget.monthlyLimit", "must be of type string"),
    ("spec.budget.costPerRequest", "0.0000001", "spec.budget.costPerRequest", "should match"),
    ("spec.budget.currency", "usd", "spec.budget.currency", "should match"),
    ("spec.budget.expectedDailyRequests", -1, "spec.budget.expectedDailyRequests", "0"),
    ("spec.fallback.timeoutSeconds", 0, "spec.fallback.timeoutSeconds", "1"),
    ("spec.fallback.timeoutSeconds", 3601, "spec.fallback.timeoutSeconds", "3600"),
    ("spec.owner.email", "dana.ruiz", "spec.owner.email", "should match"),
    ("spec.monitoring.dashboard", "grafana/d/1", "spec.monitoring.dashboard", "should match"),
    ("spec.monitoring.metricsPath", "metrics", "spec.monitoring.metricsPath", "should match"),
    ("spec.governance.reviewCadence", "daily", "spec.governance.reviewCadence", "Unsupported"),
    (
        "spec.governance.approvals.0.at",
        "20/11/2026",
        "spec.governance.approvals[0].at",
        "date",
    ),
    ("spec.replicas", 51, "spec.replicas", "50"),
    ("spec.template", DELETE, "spec.template", "Required value"),
    ("spec.template.spec.containers", [], "spec.template.spec.containers", "at least 1"),
]


@pytest.mark.parametrize(
    ("field", "value", "path", "words"),
    BAD_AGENTS,
    ids=[f"{f}={v if v is not DELETE else 'missing'!r}" for f, v, _, _ in BAD_AGENTS],
)
def test_bad_agent_is_rejected_with_field_path(
    crds: ControlPlane, namespace: str, field: str, value: Any, path: str, words: str
) -> None:
    status = rejection(crds, namespace, with_field(design_agent(), field, value))
    found = causes(status)
    assert path in found, found
    assert words in found[path], found


def test_cel_fallback_target_required_for_human_review(crds: ControlPlane, namespace: str) -> None:
    for mode in ("human-review", "static-response"):
        agent = design_agent()
        agent["spec"]["fallback"] = {"mode": mode, "timeoutSeconds": 30}
        found = causes(rejection(crds, namespace, agent))
        assert "spec.fallback.target" in found, found
        assert "fallback.target is required" in found["spec.fallback.target"]
        agent["spec"]["fallback"]["target"] = ""
        assert "spec.fallback.target" in causes(rejection(crds, namespace, agent))
    # The rule is conditional: other modes do not need a target.
    for i, mode in enumerate(("previous-version", "disable")):
        agent = design_agent()
        agent["metadata"]["name"] = f"fallback-{i}"
        agent["spec"]["fallback"] = {"mode": mode}
        create(crds, namespace, agent)


def test_cel_budget_amounts_need_a_currency(crds: ControlPlane, namespace: str) -> None:
    agent = design_agent()
    del agent["spec"]["budget"]["currency"]
    found = causes(rejection(crds, namespace, agent))
    assert "spec.budget.currency" in found, found
    assert "currency is required" in found["spec.budget.currency"]
    agent["spec"]["budget"] = {}  # an empty budget is Rego's to judge, not the schema's
    create(crds, namespace, agent)


def test_cel_exception_rules(crds: ControlPlane, namespace: str) -> None:
    agx = with_field(design_exception(), "spec.approver.name", "   ")
    found = causes(rejection(crds, namespace, agx))
    assert "spec.approver.name" in found and "must not be blank" in found["spec.approver.name"]
    found = causes(rejection(crds, namespace, with_field(design_exception(), "spec.reason", " ")))
    assert "spec.reason" in found, found


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("spec.targets", [], "spec.targets"),
        ("spec.policies", DELETE, "spec.policies"),
        ("spec.ticket", DELETE, "spec.ticket"),
        ("spec.approver.email", DELETE, "spec.approver.email"),
        ("spec.expiresAt", "next friday", "spec.expiresAt"),
        ("spec.expiresAt", "2026-12-01", "spec.expiresAt"),
    ],
)
def test_bad_exception_is_rejected_with_field_path(
    crds: ControlPlane, namespace: str, field: str, value: Any, path: str
) -> None:
    found = causes(rejection(crds, namespace, with_field(design_exception(), field, value)))
    assert path in found, found


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("spec.version", 3, "spec.version"),
        ("spec.inputSchema", "a string", "spec.inputSchema"),
        ("spec.outputSchema", DELETE, "spec.outputSchema"),
        ("spec.owner.name", " ", "spec.owner.name"),
    ],
)
def test_bad_contract_is_rejected_with_field_path(
    crds: ControlPlane, namespace: str, field: str, value: Any, path: str
) -> None:
    found = causes(rejection(crds, namespace, with_field(design_contract(), field, value)))
    assert path in found, found


def test_kubectl_shows_the_field_path(crds: ControlPlane, namespace: str) -> None:
    # What a developer sees: the error names the field and the allowed values.
    agent = with_field(design_agent(), "spec.fallback.mode", "escalate")
    agent["metadata"]["namespace"] = namespace
    proc = crds.kubectl("apply", "-f", "-", input=yaml.safe_dump(agent), check=False)
    assert proc.returncode != 0
    assert "spec.fallback.mode" in proc.stderr
    assert "human-review" in proc.stderr
    # Strict field validation (kubectl's default) names an unknown (typo) field.
    agent = design_agent()
    agent["metadata"]["namespace"] = namespace
    agent["spec"]["ownr"] = {"name": "typo"}
    proc = crds.kubectl("apply", "-f", "-", input=yaml.safe_dump(agent), check=False)
    assert proc.returncode != 0
    assert "ownr" in proc.stderr


# --------------------------------------------------------------------------------------------
# status subresource and printer columns


def _write_status(cluster: ControlPlane, namespace: str, name: str, status: dict[str, Any]):
    return _api(cluster).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "agentdeployments", name, {"status": status}
    )


def test_status_subresource(crds: ControlPlane, namespace: str) -> None:
    agent = design_agent()
    create(crds, namespace, agent)
    name = agent["metadata"]["name"]
    # Status sent with the main resource is ignored.
    updated = _api(crds).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "agentdeployments", name, {"status": {"violationsOmitted": 3}}
    )
    assert "status" not in updated
    # Through /status it is stored, and validated.
    stored = _write_status(crds, namespace, name, design_status())
    assert stored["status"] == design_status()
    bad = design_status()
    bad["violations"][0]["enforcement"] = "block"
    with pytest.raises(ApiException) as err:
        _write_status(crds, namespace, name, bad)
    assert err.value.status == 422
    assert "status.violations[0].enforcement" in err.value.body
    too_many = design_status()
    too_many["violations"] = too_many["violations"] * 21
    with pytest.raises(ApiException) as err:
        _write_status(crds, namespace, name, too_many)
    assert "status.violations" in err.value.body


def test_kubectl_get_prints_the_columns(crds: ControlPlane, namespace: str) -> None:
    agent = design_agent()
    create(crds, namespace, agent)
    create(crds, namespace, design_contract())
    create(crds, namespace, design_exception())
    status = design_status()
    status["conditions"].append(
        {"type": "Observed", "status": "True", "reason": "Scraped", "message": "2 target(s) up"}
    )
    for cond in status["conditions"]:
        cond["lastTransitionTime"] = NOW
    status["policy"]["digest"] = DIGEST
    _write_status(crds, namespace, agent["metadata"]["name"], status)

    def table(*args: str) -> list[list[str]]:
        out = crds.kubectl("get", *args, "-n", namespace).stdout
        return [line.split("  ") for line in out.strip().splitlines()]

    def cells(rows: list[list[str]]) -> list[list[str]]:
        return [[c.strip() for c in row if c.strip()] for row in rows]

    header, row = cells(table("agd"))
    assert header == ["NAME", "OWNER", "ADMITTED", "REASON", "AGE"]
    assert row[:4] == ["invoice-triage", "Dana Ruiz", "False", "Blocked"]
    header, row = cells(table("agd", "-o", "wide"))
    assert header == [
        "NAME",
        "OWNER",
        "ADMITTED",
        "REASON",
        "READY",
        "CONTRACT",
        "OBSERVED",
        "NEXT REVIEW",
        "AGE",
    ]
    assert row[:8] == [
        "invoice-triage",
        "Dana Ruiz",
        "False",
        "Blocked",
        "True",
        "invoice-triage-v3",
        "True",  # the Observed condition: Prometheus scrapes it
        "2026-12-07T00:00:00Z",  # status.review.nextDue
    ]
    header, row = cells(table("agc"))
    assert header == ["NAME", "OWNER", "VERSION", "AGE"]
    assert row[:3] == ["invoice-triage-v3", "Dana Ruiz", "3"]
    header, row = cells(table("agx"))
    assert header == ["NAME", "TARGETS", "EXPIRES", "TICKET", "AGE"]
    assert row[0] == "black-friday" and "invoice-triage" in row[1]
    assert row[2:4] == ["2026-12-01T00:00:00Z", "FIN-1234"]
    # The category lists all three kinds.
    out = crds.kubectl("get", "golive", "-n", namespace, "-o", "name").stdout.split()
    assert sorted(out) == [
        "agentcontract.golive.dev/invoice-triage-v3",
        "agentdeployment.golive.dev/invoice-triage",
        "agentexception.golive.dev/black-friday",
    ]


def test_selectable_fields(crds: ControlPlane, namespace: str) -> None:
    agent = design_agent()
    create(crds, namespace, agent)
    other = design_agent()
    other["metadata"]["name"] = "other"
    other["spec"]["contractRef"] = {"name": "other-v1"}
    create(crds, namespace, other)
    out = crds.kubectl(
        "get",
        "agd",
        "-n",
        namespace,
        "-o",
        "name",
        "--field-selector",
        "spec.contractRef.name=invoice-triage-v3",
    ).stdout.split()
    assert out == ["agentdeployment.golive.dev/invoice-triage"]
