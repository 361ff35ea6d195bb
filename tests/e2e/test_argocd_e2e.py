"""golive under a real Argo CD: Applications synced from git on loopback into the full cluster.

Real parts only: Argo CD's application-controller and repo-server (built by scripts/tools.sh),
redis, `git daemon`, the golive operator process, and the full cluster (kube-controller-manager,
kube-scheduler, KWOK nodes), so Deployments roll out and AgentDeployments really turn Healthy.
argocd-cm carries golive's health check as charts/golive/argocd/ ships it, and every Application
is examples/argocd/application.yaml pointed at the loopback repository.

One Argo CD serves the module; each test has its own Application, repository folder and
namespace. After a commit a test hard-refreshes its Application, as `argocd app get
--hard-refresh` does, instead of waiting minutes for Argo CD to poll git.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.domain.api import ADMITTED_GENERATION, AGENT_LABEL
from kit.argocd import (
    GOLIVE_ARGOCD_CM,
    ArgoCD,
    GitServer,
    resource_health,
    resource_status,
)
from kit.cluster import Cluster
from kit.controlplane import REPO, tool_bin_dir
from kit.operator import OperatorProcess
from tests.e2e.agents import condition, get

EXAMPLES = REPO / "examples"
EXAMPLE_APPLICATION = EXAMPLES / "argocd" / "application.yaml"
HEALTH_TESTS = REPO / "charts" / "golive" / "argocd" / "health_test.yaml"
WAVE = "argocd.argoproj.io/sync-wave"
TRACKING_ID = "argocd.argoproj.io/tracking-id"  # Argo CD v3 tracks what it manages by annotation
ARGOCD_MANAGER = "argocd-controller"  # Argo CD's server-side-apply field manager
AGENT = "AgentDeployment"
# Argo CD's operation message while a wave waits for a resource of that wave.
WAITING_FOR = "waiting for healthy state of golive.dev/AgentDeployment/"
# How long "not applied yet" is watched: Argo CD applies a released wave within a second.
HOLD = 4.0
TIMEOUT = 120.0


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    server = GitServer(tmp_path_factory.mktemp("git"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def operator(
    full_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """golive without its webhook: a blocked agent is stored and shows as Degraded."""
    op = OperatorProcess(full_cluster, tmp_path_factory.mktemp("argocd-operator"))
    op.delete_webhook_config()  # another module killed mid-run must not gate these applies
    try:
        yield op.start()
    finally:
        op.stop()


@pytest.fixture(scope="module")
def argocd(
    full_cluster: Cluster,
    operator: OperatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ArgoCD]:
    instance = ArgoCD(full_cluster, tmp_path_factory.mktemp("argocd"))
    try:
        yield instance.start()
    finally:
        # Applications have no finalizer, so deleting them deletes nothing they manage; the
        # namespaces of the tests go too, so the session's later operators do not inherit them.
        full_cluster.kubectl(
            "delete", "applications.argoproj.io", "--all", "-n", "argocd", check=False
        )
        instance.stop()
        full_cluster.kubectl(
            "delete", "namespace", "-l", "golive.dev/argocd-test", "--wait=false", check=False
        )


@pytest.fixture
def webhook_operator(
    operator: OperatorProcess, full_cluster: Cluster, tmp_path: Path
) -> Iterator[OperatorProcess]:
    """The module's operator replaced by one that also serves and registers the webhook."""
    operator.stop()
    op = OperatorProcess(full_cluster, tmp_path / "webhook-operator", webhook=True)
    try:
        yield op.start()
    finally:
        op.stop()
        op.delete_webhook_config()
        operator.start()


# --- manifests ----------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def example_docs(filename: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((EXAMPLES / filename).read_text()) if d]


