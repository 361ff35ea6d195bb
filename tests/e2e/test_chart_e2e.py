"""The Helm chart, rendered by the real helm and judged by the real kube-apiserver.

- `helm lint` on the chart, alone and with each values file of charts/golive/ci/;
- `helm template` with each ci values file, then `kubectl apply --dry-run=server` of everything
  it renders (CRDs, RBAC, Deployment, Service, Secret, ValidatingWebhookConfiguration, policy
  ConfigMaps): the API server validates every object as it would on a real install;
- values.schema.json and the template guards reject bad values at render time;
- `lookup`: with a webhook Secret already in the cluster, `helm install --dry-run=server` reuses
  its certificate instead of generating a new one;
- RBAC for real: the chart's ServiceAccount, ClusterRole and ClusterRoleBinding are created and
  SubjectAccessReviews ask the authorizer what the operator's identity may do;
- the examples/ manifests pass the API server's schema and CEL validation of the golive CRDs.

cert-manager is not installed on this control plane: for the cert-manager values, stub CRDs for
cert-manager.io Issuer and Certificate (any spec accepted) let the API server take the objects;
their spec is not validated here.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.engine.bundle import bundle_from_modules, load_bundle_dir
from kit.controlplane import ControlPlane, tool_bin_dir
from kit.operator import policy_configmaps

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "golive"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))


@pytest.fixture(scope="module")
def helm() -> Path:
    return tool_bin_dir(["helm"]) / "helm"


def run(*argv: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, check=False, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def render(helm: Path, release: str, namespace: str, *args: str) -> list[dict[str, Any]]:
    out = run(helm, "template", release, CHART, "--namespace", namespace, *args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


CERT_MANAGER_STUBS = [
    {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.cert-manager.io"},
        "spec": {
            "group": "cert-manager.io",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
    for kind, plural in (("Issuer", "issuers"), ("Certificate", "certificates"))
]


@pytest.fixture(scope="module")
def cert_manager_stubs(cluster: ControlPlane) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(CERT_MANAGER_STUBS))
    cluster.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/issuers.cert-manager.io",
        "crd/certificates.cert-manager.io",
    )


@pytest.fixture
def release_ns(cluster: ControlPlane) -> Iterator[str]:
    """A fresh namespace with a unique name (the shared `namespace` fixture truncates test names
    to 40 characters, which makes the parametrized cases of one test collide)."""
    name = f"chart-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


# --- lint and render ------------------------------------------------------------------------


def test_helm_lint(helm: Path) -> None:
    run(helm, "lint", "--strict", CHART)


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_helm_lint_with_ci_values(helm: Path, values: Path) -> None:
    run(helm, "lint", "--strict", CHART, "--values", values)


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_rendered_manifests_pass_server_side_dry_run(
    helm: Path, cluster: ControlPlane, release_ns: str, cert_manager_stubs: None, values: Path
) -> None:
    docs = render(helm, "golive", release_ns, "--values", str(values), "--include-crds")
    kinds = sorted({d["kind"] for d in docs})
    for expected in (
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "CustomResourceDefinition",
        "Deployment",
        "Service",
        "ServiceAccount",
        "ValidatingWebhookConfiguration",
    ):
        assert expected in kinds
    proc = cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(docs), check=False
    )
    assert proc.returncode == 0, proc.stderr
    # Every object was accepted: one "(server dry run)" line per rendered document.
    assert proc.stdout.count("(server dry run)") == len(docs), proc.stdout


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.stem)
def test_rendered_security_and_rbac(helm: Path, values: Path) -> None:
    docs = render(helm, "golive", "golive-system", "--values", str(values))
    (role,) = by_kind(docs, "ClusterRole")
    for rule in role["rules"]:
        for key in ("verbs", "resources", "apiGroups"):
            assert not any("*" in item for item in rule.get(key, [])), rule
        assert "secrets" not in rule["resources"], rule
    (deployment,) = by_kind(docs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    engine = yaml.safe_load(values.read_text()).get("engine", {}).get("type", "embedded")
    assert container["args"][:2] == ["run", f"--engine={engine}"]
    (webhook_config,) = by_kind(docs, "ValidatingWebhookConfiguration")
    (hook,) = webhook_config["webhooks"]
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["namespaceSelector"]["matchExpressions"] == [
        {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": ["golive-system", "kube-system"],
        }
    ]
    assert hook["rules"] == [
        {
            "apiGroups": ["golive.dev"],
            "apiVersions": ["v1alpha1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["agentdeployments"],
            "scope": "Namespaced",
        }
    ]
    if "cert-manager" in values.name:
        annotations = webhook_config["metadata"]["annotations"]
        assert annotations["cert-manager.io/inject-ca-from"] == "golive-system/golive-webhook"
        assert not by_kind(docs, "Secret")
        (certificate,) = by_kind(docs, "Certificate")
        assert certificate["spec"]["secretName"] == "golive-webhook-tls"
    else:
        (secret,) = by_kind(docs, "Secret")
        assert secret["metadata"]["name"] == "golive-webhook-tls"
        assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]


def test_policy_configmaps_carry_the_library_verbatim(helm: Path) -> None:
    docs = render(helm, "golive", "golive-system")
    # The ConfigMaps besides the library: the dashboard (templates/dashboards.yaml) only.
    policy_maps = [
        c for c in by_kind(docs, "ConfigMap") if c["metadata"]["name"] != "golive-dashboard"
    ]
    assert len(policy_maps) == len(by_kind(docs, "ConfigMap")) - 1
    shipped: dict[str, str] = {}
    for cm in policy_maps:
        assert cm["metadata"]["labels"]["golive.dev/policy"] == "true"
        folder = cm["metadata"]["annotations"]["golive.dev/policy-path"]
        for key, text in cm["data"].items():
            shipped[f"{folder}/{key}"] = text
    library = CHART / "files" / "policies"
    expected = {str(p.relative_to(library)): p.read_text() for p in library.rglob("*.rego")}
    assert shipped == expected
    assert any(path.startswith("lib/") for path in shipped)
    # The digest the cluster shows (modules named <ConfigMap>/<key> by the operator) equals
    # the one `golive check --policies policies/` prints in CI, and the harness's.
    from_chart = {
        f"{cm['metadata']['name']}/{key}": text
        for cm in policy_maps
        for key, text in cm["data"].items()
    }
    from_harness = {
        f"{cm['metadata']['name']}/{key}": text
        for cm in policy_configmaps(ROOT / "policies", "golive-system")
        for key, text in cm["data"].items()  # type: ignore[attr-defined]
    }
    check = subprocess.run(
        [sys.executable, "-m", "controller.cli", "check", "-o", "json", str(ROOT / "examples")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    printed_by_check = json.loads(check.stdout)["policyDigest"]
    assert bundle_from_modules(from_chart).digest == printed_by_check
    assert bundle_from_modules(from_harness).digest == printed_by_check
    assert load_bundle_dir(ROOT / "policies").digest == printed_by_check


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "engine.type=remote"], "opaUrl"),
        (["--set", "engine.type=wasm"], "engine"),
        (["--set", "webhook.failurePolicy=Retry"], "failurePolicy"),
        (["--set", "notAValue=1"], "notAValue"),
    ],
)
def test_bad_values_fail_the_render(helm: Path, args: list[str], message: str) -> None:
    proc = run(helm, "template", "golive", CHART, *args, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


# --- lookup keeps the self-signed certificate across upgrades -------------------------------


def test_existing_webhook_secret_is_reused(
    helm: Path, cluster: ControlPlane, release_ns: str
) -> None:
    namespace = release_ns
    (secret,) = by_kind(render(helm, "golive", namespace), "Secret")
    secret["metadata"].setdefault("labels", {})["app.kubernetes.io/managed-by"] = "Helm"
    secret["metadata"]["annotations"] = {
        "meta.helm.sh/release-name": "golive",
        "meta.helm.sh/release-namespace": namespace,
    }
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(secret))
    proc = run(
        helm,
        "install",
        "golive",
        CHART,
        "--namespace",
        namespace,
        "--kubeconfig",
        cluster.kubeconfig,
        "--dry-run=server",
        "--skip-crds",
    )
    manifest = proc.stdout.split("MANIFEST:", 1)[1].split("NOTES:", 1)[0]
    docs = [d for d in yaml.safe_load_all(manifest) if d]
    (reused,) = by_kind(docs, "Secret")
    assert reused["data"] == secret["data"]
    (config,) = by_kind(docs, "ValidatingWebhookConfiguration")
    assert config["webhooks"][0]["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
    ca = base64.b64decode(secret["data"]["ca.crt"]).decode()
    assert ca.startswith("-----BEGIN CERTIFICATE-----")


# --- RBAC, asked of the real authorizer -----------------------------------------------------


@pytest.fixture
def operator_identity(helm: Path, cluster: ControlPlane, release_ns: str) -> Iterator[str]:
    """Create the chart's ServiceAccount, ClusterRole and binding; yield the SA's user name."""
    namespace = release_ns
    release = f"{namespace[:40]}-rel"
    docs = render(helm, release, namespace)
    rbac = [d for d in docs if d["kind"] in {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}]
    assert len(rbac) == 3
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
    (sa,) = by_kind(rbac, "ServiceAccount")
    try:
        yield f"system:serviceaccount:{namespace}:{sa['metadata']['name']}"
    finally:
        for d in rbac:
            if d["kind"] != "ServiceAccount":
                cluster.kubectl(
                    "delete",
                    d["kind"].lower(),
                    d["metadata"]["name"],
                    "--ignore-not-found",
                    check=False,
                )


def allowed(
    cluster: ControlPlane,
    user: str,
    verb: str,
    resource: str,
    group: str = "",
    namespace: str | None = "agents",
    subresource: str = "",
) -> bool:
    attributes: dict[str, Any] = {"verb": verb, "resource": resource, "group": group}
    if namespace is not None:
        attributes["namespace"] = namespace
    if subresource:
        attributes["subresource"] = subresource
    sa_namespace = user.split(":")[2]
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{sa_namespace}",
                "system:authenticated",
            ],
            "resourceAttributes": attributes,
        },
    }
    out = cluster.kubectl("create", "-o", "json", "-f", "-", input=json.dumps(review)).stdout
    return bool(json.loads(out)["status"].get("allowed", False))


ALLOWED = [
    ("get", "agentdeployments", "golive.dev", ""),
    ("list", "agentdeployments", "golive.dev", ""),
    ("watch", "agentdeployments", "golive.dev", ""),
    ("get", "agentdeployments", "golive.dev", "status"),
    ("patch", "agentdeployments", "golive.dev", "status"),
    ("update", "agentdeployments", "golive.dev", "status"),
    ("list", "agentcontracts", "golive.dev", ""),
    ("watch", "agentexceptions", "golive.dev", ""),
    ("list", "configmaps", "", ""),
    ("watch", "configmaps", "", ""),
    ("create", "deployments", "apps", ""),
    ("patch", "deployments", "apps", ""),
    ("update", "deployments", "apps", ""),
    ("create", "events", "", ""),
    ("create", "events", "events.k8s.io", ""),
    ("get", "namespaces", "", ""),
    ("create", "leases", "coordination.k8s.io", ""),
    ("update", "leases", "coordination.k8s.io", ""),
    ("list", "reports", "openreports.io", ""),
    ("watch", "reports", "openreports.io", ""),
    ("create", "reports", "openreports.io", ""),
    ("patch", "reports", "openreports.io", ""),
]

DENIED = [
    ("get", "secrets", "", ""),
    ("list", "secrets", "", ""),
    ("watch", "secrets", "", ""),
    ("delete", "deployments", "apps", ""),
    ("deletecollection", "deployments", "apps", ""),
    ("update", "agentdeployments", "golive.dev", ""),
    ("patch", "agentdeployments", "golive.dev", ""),
    ("delete", "agentdeployments", "golive.dev", ""),
    ("patch", "agentcontracts", "golive.dev", ""),
    ("create", "agentexceptions", "golive.dev", ""),
    ("create", "configmaps", "", ""),
    ("update", "configmaps", "", ""),
    ("get", "pods", "", ""),
    ("create", "pods", "", "exec"),
    ("patch", "agentdeployments", "golive.dev", "scale"),
    ("create", "clusterroles", "rbac.authorization.k8s.io", ""),
    ("delete", "reports", "openreports.io", ""),
    ("create", "clusterreports", "openreports.io", ""),
    ("*", "*", "*", ""),
    ("*", "deployments", "apps", ""),
    ("get", "*", "", ""),
    ("get", "deployments", "*", ""),
]


def test_operator_service_account_can_do_its_job(
    cluster: ControlPlane, operator_identity: str
) -> None:
    refused = [
        (verb, group, resource, sub)
        for verb, resource, group, sub in ALLOWED
        if not allowed(cluster, operator_identity, verb, resource, group, subresource=sub)
    ]
    assert not refused, f"the operator is refused {refused}"


def test_operator_service_account_can_do_nothing_else(
    cluster: ControlPlane, operator_identity: str, release_ns: str
) -> None:
    namespace = release_ns
    granted = [
        (verb, group, resource, sub, ns)
        for verb, resource, group, sub in DENIED
        for ns in ("agents", namespace, None)
        if allowed(cluster, operator_identity, verb, resource, group, namespace=ns, subresource=sub)
    ]
    assert not granted, f"the operator is granted {granted}"


# --- examples ------------------------------------------------------------------------------


def test_examples_pass_server_side_validation(cluster: ControlPlane) -> None:
    cluster.kubectl("apply", "-f", str(ROOT / "examples" / "00-namespace.yaml"))
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        proc = cluster.kubectl("apply", "--dry-run=server", "-f", str(example), check=False)
        assert proc.returncode == 0, f"{example.name}: {proc.stderr}"


def test_examples_get_the_verdicts_they_document() -> None:
    """`golive check examples/` (the real CLI and embedded engine) agrees with the examples'
    comments: invoice-triage admitted clean, support-bot blocked for owner, fallback, review and
    a missing alerting rule, claims-summarizer admitted with its budget violation excepted."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "golive"), "check", "--format", "json", "examples/"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr  # 1: an agent is blocked (support-bot)
    report = json.loads(proc.stdout)
    assert not report["errors"]
    agents = {a["name"]: a for a in report["agents"]}
    assert set(agents) == {"invoice-triage", "support-bot", "claims-summarizer"}

    def findings(name: str) -> set[tuple[str, str]]:
        return {(f["policy"], f["enforcement"]) for f in agents[name]["findings"]}

    assert agents["invoice-triage"]["result"] == "admitted"
    assert not [f for f in findings("invoice-triage") if f[1] in {"deny", "excepted"}]
    assert agents["support-bot"]["result"] == "blocked"
    assert {p for p, e in findings("support-bot") if e == "deny"} == {
        "golive.ownership.single_owner",
        "golive.fallback.fallback_defined",
        "golive.governance.review_due",  # its review has been overdue since 2026-10-08
        "golive.observability.alerts_exist",  # SupportBotErrorRate: in no PrometheusRule
    }
    assert agents["claims-summarizer"]["result"] == "admitted"
    assert ("golive.economics.budget_at_scale", "excepted") in findings("claims-summarizer")
    assert not [f for f in findings("claims-summarizer") if f[1] == "deny"]
