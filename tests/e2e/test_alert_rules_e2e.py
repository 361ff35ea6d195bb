"""Feedback that exists: every alert an agent names must be an alerting rule of a PrometheusRule.

On a real kube-apiserver with the Prometheus Operator's real PrometheusRule CRD (from its pinned
Go module), the real operator process and the `golive` CLI. The module runs its own control
plane: the CRD is installed and removed here while the operator runs, which the session cluster
(shared with modules whose agents name alerts) must never see. Tests run in file order:

1. chart RBAC: read-only access to PrometheusRules and CRDs;
2. no CRD: the check is skipped, visibly (a `skipped` finding), operator and `golive check`;
3. the CRD installed while the operator runs: missing alerts block; a PrometheusRule created and
   deleted flips the verdict; the webhook defers the check; `golive check` with rule files gives
   the operator's verdicts; a malformed PrometheusRule is named, never admitted;
4. an operator started with the CRD present, looking alerts up in a platform namespace;
5. the CRD removed: skipped again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.domain.alert_rules import (
    ALERTS_POLICY,
    AlertRules,
    RuleFile,
    read_prometheus_rule,
    resolve_alert_rules,
)
from controller.domain.contract import resolve_contract
from controller.domain.model import read_agent
from controller.domain.policy_input import Operation, PolicyContext, build_policy_input
from controller.engine.bundle import load_bundle_dir
from controller.engine.embedded import EmbeddedEngine
from controller.engine.remote import RemoteEngine
from kit.controlplane import (
    REPO,
    ControlPlane,
    OpaServer,
    running_with_crds,
    tool_bin_dir,
)
from kit.operator import OperatorProcess, admission_review
from kit.prometheus import (
    install_prometheus_rule_crd,
    prometheus_rule_crd,
    uninstall_prometheus_rule_crd,
)
from tests.e2e.agents import agent, apply, condition, contract, get, wait_for

ALERTS = ["InvoiceTriageErrorRate", "InvoiceTriageLatencyP99"]  # examples/invoice-triage.yaml


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    # Its own plane: the PrometheusRule CRD is installed and removed here, unseen by others.
    with running_with_crds(ControlPlane(tmp_path_factory.mktemp("alert-rules-plane"))) as cp:
        yield cp


@pytest.fixture(scope="module")
def operator(
    plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    op = OperatorProcess(plane, tmp_path_factory.mktemp("alert-rules-op"), webhook=True)
    try:
        yield op.start()
    finally:
        op.stop()
        op.delete_webhook_config()


_counter = iter(range(1000))


def new_namespace(plane: ControlPlane, base: str) -> str:
    name = f"{base}-{next(_counter)}"
    plane.kubectl("create", "namespace", name)
    return name


def rule(namespace: str, name: str, alerts: list[str], **extra_rules: Any) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"alert": a, "expr": f'rate(errors_total{{alert="{a}"}}[5m]) > 0', "for": "5m"}
        for a in alerts
    ]
    rules += list(extra_rules.values())
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"groups": [{"name": "invoice-triage", "rules": rules}]},
    }


def findings(obj: dict[str, Any] | None, policy: str = ALERTS_POLICY) -> list[dict[str, Any]]:
    return [v for v in ((obj or {}).get("status") or {}).get("violations") or []
            if v["policy"] == policy]  # fmt: skip


def wait_findings(
    plane: ControlPlane, namespace: str, name: str, admitted: str, fields: set[str]
) -> dict[str, Any]:
    """Until the agent's Admitted is `admitted` and alerts_exist reports exactly `fields`."""

    def check() -> dict[str, Any] | None:
        obj = get(plane, "agd", namespace, name)
        ok = condition(obj, "Admitted").get("status") == admitted
        return obj if ok and {f["field"] for f in findings(obj)} == fields else None

    return dict(wait_for(check, 30, f"{namespace}/{name} Admitted={admitted} with {fields}"))


