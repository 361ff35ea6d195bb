"""A fleet: one policy library from git enforced on two clusters through an Argo CD
ApplicationSet, and one Prometheus that sees both (docs/fleet.md, examples/fleet/).

Real parts only: two full clusters (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, KWOK nodes), `dev` and `production`, each with golive's operator process
(`--policy-namespace golive-system --cluster-name <name>`) and the OpenReports CRD; one Argo CD
v3.6.1 on `dev` (application-controller, repo-server, redis, and the ApplicationSet controller,
the same binary with ARGOCD_BINARY_NAME=argocd-applicationset-controller), both clusters
registered as Argo CD cluster Secrets labelled as examples/fleet/cluster-secret.yaml says; `git
daemon` on loopback serving a repository laid out as examples/fleet/, whose library/ is written
by `golive policy configmaps`; one Prometheus scraping both operators, with golive's own
PrometheusRule as the chart renders it.

The module walks one history, each test on the previous one's state: the first commit (golive's
SAFE library) gives both clusters one digest, and the environments' Pod Security levels give
report-drafter different verdicts; a policy commit (the platform team's cost-center rule) reaches
both clusters and blocks ticket-router on both; the fix (the agents' labels, examples/fleet as
committed) admits it on both; a hand edit of a policy ConfigMap on production is drift while Argo
CD's controller is paused, and its self-heal puts git's library back; the dashboard's fleet row,
its actual PromQL, reads both clusters from the one Prometheus.
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
from kit.controlplane import REPO, running_with_crds
from kit.openreports import install_report_crd
from kit.operator import OperatorProcess
from kit.prometheus import PrometheusServer
from tests.e2e.agents import condition, get, wait_for
from tests.e2e.test_dashboard_alerts_e2e import GOLIVE_JOB, api
from tests.unit.test_chart_monitoring import DASHBOARD, prometheus_rule

FLEET = REPO / "examples" / "fleet"
ENVIRONMENT = "golive.dev/environment"
COST_CENTER = "example.com/cost-center"
# cluster name -> its environment (examples/fleet/environments/<environment>/)
CLUSTERS = {"dev": "dev", "production": "production"}
POLICY_NAMESPACE = "golive-system"
AGENTS = "agents"  # the namespace examples/fleet's manifests use
ROUTER, DRAFTER = "ticket-router", "report-drafter"
TIMEOUT = 150.0


# --- the repository: examples/fleet, its library written by golive ----------------------------


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


def fleet_files(*, team_rule: bool, labelled: bool) -> dict[str, str | None]:
    """The repository's files: examples/fleet as committed when both flags are set; without the
    team rule (golive's SAFE library alone) and/or without the agents' cost-center labels."""
    files: dict[str, str | None] = {
        str(path.relative_to(FLEET)): path.read_text()
        for path in sorted(FLEET.rglob("*"))
        if path.is_file()
    }
    if not team_rule:
        files.update({rel: None for rel in files if rel.startswith("policies/")})
    team = [FLEET / "policies"] if team_rule else []
    files["library/golive-policies.yaml"] = golive_configmaps(*team)
    if not labelled:
        for rel in [r for r in files if r.startswith("agents/")]:
            docs = list(yaml.safe_load_all(str(files[rel])))
            for doc in docs:
                (doc["metadata"].get("labels") or {}).pop(COST_CENTER, None)
            files[rel] = yaml.safe_dump_all(docs, sort_keys=False)
    return files


# --- the fleet ------------------------------------------------------------------------------


@dataclass
class Fleet:
    clusters: dict[str, Cluster]
    operators: dict[str, OperatorProcess]
    argocd: ArgoCD
    git: GitServer
    prometheus: PrometheusServer

    def push(self, message: str, *, team_rule: bool, labelled: bool) -> tuple[str, str]:
        """Commit the repository's new state; (sha, the library's declared digest)."""
        files = fleet_files(team_rule=team_rule, labelled=labelled)
        sha = self.git.commit(files, message)
        return sha, declared_digest(str(files["library/golive-policies.yaml"]))

    def commit(self, message: str, *, team_rule: bool, labelled: bool) -> tuple[str, str]:
        """push, then have both Applications sync the commit (hard refresh, as `argocd app get
        --hard-refresh`, instead of waiting for Argo CD's poll of git)."""
        sha, digest = self.push(message, team_rule=team_rule, labelled=labelled)
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
        clusters = {
            name: stack.enter_context(
                running_with_crds(Cluster(tmp_path_factory.mktemp(f"fleet-{name}")))
            )
            for name in CLUSTERS
        }
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
        secret = yaml.safe_load((FLEET / "cluster-secret.yaml").read_text())
        labels = {k: v for k, v in secret["metadata"]["labels"].items() if k != ENVIRONMENT}
        for name, plane in clusters.items():
            argocd.register_cluster(name, plane, {**labels, ENVIRONMENT: CLUSTERS[name]})

        print(f"\nfleet started in {time.monotonic() - started:.1f}s")
        yield Fleet(clusters, operators, argocd, git, prometheus)
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


def test_both_clusters_enforce_one_library_and_each_environment_decides(fleet: Fleet) -> None:
    sha, digest = fleet.push(
        "golive's SAFE library and the agents", team_rule=False, labelled=False
    )
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
    # One digest on both clusters, the one git declares; the environments decide report-drafter.
    wait_verdicts(
        fleet,
        {
            ("dev", ROUTER): ("True", digest),
            ("production", ROUTER): ("True", digest),
            ("dev", DRAFTER): ("True", digest),
            ("production", DRAFTER): ("False", digest),
        },
        "one library on both clusters; report-drafter admitted in dev only",
    )
    blocked = condition(get(fleet.clusters["production"], "agd", AGENTS, DRAFTER), "Admitted")
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
            return items if {r["scope"]["name"] for r in items} == {ROUTER, DRAFTER} else []

        found = wait_for(reports, 60, f"both agents' Reports in {name}")
        assert {r["metadata"]["labels"][CLUSTER_LABEL] for r in found} == {name}
        (drafter,) = [r for r in found if r["scope"]["name"] == DRAFTER]
        results = {r["policy"]: r["result"] for r in drafter["results"]}
        want = "fail" if name == "production" else "pass"
        assert results["golive.podsecurity.enforced"] == want, results


def test_a_policy_commit_reaches_both_clusters_and_a_fix_admits_on_both(fleet: Fleet) -> None:
    before = {name: verdict(plane, ROUTER)[1] for name, plane in fleet.clusters.items()}
    _, digest = fleet.commit("the platform team's cost-center rule", team_rule=True, labelled=False)
    assert set(before.values()) != {digest}
    # Nothing of the agents changed in git: the new library alone decides them again.
    wait_verdicts(
        fleet,
        {(name, ROUTER): ("False", digest) for name in CLUSTERS},
        "ticket-router blocked on both clusters by the new rule",
    )
    for plane in fleet.clusters.values():
        router = get(plane, "agd", AGENTS, ROUTER)
        assert router is not None and router["metadata"]["generation"] == 1
        assert "golive.platform.cost_center" in condition(router, "Admitted")["message"]
    for name, operator in fleet.operators.items():
        assert library_series(operator)["info"]["digest"] == digest, name

    _, fixed = fleet.commit("the agents name their cost centers", team_rule=True, labelled=True)
    assert fixed == digest  # the agents changed, not the library
    wait_verdicts(
        fleet,
        {
            ("dev", ROUTER): ("True", digest),
            ("production", ROUTER): ("True", digest),
            ("dev", DRAFTER): ("True", digest),
            ("production", DRAFTER): ("False", digest),
        },
        "ticket-router admitted on both clusters; report-drafter still only in dev",
    )


def test_a_hand_edit_is_drift_until_self_heal_puts_git_back(fleet: Fleet) -> None:
    production, dev = fleet.clusters["production"], fleet.clusters["dev"]
    name = "golive-policy-platform-cost-center"
    git_data = policy_configmap(production, name)["data"]
    digest = policy_configmap(production, name)["metadata"]["annotations"][POLICY_DIGEST]
    relaxed = git_data["policy.rego"].replace("not named(cost_center)", "false")
    assert relaxed != git_data["policy.rego"]

    # Argo CD's controller paused: its self-heal would undo the edit in about a second.
    with fleet.argocd.controller_paused():
        patch = json.dumps({"data": {"policy.rego": relaxed}})
        production.kubectl("patch", "configmap", name, "-n", POLICY_NAMESPACE, "-p", patch)

        def drift() -> dict[str, Any] | None:
            series = library_series(fleet.operators["production"])
            return series if series.get("drift") == 1.0 else None

        drifted = wait_for(drift, 60, "production's golive to report drift")
        assert drifted["info"]["expected_digest"] == digest != drifted["info"]["digest"]
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
    digest = verdict(fleet.clusters["dev"], ROUTER)[1]

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
        "Blocked agents by cluster": {("dev",): 0.0, ("production",): 1.0},
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

    # Cost: both agents of examples/fleet on each cluster, blocked or not: 18 + 6 USD at 1x.
    cost = by_cluster("Projected monthly cost by cluster, at 1x, 10x and 100x", "scale", "currency")
    assert cost == {
        (name, scale, "USD"): 24.0 * factor
        for name in CLUSTERS
        for scale, factor in (("1x", 1), ("10x", 10), ("100x", 100))
    }, cost
