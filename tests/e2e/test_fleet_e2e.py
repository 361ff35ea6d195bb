"""A fleet: one policy library from git enforced on two clusters through an Argo CD
ApplicationSet, and one Prometheus that sees both (docs/fleet.md, examples/fleet/).

Real parts only: two full clusters (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, KWOK nodes), `dev` and `production`, each with golive's operator process
(`--policy-namespace golive-system --cluster-name <name>`) and the OpenReports CRD; one Argo CD
v3.6.1 on `dev` (application-controller, repo-server, redis, and the ApplicationSet controller,
the same binary with ARGOCD_BINARY_NAME=argocd-applicationset-controller), both clusters
registered as Argo CD cluster Secrets labelled as examples/fleet/cluster-secret.yaml says (dev
baseline, production restricted); `git daemon` on loopback serving a repository laid out as
examples/fleet/applicationset.yaml expects (golive's examples as the agents, the team rule of
examples/fleet/policies, library/ written by `golive policy configmaps`); one Prometheus
scraping both operators, with golive's own PrometheusRule as the chart renders it.

The module walks one history, each test on the previous one's state: the first commit (golive's
SAFE library) gives both clusters one digest, and the clusters' Pod Security levels give
claims-summarizer different verdicts; a policy commit (the team's registry rule, with a typo)
reaches both clusters and blocks invoice-triage on both; the fixing commit admits it on both; a
hand edit of a policy ConfigMap on production is drift while Argo CD's controller is paused, and
its self-heal puts git's library back; the dashboard's fleet row, its actual PromQL, reads both
clusters from the one Prometheus.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from controller.domain.api import CLUSTER_LABEL, POLICY_DIGEST
from kit.argocd import NAMESPACE as ARGOCD_NAMESPACE
from kit.argocd import ArgoCD, GitServer
from kit.cluster import Cluster
from kit.controlplane import REPO, all_running_with_crds
from kit.openreports import install_report_crd
from kit.operator import OperatorProcess
from kit.prometheus import PrometheusServer
from tests.e2e.agents import condition, get, wait_for
from tests.e2e.test_dashboard_alerts_e2e import GOLIVE_JOB, api
from tests.unit.test_chart_monitoring import DASHBOARD, prometheus_rule

FLEET = REPO / "examples" / "fleet"
TEAM_RULE = FLEET / "policies" / "platform" / "approved_registry" / "policy.rego"
POD_SECURITY = "golive.dev/pod-security"
# cluster name -> the Pod Security level its Secret gives its agents namespace
CLUSTERS = {"dev": "baseline", "production": "restricted"}
POLICY_NAMESPACE = "golive-system"
AGENTS = "agents"  # the namespace of golive's examples, the ApplicationSet's destination
INVOICE, CLAIMS, SUPPORT = "invoice-triage", "claims-summarizer", "support-bot"
TIMEOUT = 150.0


# --- the repository: examples/fleet's layout, its library written by golive -------------------


def golive_configmaps(*policies: Path) -> str:
    """`golive policy configmaps` as CI would run it, the golive command as a process."""
    argv = [sys.executable, "-m", "controller.cli", "policy", "configmaps"]
    argv += ["-n", POLICY_NAMESPACE, *(f"--policies={p}" for p in policies)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def declared_digest(library: str) -> str:
    digests = {doc["metadata"]["annotations"][POLICY_DIGEST] for doc in yaml.safe_load_all(library)}
    assert len(digests) == 1, digests
    return str(digests.pop())


def repository(team_rule: str | None, workdir: Path) -> dict[str, str | None]:
    """The platform team's repository (applicationset.yaml's layout): agents/ holds golive's
    examples (their namespace is the ApplicationSet's to create), policies/ the team's rule
    with the text `team_rule` (None: no team rule, golive's SAFE library alone), library/ what
    `golive policy configmaps` writes from them."""
    files: dict[str, str | None] = {
        f"agents/{path.name}": path.read_text()
        for path in sorted((REPO / "examples").glob("*.yaml"))
        if path.name != "00-namespace.yaml"
    }
    rel = f"policies/{TEAM_RULE.relative_to(FLEET / 'policies')}"
    files[rel] = team_rule
    policies = workdir / "policies"
    rule = policies / TEAM_RULE.relative_to(FLEET / "policies")
    if team_rule is None:
        rule.unlink(missing_ok=True)
    else:
        rule.parent.mkdir(parents=True, exist_ok=True)
        rule.write_text(team_rule)
    files["library/golive-policies.yaml"] = golive_configmaps(
        *([policies] if team_rule is not None else [])
    )
    return files


# --- the fleet ------------------------------------------------------------------------------


@dataclass
class Fleet:
    clusters: dict[str, Cluster]
    operators: dict[str, OperatorProcess]
    argocd: ArgoCD
    git: GitServer
    prometheus: PrometheusServer
    workdir: Path

    def push(self, message: str, team_rule: str | None) -> tuple[str, str]:
        """Commit the repository's new state; (sha, the library's declared digest)."""
        files = repository(team_rule, self.workdir)
        sha = self.git.commit(files, message)
        return sha, declared_digest(str(files["library/golive-policies.yaml"]))

    def commit(self, message: str, team_rule: str | None) -> tuple[str, str]:
        """push, then have both Applications sync the commit (hard refresh, as `argocd app get
        --hard-refresh`, instead of waiting for Argo CD's poll of git)."""
        sha, digest = self.push(message, team_rule)
        for name in self.clusters:
            self.argocd.refresh(application(name))
        self.wait_synced(sha, message)
        return sha, digest

    def wait_synced(self, sha: str, message: str) -> None:
        for name in self.clusters:
            self.argocd.wait_application(
                application(name),
                lambda app, sha=sha: synced_to(app, sha),
                TIMEOUT,
                f"synced to {sha[:8]} ({message})",
            )


def application(cluster: str) -> str:
    return f"golive-{cluster}"  # the ApplicationSet's template: golive-{{.name}}


def synced_to(app: dict[str, Any], sha: str) -> bool:
    """Every source of the (multi-source) Application synced at `sha`, the sync finished."""
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    op = status.get("operationState") or {}
    result = op.get("syncResult") or {}
    return (
        sync.get("status") == "Synced"
        and set(sync.get("revisions") or []) == {sha}
        and op.get("phase") == "Succeeded"
        and set(result.get("revisions") or []) == {sha}
    )


def applicationset(git: GitServer) -> dict[str, Any]:
    """examples/fleet/applicationset.yaml, pointed at the loopback repository."""
    appset = dict(yaml.safe_load((FLEET / "applicationset.yaml").read_text()))
    for source in appset["spec"]["template"]["spec"]["sources"]:
        source.update(repoURL=git.url, targetRevision=git.branch)
    return appset


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        planes = [Cluster(tmp_path_factory.mktemp(f"fleet-{name}")) for name in CLUSTERS]
        running = stack.enter_context(all_running_with_crds(planes))
        clusters = dict(zip(CLUSTERS, running, strict=True))
        operators = {}
        for name, plane in clusters.items():
            install_report_crd(plane)
            # What the chart's install leaves: golive's namespace, where the library goes.
            plane.kubectl("create", "namespace", POLICY_NAMESPACE)
            operators[name] = OperatorProcess(
                plane,
                tmp_path_factory.mktemp(f"fleet-operator-{name}"),
                policy_namespace=POLICY_NAMESPACE,
                extra_args=["--cluster-name", name],
            ).start()
            stack.callback(operators[name].stop)

        workdir = tmp_path_factory.mktemp("fleet-prometheus")
        targets = workdir / "golive-targets.json"
        targets.write_text(
            json.dumps([{"targets": [f"127.0.0.1:{op.metrics_port}" for op in operators.values()]}])
        )
        prometheus = PrometheusServer(
            workdir, extra_scrape_configs=GOLIVE_JOB.format(targets=targets)
        ).start()
        stack.callback(prometheus.stop)
        # golive's own alerts as the chart renders them, the drift alert without its `for`.
        prometheus.write_rules([prometheus_rule("alerts.job=golive", "alerts.for.policyDrift=0s")])

        git = GitServer(tmp_path_factory.mktemp("fleet-git")).start()
        stack.callback(git.stop)
        argocd = ArgoCD(
            clusters["dev"], tmp_path_factory.mktemp("fleet-argocd"), applicationsets=True
        ).start()
        stack.callback(argocd.stop)
        # Labelled as examples/fleet/cluster-secret.yaml, each with its own Pod Security level.
        secret = yaml.safe_load((FLEET / "cluster-secret.yaml").read_text())
        labels = {k: v for k, v in secret["metadata"]["labels"].items() if k != POD_SECURITY}
        for name, plane in clusters.items():
            argocd.register_cluster(name, plane, {**labels, POD_SECURITY: CLUSTERS[name]})

        print(f"\nfleet started in {time.monotonic() - started:.1f}s")
        yield Fleet(
            clusters, operators, argocd, git, prometheus, tmp_path_factory.mktemp("fleet-repo")
        )
    print(f"\nfleet module: {time.monotonic() - started:.1f}s wall, start-up to teardown")


# --- reading the clusters -------------------------------------------------------------------


def verdict(plane: Cluster, name: str) -> tuple[str, str]:
    """(Admitted status, the digest it was decided with) of an agent of examples/fleet."""
    obj = get(plane, "agd", AGENTS, name) or {}
    admitted = condition(obj, "Admitted")
    fresh = admitted.get("observedGeneration") == (obj.get("metadata") or {}).get("generation")
    digest = str(((obj.get("status") or {}).get("policy") or {}).get("digest", ""))
    return (str(admitted.get("status", "")) if fresh else "", digest)


def wait_verdicts(fleet: Fleet, want: dict[tuple[str, str], tuple[str, str]], what: str) -> None:
    """Wait until every (cluster, agent) has the (Admitted status, digest) wanted."""

    def now() -> dict[tuple[str, str], tuple[str, str]]:
        return {key: verdict(fleet.clusters[key[0]], key[1]) for key in want}

    try:
        wait_for(lambda: now() == want, TIMEOUT, what)
    except AssertionError:
        pytest.fail(f"{what}: wanted {want}, found {now()}")


def library_series(operator: OperatorProcess) -> dict[str, Any]:
    """golive_policy_info's labels and golive_policy_drift's value, from the operator's /metrics."""
    found: dict[str, Any] = {}
    for family in text_string_to_metric_families(operator.metrics()):
        for sample in family.samples:
            if sample.name == "golive_policy_info":
                found["info"] = dict(sample.labels)
            elif sample.name == "golive_policy_drift":
                found["drift"] = sample.value
    return found


def policy_configmap(plane: Cluster, name: str) -> dict[str, Any]:
    found = get(plane, "configmap", POLICY_NAMESPACE, name)
    assert found is not None, name
    return found


# --- the tests ------------------------------------------------------------------------------


def the_verdicts(digest: str, invoice: str = "True") -> dict[tuple[str, str], tuple[str, str]]:
    """The examples' verdicts on both clusters under one library: support-bot blocked
    everywhere, claims-summarizer admitted in dev only (its pods fail the restricted level)."""
    return {
        ("dev", INVOICE): (invoice, digest),
        ("production", INVOICE): (invoice, digest),
        ("dev", CLAIMS): ("True", digest),
        ("production", CLAIMS): ("False", digest),
        ("dev", SUPPORT): ("False", digest),
        ("production", SUPPORT): ("False", digest),
    }


def test_both_clusters_enforce_one_library_and_each_cluster_decides(fleet: Fleet) -> None:
    sha, digest = fleet.push("golive's SAFE library and the agents", team_rule=None)
    fleet.argocd.apply_application(applicationset(fleet.git))
    # The cluster generator makes one Application per registered cluster, and each syncs.
    hub = fleet.argocd.cluster
    for name in CLUSTERS:
        wait_for(
            lambda name=name: get(
                hub, "applications.argoproj.io", ARGOCD_NAMESPACE, application(name)
            ),
            60,
            f"the ApplicationSet to generate {application(name)}",
        )
    fleet.wait_synced(sha, "the first commit")
    for name, plane in fleet.clusters.items():
        app = fleet.argocd.application(application(name))
        assert app["spec"]["destination"]["server"] == plane.url
        assert app["metadata"]["ownerReferences"][0]["kind"] == "ApplicationSet"
        # The per-cluster value: the namespace Argo CD created carries the cluster's level.
        namespace = get(plane, "namespace", "", AGENTS)
        assert namespace is not None
        level = namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        assert level == CLUSTERS[name]

    # One digest on both clusters, the one git declares; the levels decide claims-summarizer.
    wait_verdicts(fleet, the_verdicts(digest), "one library on both clusters")
    blocked = condition(get(fleet.clusters["production"], "agd", AGENTS, CLAIMS), "Admitted")
    assert "golive.podsecurity.enforced" in blocked["message"]
    assert "has pod-security.kubernetes.io/enforce: restricted" in blocked["message"]
    for name, operator in fleet.operators.items():
        series = wait_for(lambda op=operator: library_series(op).get("info"), 30, "the info")
        assert series == {"cluster": name, "digest": digest, "expected_digest": digest}
        assert library_series(operator)["drift"] == 0.0

    # The Reports say which cluster decided, and what.
    for name, plane in fleet.clusters.items():

        def reports(plane: Cluster = plane) -> list[dict[str, Any]]:
            out = plane.kubectl("get", "reports.openreports.io", "-n", AGENTS, "-o", "json")
            items = json.loads(out.stdout)["items"]
            scopes = {r["scope"]["name"] for r in items}
            return list(items) if scopes == {INVOICE, CLAIMS, SUPPORT} else []

        found = wait_for(reports, 60, f"the three agents' Reports in {name}")
        assert {r["metadata"]["labels"][CLUSTER_LABEL] for r in found} == {name}
        (claims,) = [r for r in found if r["scope"]["name"] == CLAIMS]
        results = {r["policy"]: r["result"] for r in claims["results"]}
        want = "fail" if name == "production" else "pass"
        assert results["golive.podsecurity.enforced"] == want, results


def test_a_policy_commit_reaches_both_clusters_and_a_fix_admits_on_both(fleet: Fleet) -> None:
    before = {verdict(plane, INVOICE)[1] for plane in fleet.clusters.values()}
    # The platform team's rule, with a typo in the one registry it approves.
    typo = TEAM_RULE.read_text().replace('{"registry.example.com"}', '{"registry.example.org"}')
    assert typo != TEAM_RULE.read_text()
    _, digest = fleet.commit("approved registries: only the platform's", typo)
    assert before != {digest}
    # Nothing of the agents changed in git: the new library alone decides them again.
    wait_verdicts(
        fleet,
        {(name, INVOICE): ("False", digest) for name in CLUSTERS},
        "invoice-triage blocked on both clusters by the new rule",
    )
    for name, plane in fleet.clusters.items():
        invoice = get(plane, "agd", AGENTS, INVOICE)
        assert invoice is not None and invoice["metadata"]["generation"] == 1
        message = condition(invoice, "Admitted")["message"]
        assert "golive.platform.approved_registry" in message, message
        assert library_series(fleet.operators[name])["info"]["digest"] == digest

    _, fixed = fleet.commit("approved registries: registry.example.com", TEAM_RULE.read_text())
    assert fixed != digest
    wait_verdicts(fleet, the_verdicts(fixed), "invoice-triage admitted on both clusters again")


def test_a_hand_edit_is_drift_until_self_heal_puts_git_back(fleet: Fleet) -> None:
    production, dev = fleet.clusters["production"], fleet.clusters["dev"]
    name = "golive-policy-platform-approved-registry"
    git_data = policy_configmap(production, name)["data"]
    digest = policy_configmap(production, name)["metadata"]["annotations"][POLICY_DIGEST]
    relaxed = git_data["policy.rego"].replace("not approved(image)", "false")
    assert relaxed != git_data["policy.rego"]

    # Argo CD's controller paused: its self-heal would undo the edit within a second or two.
    with fleet.argocd.controller_paused():
        patch = json.dumps({"data": {"policy.rego": relaxed}})
        production.kubectl("patch", "configmap", name, "-n", POLICY_NAMESPACE, "-p", patch)

        def drift() -> dict[str, Any] | None:
            series = library_series(fleet.operators["production"])
            return series if series.get("drift") == 1.0 else None

        drifted = wait_for(drift, 60, "production's golive to report drift")
        # Who edited it, as docs/fleet.md says to find out: a field manager not Argo CD's.
        edited = get(production, "configmap", POLICY_NAMESPACE, name, "--show-managed-fields")
        managers = {m["manager"] for m in (edited or {})["metadata"]["managedFields"]}
        assert managers == {"argocd-controller", "kubectl-patch"}, managers
        assert drifted["info"]["expected_digest"] == digest != drifted["info"]["digest"]
        assert drifted["info"]["cluster"] == "production"
        assert library_series(fleet.operators["dev"])["drift"] == 0.0

        # golive's own alert fires for production, named by the cluster.
        def firing() -> list[dict[str, str]]:
            alerts = api(fleet.prometheus, "/api/v1/alerts")["data"]["alerts"]
            return [
                a["labels"]
                for a in alerts
                if a["labels"]["alertname"] == "GolivePolicyDrift" and a["state"] == "firing"
            ]

        labels = wait_for(firing, 60, "GolivePolicyDrift firing")
        assert [a["cluster"] for a in labels] == ["production"], labels

    # Argo CD sees the live ConfigMap differ from git and syncs it back (self-heal).
    wait_for(
        lambda: policy_configmap(production, name)["data"] == git_data,
        TIMEOUT,
        "Argo CD's self-heal to restore the ConfigMap",
    )
    wait_for(
        lambda: library_series(fleet.operators["production"]).get("drift") == 0.0,
        60,
        "the drift to end",
    )
    assert library_series(fleet.operators["production"])["info"]["digest"] == digest
    assert policy_configmap(dev, name)["data"] == git_data


def fleet_queries() -> list[tuple[str, str]]:
    """(panel title, expr) of the dashboard's Fleet row, as generated."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    start = next(i for i, p in enumerate(panels) if p["type"] == "row" and p["title"] == "Fleet")
    row = []
    for panel in panels[start + 1 :]:
        if panel["type"] == "row":
            break
        row += [(panel["title"], t["expr"]) for t in panel.get("targets", [])]
    return row


def test_the_fleet_panels_read_both_clusters_from_one_prometheus(fleet: Fleet) -> None:
    queries = {title: expr.replace("$namespace", AGENTS) for title, expr in fleet_queries()}
    assert set(queries) == {
        "Policy library per cluster",
        "Policy drift by cluster",
        "Blocked agents by cluster",
        "Projected monthly cost by cluster, at 1x, 10x and 100x",
    }
    digest = verdict(fleet.clusters["dev"], INVOICE)[1]

    def answer(title: str) -> list[dict[str, Any]]:
        got = api(fleet.prometheus, "/api/v1/query", query=queries[title])
        assert got["status"] == "success", (title, got)
        return list(got["data"]["result"])

    def by_cluster(title: str, *labels: str) -> dict[tuple[str, ...], float]:
        return {
            tuple(r["metric"].get(k, "") for k in ("cluster", *labels)): float(r["value"][1])
            for r in answer(title)
        }

    expected = {
        "Policy library per cluster": {(name, digest, digest): 1.0 for name in CLUSTERS},
        "Policy drift by cluster": {(name,): 0.0 for name in CLUSTERS},
        # support-bot everywhere, claims-summarizer in production
        "Blocked agents by cluster": {("dev",): 1.0, ("production",): 2.0},
    }
    labels = {"Policy library per cluster": ("digest", "expected_digest")}
    last: dict[str, Any] = {}

    def all_match() -> bool:
        for title in expected:
            last[title] = by_cluster(title, *labels.get(title, ()))
        return all(last[title] == want for title, want in expected.items())

    try:
        wait_for(all_match, 60, "the fleet panels to show both clusters")
    except AssertionError:
        pytest.fail(f"fleet panels: wanted {expected}, found {last}")

    # Cost: the sum of what each cluster's agents' status says, blocked or not.
    cost = by_cluster("Projected monthly cost by cluster, at 1x, 10x and 100x", "scale", "currency")
    assert cost == pytest.approx(status_costs(fleet)), cost


def status_costs(fleet: Fleet) -> dict[tuple[str, str, str], float]:
    """(cluster, scale, currency) -> the sum of status.cost.monthly<scale> of its agents."""
    sums: dict[tuple[str, str, str], float] = {}
    for name, plane in fleet.clusters.items():
        for agent in (INVOICE, CLAIMS, SUPPORT):
            cost = ((get(plane, "agd", AGENTS, agent) or {}).get("status") or {}).get("cost") or {}
            for scale in ("1x", "10x", "100x"):
                if cost.get(f"monthly{scale}") is not None:
                    key = (name, scale, str(cost["currency"]))
                    sums[key] = sums.get(key, 0.0) + float(cost[f"monthly{scale}"])
    assert sums, "no agent has a projected cost"
    return sums