def golive_check(*paths: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    proc = subprocess.run(
        # Decided now, as the operator decides (time-dependent rules must see the same moment).
        [sys.executable, "-m", "controller.cli", "check", "-o", "json", *extra, *map(str, paths)],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert proc.returncode in (0, 1, 2), proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    out["exit"] = proc.returncode
    return out


def as_files(tmp: Path, *objects: dict[str, Any]) -> Path:
    path = tmp / "manifests.yaml"
    path.write_text(yaml.safe_dump_all(list(objects)))
    return path


def status_findings(obj: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return sorted(
        (v["policy"], v["field"], v["message"], v["enforcement"])
        for v in obj["status"]["violations"]
    )


def check_findings(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    (only,) = report["agents"]
    return sorted(
        (f["policy"], f["field"], f["message"], f["enforcement"]) for f in only["findings"]
    )


# --- 1. RBAC -----------------------------------------------------------------------------------


def _allowed(plane: ControlPlane, user: str, verb: str, resource: str, group: str) -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", "system:authenticated"],
            "resourceAttributes": {"verb": verb, "resource": resource, "group": group,
                                   "namespace": "agents"},
        },
    }  # fmt: skip
    out = plane.kubectl("create", "-o", "json", "-f", "-", input=json.dumps(review)).stdout
    return bool(json.loads(out)["status"].get("allowed", False))


def test_chart_rbac_reads_prometheus_rules_and_crds_and_writes_neither(
    plane: ControlPlane,
) -> None:
    helm = tool_bin_dir(["helm"]) / "helm"
    out = subprocess.run(
        [str(helm), "template", "rel", str(REPO / "charts" / "golive"), "--namespace", "golive"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    rbac = [d for d in yaml.safe_load_all(out) if d and d["kind"] in
            {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}]  # fmt: skip
    plane.kubectl("create", "namespace", "golive", check=False)
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
    (sa,) = [d for d in rbac if d["kind"] == "ServiceAccount"]
    user = f"system:serviceaccount:golive:{sa['metadata']['name']}"
    for verb in ("list", "watch"):
        assert _allowed(plane, user, verb, "prometheusrules", "monitoring.coreos.com")
        assert _allowed(plane, user, verb, "customresourcedefinitions", "apiextensions.k8s.io")
    for verb in ("create", "update", "patch", "delete", "deletecollection"):
        assert not _allowed(plane, user, verb, "prometheusrules", "monitoring.coreos.com")
        assert not _allowed(plane, user, verb, "customresourcedefinitions", "apiextensions.k8s.io")
    for resource in ("servicemonitors", "alertmanagerconfigs", "prometheuses"):
        assert not _allowed(plane, user, "list", resource, "monitoring.coreos.com")


# --- 2. no CRD: skipped, visibly ---------------------------------------------------------------


def test_without_the_crd_the_check_is_visibly_skipped(
    plane: ControlPlane, operator: OperatorProcess, tmp_path: Path
) -> None:
    ns = new_namespace(plane, "no-crd")
    apply(plane, contract(ns), agent(ns))
    obj = wait_findings(plane, ns, "invoice-triage", "True", {"spec.monitoring.alerts"})
    (skipped,) = findings(obj)
    assert skipped["enforcement"] == "skipped"
    assert "not checked: the cluster has no PrometheusRule CRD" in skipped["message"]
    assert all(f'"{a}"' in skipped["message"] for a in ALERTS)
    assert condition(obj, "PolicyCompliant")["reason"] == "AdmittedWithFindings"
    assert "1 skipped" in condition(obj, "Admitted")["message"]
    assert get(plane, "deployment", ns, "invoice-triage") is not None  # skipped never blocks

    # golive check without rule files: the same verdict, skipped for its own reason.
    report = golive_check(as_files(tmp_path, contract(ns), agent(ns)))
    (verdict,) = report["agents"]
    assert verdict["result"] == "admitted" and report["exit"] == 0
    ((_, field, message, enforcement),) = [f for f in check_findings(report)
                                                if f[0] == ALERTS_POLICY]  # fmt: skip
    assert (field, enforcement) == ("spec.monitoring.alerts", "skipped")
    assert "no PrometheusRule (monitoring.coreos.com/v1) was given" in message


# --- 3. the CRD installed while the operator runs -----------------------------------------------


@pytest.fixture(scope="module")
def crd_ns(plane: ControlPlane, operator: OperatorProcess) -> str:
    """An agent admitted (skipped) before the CRD exists; then the real CRD is installed."""
    ns = new_namespace(plane, "crd")
    apply(plane, contract(ns), agent(ns))
    wait_findings(plane, ns, "invoice-triage", "True", {"spec.monitoring.alerts"})
    install_prometheus_rule_crd(plane)
    return ns


def test_crd_installed_later_is_noticed_and_missing_alerts_block(
    plane: ControlPlane, crd_ns: str
) -> None:
    obj = wait_findings(
        plane, crd_ns, "invoice-triage", "False",
        {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"},
    )  # fmt: skip
    messages = " ".join(f["message"] for f in findings(obj))
    for alert in ALERTS:
        assert f'alert "{alert}" is not defined by any PrometheusRule in namespace "{crd_ns}"' in (
            messages
        )
    assert all(f["enforcement"] == "deny" for f in findings(obj))
    # The admitted generation keeps running: the gate only stops what is not rolled out yet.
    assert get(plane, "deployment", crd_ns, "invoice-triage") is not None


def test_a_prometheus_rule_created_and_deleted_flips_the_verdict(
    plane: ControlPlane, crd_ns: str
) -> None:
    apply(plane, rule(crd_ns, "agent-alerts", ALERTS))
    obj = wait_findings(plane, crd_ns, "invoice-triage", "True", set())
    assert condition(obj, "PolicyCompliant")["status"] == "True"

    plane.kubectl("delete", "prometheusrule", "agent-alerts", "-n", crd_ns)
    wait_findings(
        plane, crd_ns, "invoice-triage", "False",
        {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"},
    )  # fmt: skip

    # Half the alerts: the missing one is named, the other is not.
    apply(plane, rule(crd_ns, "agent-alerts", ALERTS[:1]))
    obj = wait_findings(plane, crd_ns, "invoice-triage", "False", {"spec.monitoring.alerts[1]"})
    (missing,) = findings(obj)
    assert f'"{ALERTS[1]}"' in missing["message"] and f'"{ALERTS[0]}"' not in missing["message"]

    # A rule in another namespace does not count.
    elsewhere = new_namespace(plane, "elsewhere")
    apply(plane, rule(elsewhere, "agent-alerts", ALERTS))
    wait_findings(plane, crd_ns, "invoice-triage", "False", {"spec.monitoring.alerts[1]"})

    apply(plane, rule(crd_ns, "agent-alerts", ALERTS))
    wait_findings(plane, crd_ns, "invoice-triage", "True", set())


def test_the_webhook_defers_the_alert_check_to_the_gate(
    plane: ControlPlane, operator: OperatorProcess, crd_ns: str
) -> None:
    # GitOps order: the agent before its PrometheusRule. The door lets it in ...
    ns = new_namespace(plane, "door")
    proc = plane.kubectl(
        "apply", "-f", "-", check=False,
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [contract(ns), agent(ns)]}),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "alerts_exist" not in proc.stderr
    code, body = operator.post_review(json.dumps(admission_review(agent(ns))).encode())
    response: Any = body["response"]
    assert code == 200 and response["allowed"] is True, body
    assert not any("alerts_exist" in w for w in response.get("warnings") or [])
    # ... the gate judges it: blocked until the rule arrives, then admitted.
    wait_findings(
        plane, ns, "invoice-triage", "False",
        {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"},
    )  # fmt: skip
    assert get(plane, "deployment", ns, "invoice-triage") is None
    apply(plane, rule(ns, "agent-alerts", ALERTS))
    wait_findings(plane, ns, "invoice-triage", "True", set())
    wait_for(lambda: get(plane, "deployment", ns, "invoice-triage"), what="the Deployment")


def test_golive_check_with_rule_files_gives_the_operators_verdicts(
    plane: ControlPlane, crd_ns: str, tmp_path: Path
) -> None:
    ns = new_namespace(plane, "parity")
    objects = [contract(ns), agent(ns), rule(ns, "agent-alerts", ALERTS[1:])]
    apply(plane, *objects)
    blocked = wait_findings(plane, ns, "invoice-triage", "False", {"spec.monitoring.alerts[0]"})
    report = golive_check(as_files(tmp_path, *objects))
    assert report["agents"][0]["result"] == "blocked" and report["exit"] == 1
    assert check_findings(report) == status_findings(blocked)

    # The rules given separately (--contracts: context files) count the same.
    (tmp_path / "rules").mkdir()
    rules_file = as_files(tmp_path / "rules", rule(ns, "agent-alerts", ALERTS))
    apply(plane, rule(ns, "agent-alerts", ALERTS))
    admitted = wait_findings(plane, ns, "invoice-triage", "True", set())
    report = golive_check(
        as_files(tmp_path, contract(ns), agent(ns)), extra=("-c", str(rules_file))
    )
    assert report["agents"][0]["result"] == "admitted" and report["exit"] == 0
    assert check_findings(report) == status_findings(admitted)


def test_a_malformed_prometheus_rule_is_named_and_never_admits(
    plane: ControlPlane, crd_ns: str, tmp_path: Path
) -> None:
    ns = new_namespace(plane, "malformed")
    # The real CRD's schema refuses the grossest shapes at the API server ...
    bad_groups = rule(ns, "not-a-list", ALERTS)
    bad_groups["spec"]["groups"] = {"name": "invoice-triage"}
    proc = plane.kubectl("apply", "-f", "-", input=json.dumps(bad_groups), check=False)
    assert proc.returncode != 0 and "spec.groups" in proc.stderr, proc.stderr
    # ... but accepts a rule that is neither alerting nor recording, which Prometheus (and the
    # Prometheus Operator, for the whole object) rejects. It defines nothing, and says why.
    broken = rule(ns, "agent-alerts", ALERTS, neither={"expr": "up == 0"})
    apply(plane, contract(ns), agent(ns), broken)
    wait_findings(
        plane, ns, "invoice-triage", "False",
        {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"},
    )  # fmt: skip
    # The agent and the rule arrive in one apply, in any order: the agent may be decided once
    # before the rule's event, then again after it (the event re-queues it), naming the rule.
    note = 'PrometheusRule "agent-alerts" is malformed and defines no alert'
    obj = wait_for(
        lambda: (
            (o := get(plane, "agd", ns, "invoice-triage"))
            and findings(o)
            and all(note in f["message"] for f in findings(o))
            and o
        ),
        30,
        "the findings to name the malformed PrometheusRule",
    )
    for finding in findings(obj):
        assert (
            'PrometheusRule "agent-alerts" is malformed and defines no alert'
            in (finding["message"])
        )
        assert "spec.groups[0].rules[2]: expected one of alert or record" in finding["message"]
    # golive check refuses the same file as input, naming the field (exit 2), and blocks.
    report = golive_check(as_files(tmp_path, contract(ns), agent(ns), broken))
    assert report["exit"] == 2
    assert any("PrometheusRule agent-alerts: spec.groups[0].rules[2]" in e["message"]
               for e in report["errors"]), report["errors"]  # fmt: skip
    assert report["agents"][0]["result"] == "blocked"
    assert check_findings(report) == status_findings(obj)
    # Fixed: admitted.
    apply(plane, rule(ns, "agent-alerts", ALERTS))
    wait_findings(plane, ns, "invoice-triage", "True", set())


def test_example_alert_rules_pass_the_real_crd_and_keep_the_examples_verdicts(
    plane: ControlPlane, crd_ns: str
) -> None:
    plane.kubectl("apply", "-f", str(REPO / "examples" / "00-namespace.yaml"))
    for example in sorted((REPO / "examples" / "monitoring").glob("*.yaml")):
        proc = plane.kubectl("apply", "--dry-run=server", "-f", str(example), check=False)
        assert proc.returncode == 0, f"{example.name}: {proc.stderr}"
    report = golive_check(REPO / "examples")
    verdicts = {a["name"]: a["result"] for a in report["agents"]}
    assert verdicts["invoice-triage"] == "admitted" and verdicts["support-bot"] == "blocked"
    support = next(a for a in report["agents"] if a["name"] == "support-bot")
    assert any(f["policy"] == ALERTS_POLICY and '"SupportBotErrorRate"' in f["message"]
               for f in support["findings"])  # fmt: skip


# --- 4. an operator started with the CRD present, alerts in a platform namespace -----------------


def test_a_platform_namespace_for_alert_rules(
    plane: ControlPlane, operator: OperatorProcess, crd_ns: str, tmp_path: Path
) -> None:
    monitoring = new_namespace(plane, "monitoring")
    ns = new_namespace(plane, "team")
    operator.stop()
    operator.delete_webhook_config()
    platform = OperatorProcess(
        plane, tmp_path / "op", extra_args=["--alert-rules-namespace", monitoring]
    )
    try:
        platform.start()
        # Rules beside the agent do not count any more; the platform namespace's do.
        apply(plane, contract(ns), agent(ns), rule(ns, "agent-alerts", ALERTS))
        obj = wait_findings(
            plane, ns, "invoice-triage", "False",
            {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"},
        )  # fmt: skip
        assert f'in namespace "{monitoring}"' in findings(obj)[0]["message"]
        apply(plane, rule(monitoring, "platform-alerts", ALERTS))
        wait_findings(plane, ns, "invoice-triage", "True", set())
        # The CRD was found at start (discovery), not only through a watch event.
        assert "PrometheusRule CRD found" in platform.log()
        plane.kubectl("delete", "prometheusrule", "platform-alerts", "-n", monitoring)
        wait_findings(
            plane, ns, "invoice-triage", "False",
            {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"},
        )  # fmt: skip
    finally:
        platform.stop()
        operator.start()


# --- 5. the CRD removed ----------------------------------------------------------------------


def test_crd_removed_the_check_is_skipped_again(
    plane: ControlPlane, operator: OperatorProcess, crd_ns: str
) -> None:
    ns = new_namespace(plane, "gone")
    apply(plane, contract(ns), agent(ns))
    wait_findings(
        plane, ns, "invoice-triage", "False",
        {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"},
    )  # fmt: skip
    uninstall_prometheus_rule_crd(plane)
    obj = wait_findings(plane, ns, "invoice-triage", "True", {"spec.monitoring.alerts"})
    assert findings(obj)[0]["enforcement"] == "skipped"


# --- the engines agree on resolved alert rules ---------------------------------------------------


def everywhere(files: list[RuleFile]) -> Callable[[str], list[RuleFile]]:
    def rules_in(namespace: str) -> list[RuleFile]:
        return files

    return rules_in


def test_embedded_and_remote_engines_agree_on_resolved_alert_rules(
    opa_server: OpaServer,
) -> None:
    bundle = load_bundle_dir(REPO / "policies")
    cases = []
    folder = REPO / "policies" / "observability" / "alerts_exist" / "samples"
    context = PolicyContext(Operation.RECONCILE, datetime(2026, 11, 25, tzinfo=UTC))
    for path in sorted(folder.glob("*/*.yaml.sample")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        (obj,) = [d for d in docs if d["kind"] == "AgentDeployment"]
        files = [read_prometheus_rule(d) for d in docs if d["kind"] == "PrometheusRule"]
        broken = read_prometheus_rule(rule("finance-agents", "broken", ["InvoiceTriageErrorRate"],
                                           neither={"expr": "1"}))  # fmt: skip
        for extra in ([], [broken]):
            source = AlertRules.lookup(everywhere([*files, *extra]))
            alerts = resolve_alert_rules(obj["spec"], obj["metadata"]["namespace"], source)
            cases.append(
                build_policy_input(
                    read_agent(obj), resolve_contract(None, None), [], context, alerts
                )
            )
    assert len(cases) >= 8
    with EmbeddedEngine(bundle) as embedded, RemoteEngine(bundle, opa_server.url) as remote:
        for case in cases:
            assert sorted(embedded.evaluate(case)) == sorted(remote.evaluate(case))
        denied = [embedded.evaluate(c) for c in cases]
        assert any(any(v.policy == ALERTS_POLICY for v in d) for d in denied)


def test_the_crd_is_the_prometheus_operators_own() -> None:
    text = prometheus_rule_crd().read_text()
    crd = yaml.safe_load(text)
    assert crd["metadata"]["name"] == "prometheusrules.monitoring.coreos.com"
    assert crd["metadata"]["annotations"]["operator.prometheus.io/version"] == "0.85.0"