def placed(docs: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """The examples' objects moved from namespace `agents` into `namespace`."""
    for doc in docs:
        if doc["kind"] == "Namespace":
            doc["metadata"]["name"] = namespace
            # Lets the module fixture delete every test namespace at the end.
            doc["metadata"].setdefault("labels", {})["golive.dev/argocd-test"] = "true"
        else:
            doc["metadata"]["namespace"] = namespace
    return docs


def examples_in(namespace: str) -> dict[str, list[dict[str, Any]]]:
    """examples/*.yaml (not argocd/), file by file, placed in `namespace`."""
    return {
        p.name: placed(example_docs(p.name), namespace) for p in sorted(EXAMPLES.glob("*.yaml"))
    }


def compliant_agent(namespace: str, name: str) -> list[dict[str, Any]]:
    """Namespace, examples/invoice-triage.yaml's contract and agent (renamed), in their waves."""
    docs = placed(
        example_docs("00-namespace.yaml") + example_docs("invoice-triage.yaml"), namespace
    )
    agent_doc(docs)["metadata"]["name"] = name
    return docs


def agent_doc(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == AGENT)


def consumer(namespace: str, name: str, of: str) -> dict[str, Any]:
    """A later-wave object that needs the agent `of` running (here: its client's settings)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "annotations": {WAVE: "2"}},
        "data": {"agent": of},
    }


def files(folder: str, manifests: dict[str, list[dict[str, Any]]]) -> dict[str, str | None]:
    return {f"{folder}/{name}": yaml.safe_dump_all(docs) for name, docs in manifests.items()}


def application(name: str, git: GitServer, path: str, namespace: str) -> dict[str, Any]:
    """examples/argocd/application.yaml, pointed at the loopback repository and `path`."""
    app = dict(yaml.safe_load(EXAMPLE_APPLICATION.read_text()))
    app["metadata"]["name"] = name
    app["spec"]["source"].update(repoURL=git.url, targetRevision=git.branch, path=path)
    app["spec"]["destination"]["namespace"] = namespace
    return app


# --- reading the cluster and the Application ----------------------------------------------


def health(app: dict[str, Any], name: str, kind: str = AGENT) -> tuple[str, str]:
    h = resource_status(app, kind, name).get("health") or {}
    return str(h.get("status", "")), str(h.get("message", ""))


def operation(app: dict[str, Any]) -> dict[str, Any]:
    return dict((app.get("status") or {}).get("operationState") or {})


def synced_to(app: dict[str, Any], sha: str) -> bool:
    sync = (app.get("status") or {}).get("sync") or {}
    return bool(sync.get("revision") == sha and sync.get("status") == "Synced")


def sync_failed(app: dict[str, Any]) -> bool:
    # A failed sync that Argo CD will retry stays in phase Running; its message says why it
    # failed until the retry starts.
    return "completed unsuccessfully" in str(operation(app).get("message", ""))


def live(cluster: Cluster, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    # kubectl leaves metadata.managedFields out unless asked; the drift test reads them.
    return get(cluster, kind, namespace, name, "--show-managed-fields")


def described(cond: dict[str, Any]) -> str:
    """How health.lua describes a condition: `reason: message`."""
    return f"{cond['reason']}: {cond['message']}"


def ready_pods(cluster: Cluster, namespace: str, agent: str) -> dict[str, str]:
    """uid -> image of the agent's pods that are Ready (and not being deleted)."""
    out = cluster.kubectl(
        "get", "pods", "-n", namespace, "-l", f"{AGENT_LABEL}={agent}", "-o", "json"
    )
    pods: dict[str, str] = {}
    for pod in json.loads(out.stdout)["items"]:
        ready = any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (pod.get("status") or {}).get("conditions") or []
        )
        if ready and not pod["metadata"].get("deletionTimestamp"):
            pods[pod["metadata"]["uid"]] = pod["spec"]["containers"][0]["image"]
    return pods


def wait_pods(
    cluster: Cluster,
    namespace: str,
    agent: str,
    check: Callable[[dict[str, str]], bool],
    what: str,
) -> dict[str, str]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        pods = ready_pods(cluster, namespace, agent)
        if check(pods):
            return pods
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for the pods of {agent}: {what}: {pods}")


def assert_stays_absent(cluster: Cluster, kind: str, namespace: str, name: str) -> None:
    deadline = time.monotonic() + HOLD
    while time.monotonic() < deadline:
        assert live(cluster, kind, namespace, name) is None, f"{kind} {name} was applied"
        time.sleep(0.3)


