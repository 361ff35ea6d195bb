"""The chart's dashboard ConfigMap and golive's own alerts (templates/dashboards.yaml,
templates/prometheusrule.yaml), rendered with the real helm and checked with the real promtool:
`promtool check rules` on the rendered rules, and `promtool test rules` (Prometheus' own rule
evaluation over given series) for each alert firing when its condition holds long enough and
not before, nor when it does not hold. tests/e2e/test_dashboard_alerts_e2e.py loads the same
rules into a real Prometheus scraping a real operator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kit.controlplane import tool_bin_dir

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "golive"
DASHBOARD = CHART / "files" / "dashboards" / "golive.json"
ALERTS = {
    "GoliveOperatorDown",
    "GoliveNoLeader",
    "GoliveEngineUnavailable",
    "GoliveDecisionsUnknown",
    "GoliveWebhookErrors",
    "GoliveExceptionExpiring",
    "GoliveReviewOverdue",
    "GolivePolicyDrift",
}


def render_chart(*sets: str, release: str = "golive") -> list[dict[str, Any]]:
    """`helm template` of the chart with `--set` values; the documents it renders."""
    helm = tool_bin_dir(["helm"]) / "helm"
    argv = [str(helm), "template", release, str(CHART), "--namespace", "golive-system"]
    for value in sets:
        argv += ["--set", value]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def prometheus_rule(*sets: str, release: str = "golive") -> dict[str, Any]:
    found = [
        d
        for d in render_chart("alerts.enabled=true", *sets, release=release)
        if d["kind"] == "PrometheusRule"
    ]
    assert len(found) == 1
    return found[0]


def rule_file(rule: dict[str, Any], path: Path) -> Path:
    """The PrometheusRule's groups as a Prometheus rule file (what the Prometheus Operator
    writes)."""
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = tool_bin_dir(["promtool"]) / "promtool"
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, check=False, timeout=120
    )


def rules_of(rule: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}


def test_off_by_default_and_the_dashboard_is_on() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in render_chart()}
    assert not any(kind == "PrometheusRule" for kind, _ in kinds)
    assert ("ConfigMap", "golive-dashboard") in kinds


def test_the_dashboard_configmap_carries_the_sidecar_label_and_the_generated_json() -> None:
    (cm,) = [
        d
        for d in render_chart("dashboards.annotations.grafana_folder=golive")
        if d["metadata"]["name"] == "golive-dashboard"
    ]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["annotations"] == {"grafana_folder": "golive"}
    assert cm["data"]["golive.json"] == DASHBOARD.read_text()
    assert json.loads(cm["data"]["golive.json"])["uid"] == "golive"
    off = render_chart("dashboards.enabled=false")
    assert not any(d["metadata"]["name"] == "golive-dashboard" for d in off)
    elsewhere = render_chart("dashboards.namespace=monitoring", "dashboards.labels.team=x")
    (cm,) = [d for d in elsewhere if d["metadata"]["name"] == "golive-dashboard"]
    assert cm["metadata"]["namespace"] == "monitoring"
    assert cm["metadata"]["labels"]["team"] == "x"


def test_promtool_check_rules_passes(tmp_path: Path) -> None:
    rule = prometheus_rule("alerts.labels.release=kube-prometheus-stack")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert set(rules_of(rule)) == ALERTS
    done = promtool("check", "rules", str(rule_file(rule, tmp_path / "rules.yaml")))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_promtool_check_rules_fails_on_a_broken_rule(tmp_path: Path) -> None:
    rule = prometheus_rule()
    rule["spec"]["groups"][0]["rules"][0]["expr"] = "sum(golive_leader"
    done = promtool("check", "rules", str(rule_file(rule, tmp_path / "rules.yaml")))
    assert done.returncode != 0


def test_values_reach_the_rules() -> None:
    rules = rules_of(
        prometheus_rule(
            "alerts.job=golive-metrics",
            "alerts.exceptionExpiringDays=3",
            "alerts.for.reviewOverdue=1h",
            "alerts.ruleLabels.team=platform",
        )
    )
    assert all('job="golive-metrics"' in r["expr"] for r in rules.values())
    assert rules["GoliveExceptionExpiring"]["expr"].endswith("< 3 * 86400")
    assert rules["GoliveReviewOverdue"]["for"] == "1h"
    assert {r["labels"]["team"] for r in rules.values()} == {"platform"}
    # The job defaults to the chart's full name (a ServiceMonitor's job for its Service).
    other = rules_of(prometheus_rule(release="ops"))
    assert 'job="ops-golive"' in other["GoliveNoLeader"]["expr"]


DAY = 86400
# Series over 40 minutes at 1m steps (promtool's time starts at 0, the Unix epoch), and for
# each alert when it fires with its default `for` and when it must not.
UNIT_TESTS: dict[str, Any] = {
    "input_series": [
        {"series": 'up{job="golive",instance="a"}', "values": "1x5 0x40"},
        {"series": 'golive_leader{job="golive",instance="a"}', "values": "1x5 0x40"},
        {"series": 'golive_policy_loaded{job="golive",instance="a"}', "values": "1x5 0x40"},
        {
            "series": 'golive_agent_verdict{job="golive",namespace="agents",agent="a",'
            'result="unknown"}',
            "values": "0x5 1x40",
        },
        {
            "series": 'golive_agent_verdict{job="golive",namespace="agents",agent="b",'
            'result="unknown"}',
            "values": "0x45",
        },
        {
            "series": 'golive_webhook_reviews_total{job="golive",outcome="error"}',
            "values": "0x5 0+6x40",
        },
        {
            "series": 'golive_webhook_reviews_total{job="golive",outcome="allowed"}',
            "values": "0+60x45",
        },
        {
            # expires 3 days after the epoch: within 7 days from the start
            "series": 'golive_agent_exception_expiry_timestamp_seconds{job="golive",'
            'namespace="agents",agent="a",exception="soon"}',
            "values": f"{3 * DAY}x45",
        },
        {
            "series": 'golive_agent_exception_expiry_timestamp_seconds{job="golive",'
            'namespace="agents",agent="a",exception="later"}',
            "values": f"{30 * DAY}x45",
        },
        {
            # due 10 minutes after the epoch
            "series": 'golive_agent_review_due_timestamp_seconds{job="golive",'
            'namespace="agents",agent="a"}',
            "values": "600x45",
        },
        {
            "series": 'golive_agent_review_due_timestamp_seconds{job="golive",'
            'namespace="agents",agent="b"}',
            "values": f"{90 * DAY}x45",
        },
        {
            # a hand edit at 6 minutes: the library enforced is no longer the one declared
            "series": 'golive_policy_drift{job="golive",instance="a"}',
            "values": "0x5 1x40",
        },
        {
            "series": 'golive_policy_drift{job="golive",instance="b"}',
            "values": "0x45",
        },
        {
            "series": 'golive_policy_info{job="golive",instance="a",cluster="dev",'
            'digest="sha256:edited",expected_digest="sha256:git"}',
            "values": "1x45",
        },
        {
            "series": 'golive_policy_info{job="golive",instance="b",cluster="prod",'
            'digest="sha256:git",expected_digest="sha256:git"}',
            "values": "1x45",
        },
    ],
    "cases": [
        # (alert, not yet at, fires at, labels of the firing alerts)
        ("GoliveOperatorDown", "9m", "12m", [{}]),
        ("GoliveNoLeader", "6m", "9m", [{}]),
        ("GoliveEngineUnavailable", "9m", "12m", [{"instance": "a", "job": "golive"}]),
        ("GoliveDecisionsUnknown", "14m", "17m", [{"namespace": "agents"}]),
        ("GoliveWebhookErrors", "9m", "13m", [{}]),
        (
            "GoliveExceptionExpiring",
            "14m",
            "16m",
            [{"job": "golive", "namespace": "agents", "agent": "a", "exception": "soon"}],
        ),
        (
            "GoliveReviewOverdue",
            "24m",
            "26m",
            [{"job": "golive", "namespace": "agents", "agent": "a"}],
        ),
        # Named by the cluster the info series gives it; the other cluster does not fire.
        ("GolivePolicyDrift", "14m", "17m", [{"job": "golive", "instance": "a", "cluster": "dev"}]),
    ],
}


def _severity(alert: str) -> str:
    warning = {
        "GoliveDecisionsUnknown",
        "GoliveExceptionExpiring",
        "GoliveReviewOverdue",
        "GolivePolicyDrift",
    }
    return "warning" if alert in warning else "critical"


def unit_test_file(rules: Path, path: Path) -> Path:
    alert_tests = []
    for alert, before, at, firing in UNIT_TESTS["cases"]:
        alert_tests.append({"eval_time": before, "alertname": alert, "exp_alerts": []})
        alert_tests.append(
            {
                "eval_time": at,
                "alertname": alert,
                "exp_alerts": [
                    {"exp_labels": {**labels, "severity": _severity(alert)}} for labels in firing
                ],
            }
        )
    path.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(rules)],
                "evaluation_interval": "1m",
                "tests": [
                    {
                        "interval": "1m",
                        "input_series": UNIT_TESTS["input_series"],
                        "alert_rule_test": alert_tests,
                    }
                ],
            }
        )
    )
    return path


def without_annotations(rule: dict[str, Any]) -> dict[str, Any]:
    """promtool test rules compares annotations too: they are checked by `check rules` and in
    the e2e (the expiring exception's summary), so the timing test leaves them out."""
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            r.pop("annotations", None)
    return rule


def test_each_alert_fires_when_its_condition_holds_and_not_before(tmp_path: Path) -> None:
    rules = rule_file(without_annotations(prometheus_rule()), tmp_path / "rules.yaml")
    done = promtool("test", "rules", str(unit_test_file(rules, tmp_path / "test.yaml")))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_the_timing_test_fails_when_an_alert_never_fires(alert: str, tmp_path: Path) -> None:
    rule = without_annotations(prometheus_rule())
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            if r["alert"] == alert:
                r["expr"] = "vector(1) < 0"
    rules = rule_file(rule, tmp_path / "rules.yaml")
    done = promtool("test", "rules", str(unit_test_file(rules, tmp_path / "test.yaml")))
    assert done.returncode != 0
    assert alert in done.stdout + done.stderr