# --- the health check in Argo CD's own Lua runtime ----------------------------------------


def health_cases() -> list[dict[str, Any]]:
    return list(yaml.safe_load(HEALTH_TESTS.read_text())["tests"])


@pytest.fixture(scope="module")
def argocd_bin_dir() -> Path:
    return tool_bin_dir(["argocd"])


@pytest.mark.parametrize("case", health_cases(), ids=lambda c: Path(c["inputPath"]).stem)
def test_argocd_admin_gives_the_health_the_lua_tests_expect(
    argocd_bin_dir: Path, case: dict[str, Any]
) -> None:
    # The same fixtures tests/unit/test_argocd_health.py runs in lupa, here in Argo CD's
    # gopher-lua with the argocd-cm merge patch users apply.
    resource = HEALTH_TESTS.parent / case["inputPath"]
    status, message = resource_health(argocd_bin_dir, resource, GOLIVE_ARGOCD_CM)
    assert (status, message) == (case["healthStatus"]["status"], case["healthStatus"]["message"])


# --- Argo CD syncing golive ---------------------------------------------------------------


def test_examples_progress_to_healthy_and_the_blocked_agent_is_degraded(
    argocd: ArgoCD, git: GitServer, full_cluster: Cluster
) -> None:
    namespace, name = unique("argocd-examples"), unique("examples")
    sha = git.commit(files(name, examples_in(namespace)), "golive's examples/")
    admitted = ("invoice-triage", "claims-summarizer")

    def agent(agent_name: str) -> dict[str, Any] | None:
        return live(full_cluster, AGENT, namespace, agent_name)

    # Cordoned nodes hold the admitted agents' pods Pending, so "Progressing until the
    # Deployment is Available" is a state that lasts, not a race the test might miss.
    full_cluster.kubectl("cordon", "-l", "type=kwok")
    try:
        argocd.apply_application(application(name, git, name, namespace))
        app = argocd.wait_application(
            name,
            lambda a: (
                all(health(a, n)[0] == "Progressing" for n in admitted)
                and health(a, "support-bot")[0] == "Degraded"
                # The health can be read before the operation records its end.
                and operation(a).get("phase") in {"Succeeded", "Failed", "Error"}
            ),
            TIMEOUT,
            "admitted agents Progressing, support-bot Degraded, the sync operation ended",
        )
        assert app["status"]["health"]["status"] == "Degraded"  # the worst of its resources
        # The agents are the last wave, and Argo CD does not wait on the health of the last
        # wave: the sync itself succeeded once everything was applied.
        assert synced_to(app, sha)
        assert operation(app)["phase"] == "Succeeded"
        # Argo CD re-reads a health message only on a refresh: a status change that keeps the
        # health status (golive admitting an agent that stays Progressing, the rollout's counts
        # moving) does not cause one.
        argocd.wait_application(
            name,
            lambda a: all(
                condition(agent(n), "Admitted").get("status") == "True"
                and health(a, n)
                == (
                    "Progressing",
                    "Admitted; waiting for the Deployment: "
                    + described(condition(agent(n), "Ready")),
                )
                for n in admitted
            ),
            TIMEOUT,
            "golive's reason why the admitted agents are not ready yet",
            refresh_every=2.0,
        )
        for agent_name in admitted:
            assert not ready_pods(full_cluster, namespace, agent_name)
    finally:
        full_cluster.kubectl("uncordon", "-l", "type=kwok")

    app = argocd.wait_application(
        name,
        lambda a: all(
            health(a, n) == ("Healthy", described(condition(agent(n), "Ready"))) for n in admitted
        ),
        TIMEOUT,
        "the admitted agents Healthy once their Deployments are Available",
        refresh_every=2.0,
    )
    for agent_name in admitted:
        deployment = live(full_cluster, "deployment", namespace, agent_name)
        assert deployment is not None and deployment["status"].get("availableReplicas")
    admitted_condition = condition(agent("support-bot"), "Admitted")
    assert (admitted_condition["status"], admitted_condition["reason"]) == ("False", "Blocked")
    # What the Argo CD UI shows for the blocked resource: golive's reason, verbatim.
    assert health(app, "support-bot") == ("Degraded", described(admitted_condition))
    assert app["status"]["health"]["status"] == "Degraded"
    assert live(full_cluster, "deployment", namespace, "support-bot") is None


def test_a_later_wave_waits_while_an_agent_is_progressing(
    argocd: ArgoCD, git: GitServer, full_cluster: Cluster
) -> None:
    namespace, name = unique("argocd-waves"), unique("waves")
    pool = unique("pool")
    docs = compliant_agent(namespace, "gated")
    # Its pods fit only on a node of `pool`, and no node is in it yet.
    agent_doc(docs)["spec"]["template"]["spec"]["nodeSelector"] = {"golive.dev/test-pool": pool}
    manifests = {
        "agent.yaml": docs,
        "consumer.yaml": [consumer(namespace, "gated-client", "gated")],
    }
    git.commit(files(name, manifests), "an agent and a later-wave consumer")
    argocd.apply_application(application(name, git, name, namespace))

    argocd.wait_application(
        name,
        lambda a: (
            health(a, "gated")[0] == "Progressing"
            and WAITING_FOR + "gated" in str(operation(a).get("message", ""))
        ),
        TIMEOUT,
        "the sync waiting in wave 1 on the Progressing agent",
    )
    assert_stays_absent(full_cluster, "configmap", namespace, "gated-client")
    app = argocd.application(name)
    assert health(app, "gated")[0] == "Progressing"
    assert operation(app)["phase"] == "Running"
    # Admitted: what it waits for is its pods.
    gated = live(full_cluster, AGENT, namespace, "gated")
    assert condition(gated, "Admitted")["status"] == "True"
    assert condition(gated, "Ready")["status"] == "False"

    # Capacity for the pool arrives: the node joins it.
    node = full_cluster.node_names[0]
    full_cluster.kubectl("label", "node", node, f"golive.dev/test-pool={pool}")
    try:
        app = argocd.wait_application(
            name,
            lambda a: operation(a).get("phase") == "Succeeded",
            TIMEOUT,
            "the sync finishing once the agent is Healthy",
        )
    finally:
        # Scheduled pods stay; the label must not steer later tests' pods.
        full_cluster.kubectl("label", "node", node, "golive.dev/test-pool-")
    assert health(app, "gated")[0] == "Healthy"
    assert app["status"]["health"]["status"] == "Healthy"
    client = live(full_cluster, "configmap", namespace, "gated-client")
    ready = condition(live(full_cluster, AGENT, namespace, "gated"), "Ready")
    assert client is not None and ready["status"] == "True"
    # RFC 3339 UTC timestamps of one format compare as text.
    assert client["metadata"]["creationTimestamp"] >= ready["lastTransitionTime"]


def test_a_breaking_commit_is_degraded_while_the_previous_generation_keeps_running(
    argocd: ArgoCD, git: GitServer, full_cluster: Cluster
) -> None:
    namespace, name, agent = unique("argocd-rollout"), unique("rollout"), "triage"
    docs = compliant_agent(namespace, agent)
    image = agent_doc(docs)["spec"]["template"]["spec"]["containers"][0]["image"]
    manifests = {"agent.yaml": docs, "consumer.yaml": [consumer(namespace, "client-v1", agent)]}
    first = git.commit(files(name, manifests), "a compliant agent")
    argocd.apply_application(application(name, git, name, namespace))
    argocd.wait_application(
        name,
        lambda a: synced_to(a, first) and operation(a).get("phase") == "Succeeded",
        TIMEOUT,
        "the first commit synced and Healthy",
    )
    old_pods = wait_pods(full_cluster, namespace, agent, lambda p: len(p) == 2, "2 ready pods")

    # The breaking commit: a team alias as owner, a new image, and a new later-wave object.
    spec = agent_doc(docs)["spec"]
    good_owner = dict(spec["owner"])
    spec["owner"] = {"name": "Support Team", "email": "support@example.com"}
    new_image = image.rsplit(":", 1)[0] + ":9.9.9"
    spec["template"]["spec"]["containers"][0]["image"] = new_image
    manifests["consumer.yaml"].append(consumer(namespace, "client-v2", agent))
    breaking = git.commit(files(name, manifests), "owner: the support team")
    argocd.refresh(name)
    app = argocd.wait_application(
        name,
        lambda a: health(a, agent)[0] == "Degraded" and sync_failed(a),
        TIMEOUT,
        "the breaking commit Degraded and its sync failed",
    )
    assert operation(app)["syncResult"]["revision"] == breaking
    obj = live(full_cluster, AGENT, namespace, agent)
    assert obj is not None and obj["metadata"]["generation"] == 2
    blocked = condition(obj, "Admitted")
    assert blocked["status"] == "False" and blocked["observedGeneration"] == 2
    assert blocked["message"].endswith("generation 1 keeps running")
    assert health(app, agent) == ("Degraded", described(blocked))
    # The sync's own result for the agent, what the UI lists under the failed sync.
    results = {r["name"]: r for r in operation(app)["syncResult"]["resources"]}
    assert results[agent]["message"] == described(blocked)
    deployment = live(full_cluster, "deployment", namespace, agent)
    assert deployment is not None
    assert deployment["metadata"]["annotations"][ADMITTED_GENERATION] == "1"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert ready_pods(full_cluster, namespace, agent) == old_pods
    assert_stays_absent(full_cluster, "configmap", namespace, "client-v2")
    assert ready_pods(full_cluster, namespace, agent) == old_pods

    spec["owner"] = good_owner
    fixing = git.commit(files(name, manifests), "owner: Dana Ruiz again")
    argocd.refresh(name)
    app = argocd.wait_application(
        name,
        lambda a: (
            synced_to(a, fixing)
            and operation(a).get("phase") == "Succeeded"
            and operation(a)["syncResult"]["revision"] == fixing
        ),
        TIMEOUT,
        "the fixing commit synced, its later wave applied",
    )
    assert health(app, agent)[0] == "Healthy"
    obj = live(full_cluster, AGENT, namespace, agent)
    assert obj is not None
    assert obj["metadata"]["generation"] == obj["status"]["observedGeneration"] == 3
    deployment = live(full_cluster, "deployment", namespace, agent)
    assert deployment is not None
    assert deployment["metadata"]["annotations"][ADMITTED_GENERATION] == "3"
    assert live(full_cluster, "configmap", namespace, "client-v2") is not None
    new_pods = wait_pods(
        full_cluster,
        namespace,
        agent,
        lambda p: len(p) == 2 and set(p.values()) == {new_image} and not set(p) & set(old_pods),
        f"2 new ready pods of {new_image}",
    )
    assert len(new_pods) == 2


def test_no_drift_after_golive_writes_status(
    argocd: ArgoCD, git: GitServer, full_cluster: Cluster
) -> None:
    namespace, name, agent = unique("argocd-drift"), unique("drift"), "steady"
    docs = compliant_agent(namespace, agent)
    sha = git.commit(files(name, {"agent.yaml": docs}), "a compliant agent")
    argocd.apply_application(application(name, git, name, namespace))
    app = argocd.wait_application(
        name,
        lambda a: (
            synced_to(a, sha)
            and operation(a).get("phase") == "Succeeded"
            and (a["status"].get("health") or {}).get("status") == "Healthy"
        ),
        TIMEOUT,
        "synced and Healthy",
    )
    history = len(app["status"].get("history") or [])
    finished = operation(app)["finishedAt"]
    obj = live(full_cluster, AGENT, namespace, agent)
    assert obj is not None and condition(obj, "Ready")["status"] == "True"  # golive wrote status

    for refresh in ("normal", "hard", "normal", "hard"):
        before = app["status"]["reconciledAt"]
        time.sleep(1.1)  # reconciledAt has one-second resolution
        argocd.refresh(name, hard=refresh == "hard")
        app = argocd.wait_application(
            name,
            lambda a, before=before: (
                a["status"].get("reconciledAt", "") > before
                and "argocd.argoproj.io/refresh" not in (a["metadata"].get("annotations") or {})
            ),
            TIMEOUT,
            f"a {refresh} refresh",
        )
        assert app["status"]["sync"]["status"] == "Synced", refresh
        assert {r["name"]: r["status"] for r in app["status"]["resources"]} == {
            d["metadata"]["name"]: "Synced" for d in docs
        }, refresh
        assert app["status"]["health"]["status"] == "Healthy", refresh
        # No self-heal: nothing was synced again.
        assert len(app["status"].get("history") or []) == history, refresh
        assert operation(app)["finishedAt"] == finished, refresh

    # What Argo CD manages carries git's metadata and Argo CD's tracking id, nothing of golive's.
    for doc in docs:
        kind, obj_name = doc["kind"], doc["metadata"]["name"]
        obj = live(full_cluster, kind, "" if kind == "Namespace" else namespace, obj_name)
        assert obj is not None
        meta = obj["metadata"]
        labels = dict(meta.get("labels") or {})
        if kind == "Namespace":  # set by kube-apiserver on every namespace
            assert labels.pop("kubernetes.io/metadata.name") == obj_name
        assert labels == (doc["metadata"].get("labels") or {}), kind
        annotations = dict(meta.get("annotations") or {})
        assert annotations.pop(TRACKING_ID, "").startswith(f"{name}:"), kind
        assert annotations == (doc["metadata"].get("annotations") or {}), kind
        assert not meta.get("finalizers"), kind
        # Only Argo CD writes the object; golive writes only the status subresource.
        managers = meta.get("managedFields") or []
        for entry in managers:
            assert entry["manager"] == ARGOCD_MANAGER or entry.get("subresource") == "status", (
                kind,
                entry["manager"],
            )
        if kind == AGENT:
            assert any(e.get("subresource") == "status" for e in managers)  # golive's writes


def test_with_the_webhook_a_violating_commit_fails_the_sync_with_golive_denial(
    webhook_operator: OperatorProcess, argocd: ArgoCD, git: GitServer, full_cluster: Cluster
) -> None:
    namespace, name, agent = unique("argocd-webhook"), unique("webhook"), "guarded"
    docs = compliant_agent(namespace, agent)
    first = git.commit(files(name, {"agent.yaml": docs}), "a compliant agent")
    argocd.apply_application(application(name, git, name, namespace))
    argocd.wait_application(
        name,
        lambda a: synced_to(a, first) and operation(a).get("phase") == "Succeeded",
        TIMEOUT,
        "the compliant agent synced through the webhook",
    )

    spec = agent_doc(docs)["spec"]
    spec["owner"] = {"name": "Support Team", "email": "support@example.com"}
    del spec["fallback"]
    violating = git.commit(files(name, {"agent.yaml": docs}), "team owner, no fallback")
    argocd.refresh(name)
    app = argocd.wait_application(
        name,
        lambda a: f"golive denied {agent}:" in str(operation(a).get("message", "")),
        TIMEOUT,
        "the sync failing with golive's denial",
    )
    message = operation(app)["message"]
    # What the Argo CD UI shows as the sync's message: each deny with its field.
    assert 'admission webhook "agentdeployments.golive.dev" denied the request' in message
    assert "[golive.ownership.single_owner] spec.owner.name:" in message
    assert "[golive.fallback.fallback_defined] spec.fallback:" in message
    assert operation(app)["syncResult"]["revision"] == violating
    # Git and the cluster differ, and Argo CD says so (see the compare-options annotation of
    # examples/argocd/application.yaml for how the server-side diff would hide it).
    assert app["status"]["sync"]["status"] == "OutOfSync"
    assert resource_status(app, AGENT, agent)["status"] == "OutOfSync"
    # The cluster still holds the admitted generation.
    obj = live(full_cluster, AGENT, namespace, agent)
    assert obj is not None and obj["metadata"]["generation"] == 1
    assert obj["spec"]["owner"]["name"] != "Support Team"
