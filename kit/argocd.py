"""A real Argo CD on loopback, installed into a test cluster, and a git server to sync from.

Argo CD runs as local processes of the one multi-call binary scripts/tools.sh builds: the
application-controller and the repo-server, with redis-server as their cache, and for a fleet
the ApplicationSet controller (no API server, UI or Dex: the tests read and write Applications
through the Kubernetes API, as the UI does). Other clusters are registered as Argo CD's
cluster Secrets (`register_cluster`), as `argocd cluster add` does. The
install is the minimal one Argo CD's informers need; argocd-cm carries golive's health check read
from charts/golive/argocd/argocd-cm.yaml, so what is tested is what the chart ships. Versions,
flags and traps: ../shared/design/real-cluster.md (Argo CD section).

Every fixed default port, socket and temporary folder of Argo CD is overridden, so parallel test
sessions on one machine do not collide.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from kit.controlplane import (
    REPO,
    ControlPlane,
    HarnessError,
    ManagedProcess,
    free_port,
    http_ok,
    tool_bin_dir,
    wait_until,
)

NAMESPACE = "argocd"
# Argo CD's informers only see ConfigMaps and Secrets carrying this label.
PART_OF = {"app.kubernetes.io/part-of": "argocd"}
GOLIVE_ARGOCD_CM = REPO / "charts" / "golive" / "argocd" / "argocd-cm.yaml"
HEALTH_KEY = "resource.customizations.health.golive.dev_AgentDeployment"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
CLUSTER_SECRET_LABEL = {"argocd.argoproj.io/secret-type": "cluster"}


def golive_argocd_cm() -> dict[str, Any]:
    """charts/golive/argocd/argocd-cm.yaml as parsed YAML (the merge patch a user applies)."""
    doc = yaml.safe_load(GOLIVE_ARGOCD_CM.read_text())
    if HEALTH_KEY not in (doc.get("data") or {}):
        raise HarnessError(f"{GOLIVE_ARGOCD_CM} has no data key {HEALTH_KEY}")
    return dict(doc)


def argocd_support_dir(bin_dir: Path) -> Path:
    """The folder tools.sh fills from the Argo CD module: crds/ and git-verify-wrapper.sh."""
    binary = (bin_dir / "argocd").resolve()  # argocd -> argocd-vX.Y.Z
    support = binary.with_name(binary.name + ".d")
    if not (support / "crds").is_dir() or not (support / "git-verify-wrapper.sh").is_file():
        raise HarnessError(
            f"{support} lacks crds/ or git-verify-wrapper.sh: rerun scripts/tools.sh"
        )
    return support


def resource_health(bin_dir: Path, resource: Path, argocd_cm: Path) -> tuple[str, str]:
    """(status, message) that `argocd admin settings resource-overrides health` prints."""
    proc = subprocess.run(
        [
            str(bin_dir / "argocd"),
            "admin",
            "settings",
            "resource-overrides",
            "health",
            str(resource),
            "--argocd-cm-path",
            str(argocd_cm),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if proc.returncode != 0:
        raise HarnessError(f"argocd admin ... health {resource} failed:\n{proc.stderr}")
    fields = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    if "STATUS" not in fields:
        raise HarnessError(f"argocd admin ... health {resource} printed no STATUS:\n{proc.stdout}")
    return fields["STATUS"], fields.get("MESSAGE", "")


# --- git ----------------------------------------------------------------------------------


@dataclass
class GitServer:
    """A bare repository served by `git daemon` on loopback, and a clone to commit from."""

    workdir: Path
    tie_to_parent: bool = True
    branch: str = "main"
    port: int = 0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}/repo.git"

    @property
    def _served(self) -> Path:
        return self.workdir / "served"

    @property
    def checkout(self) -> Path:
        return self.workdir / "checkout"

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        # Identity and config of their own: the user's ~/.gitconfig must not change the tests.
        env = {
            **os.environ,
            "HOME": str(self.workdir),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "golive tests",
            "GIT_AUTHOR_EMAIL": "tests@golive.invalid",
            "GIT_COMMITTER_NAME": "golive tests",
            "GIT_COMMITTER_EMAIL": "tests@golive.invalid",
        }
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd or self.checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if proc.returncode != 0:
            raise HarnessError(f"git {' '.join(args)} failed:\n{proc.stderr}")
        return proc.stdout.strip()

    def start(self, timeout: float = 30.0) -> GitServer:
        if shutil.which("git") is None:
            raise HarnessError("git is not installed (needed to serve the Argo CD test repository)")
        self._served.mkdir(parents=True, exist_ok=True)
        bare = self._served / "repo.git"
        self._git("init", "--bare", f"--initial-branch={self.branch}", str(bare), cwd=self.workdir)
        self._git("clone", str(bare), str(self.checkout), cwd=self.workdir)
        self._git("checkout", "-b", self.branch)
        self.port = free_port()
        self.process = ManagedProcess(
            "git-daemon",
            [
                "git",
                "daemon",
                "--export-all",
                "--reuseaddr",
                "--informative-errors",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                f"--base-path={self._served}",
                str(self._served),
            ],
            self.workdir / "git-daemon.log",
            self.tie_to_parent,
        )
        self.process.start()
        self.commit({"README.md": "golive Argo CD tests\n"}, "initial commit")
        wait_until(self._serves, timeout, f"git daemon on {self.url}", self.process)
        return self

    def _serves(self) -> bool:
        try:
            self._git("ls-remote", self.url, cwd=self.workdir)
        except HarnessError:
            return False
        return True

    def commit(self, files: Mapping[str, str | None], message: str) -> str:
        """Write (or, for None, delete) files relative to the repository root; commit, push, SHA."""
        for rel, text in files.items():
            path = self.checkout / rel
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        self._git("add", "--all")
        self._git("commit", "--allow-empty", "-m", message)
        self._git("push", "origin", self.branch)
        return self._git("rev-parse", "HEAD")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


# --- Argo CD ------------------------------------------------------------------------------


@dataclass
class ArgoCD:
    """application-controller + repo-server + redis, installed into `cluster` (namespace argocd)."""

    cluster: ControlPlane
    workdir: Path
    tie_to_parent: bool = True
    bin_dir: Path = field(default_factory=Path)
    redis_port: int = 0
    repo_server_port: int = 0
    # A unix socket path is limited to 107 bytes and pytest's tmp paths can be longer: the
    # repo-server's ask-pass socket goes into a short folder of its own.
    socket_dir: Path | None = None
    # Also run the ApplicationSet controller (and install its CRD).
    applicationsets: bool = False
    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self, timeout: float = 90.0) -> ArgoCD:
        self.bin_dir = tool_bin_dir(["argocd", "redis-server"])
        support = argocd_support_dir(self.bin_dir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tmp").mkdir(exist_ok=True)
        self.socket_dir = Path(tempfile.mkdtemp(prefix="golive-argocd-"))
        self.install(support / "crds")
        self._start_redis()
        self._start_repo_server(support, timeout)
        self._start_controller(timeout)
        if self.applicationsets:
            self._start_applicationset_controller(timeout)
        return self

    def _start_redis(self) -> None:
        self.redis_port = free_port()
        argv = [str(self.bin_dir / "redis-server"), "--bind", "127.0.0.1"]
        argv += ["--port", str(self.redis_port), "--dir", str(self.workdir)]
        argv += ["--save", "", "--appendonly", "no"]  # a cache: nothing to keep
        redis = self._start("redis-server", argv, {})
        wait_until(self._redis_answers, 30, "redis-server PING", redis)

    def _start_repo_server(self, support: Path, timeout: float) -> None:
        assert self.socket_dir is not None
        self.repo_server_port = free_port()
        metrics = free_port()
        argv = [str(self.bin_dir / "argocd"), "--address", "127.0.0.1"]
        argv += ["--port", str(self.repo_server_port)]
        argv += ["--metrics-address", "127.0.0.1", "--metrics-port", str(metrics)]
        argv += ["--redis", f"127.0.0.1:{self.redis_port}", "--logformat", "text"]
        env = {
            "ARGOCD_BINARY_NAME": "argocd-repo-server",
            "ARGOCD_GPG_ENABLED": "false",
            # The defaults /tmp/reposerver-ask-pass.sock and /tmp/_argocd-repo (under TMPDIR)
            # are shared by every repo-server on the machine.
            "ARGOCD_ASK_PASS_SOCK": str(self.socket_dir / "askpass.sock"),
            "TMPDIR": str(self.workdir / "tmp"),
            "HOME": str(self.workdir),  # not the user's ~/.gitconfig
            # The repo-server runs git through this wrapper; without it on PATH every manifest
            # request fails with "permission denied".
            "PATH": f"{support}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        # Its gRPC port keeps Argo CD's self-signed TLS, which the controller accepts.
        proc = self._start("argocd-repo-server", argv, env)
        healthz = f"http://127.0.0.1:{metrics}/healthz"
        wait_until(lambda: http_ok(healthz), timeout, "argocd-repo-server /healthz", proc)

    def _start_controller(self, timeout: float) -> None:
        metrics = free_port()
        argv = [str(self.bin_dir / "argocd"), "--namespace", NAMESPACE]
        argv += ["--redis", f"127.0.0.1:{self.redis_port}"]
        argv += ["--repo-server", f"127.0.0.1:{self.repo_server_port}"]
        argv += ["--metrics-port", str(metrics), "--logformat", "text"]
        # Without it v3 keeps no per-resource health in the Application's status.
        argv += ["--persist-resource-health"]
        # The destination https://kubernetes.default.svc is then the cluster of KUBECONFIG.
        env = {"ARGOCD_FAKE_IN_CLUSTER": "true"}
        healthz = f"http://127.0.0.1:{metrics}/healthz"
        self._start_on_cluster("argocd-application-controller", argv, env, healthz, timeout)

    def _start_applicationset_controller(self, timeout: float) -> None:
        # Every listener has a fixed default (:8080 metrics, :8081 probes, :7000 git webhooks).
        metrics = free_port()
        argv = [str(self.bin_dir / "argocd"), "--namespace", NAMESPACE]
        argv += ["--metrics-addr", f"127.0.0.1:{metrics}"]
        argv += ["--probe-addr", f"127.0.0.1:{free_port()}"]
        argv += ["--webhook-addr", f"127.0.0.1:{free_port()}"]
        # Only the git generators ask the repo-server; the address is given all the same.
        argv += ["--argocd-repo-server", f"127.0.0.1:{self.repo_server_port}"]
        argv += ["--logformat", "text"]
        # Its probe server registers no check (/healthz answers 404); the metrics server
        # answers once the controller's manager runs.
        ready = f"http://127.0.0.1:{metrics}/metrics"
        self._start_on_cluster("argocd-applicationset-controller", argv, {}, ready, timeout)

    def _start_on_cluster(
        self, component: str, argv: list[str], env: dict[str, str], ready: str, timeout: float
    ) -> None:
        """A component that talks to the cluster (KUBECONFIG), started as ARGOCD_BINARY_NAME
        says, and waited for until the URL `ready` answers 200."""
        env = {
            "ARGOCD_BINARY_NAME": component,
            "KUBECONFIG": str(self.cluster.kubeconfig),
            "TMPDIR": str(self.workdir / "tmp"),
            "HOME": str(self.workdir),
            **env,
        }
        proc = self._start(component, argv, env)
        wait_until(lambda: http_ok(ready), timeout, f"{component} at {ready}", proc)

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> ManagedProcess:
        # ManagedProcess inherits the environment; Argo CD reads its settings from it.
        wrapped = ["env", *(f"{k}={v}" for k, v in env.items()), *argv]
        proc = ManagedProcess(name, wrapped, self.workdir / f"{name}.log", self.tie_to_parent)
        proc.start()
        self.processes.append(proc)
        return proc

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def install(self, crds: Path) -> None:
        """The minimal Argo CD install: CRDs, namespace, settings, secret, default project."""
        names = ["applications.argoproj.io", "appprojects.argoproj.io"]
        self.cluster.apply(crds / "application-crd.yaml")
        self.cluster.apply(crds / "appproject-crd.yaml")
        if self.applicationsets:
            self.cluster.apply(crds / "applicationset-crd.yaml")
            names.append("applicationsets.argoproj.io")
        for crd in names:
            # Not `kubectl wait`: it fails outright on a CRD whose status is not written yet.
            wait_until(partial(self._established, crd), 60, f"CRD {crd} Established")
        golive_cm = golive_argocd_cm()
        objects: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": NAMESPACE, "labels": PART_OF},
                # golive's keys exactly as the chart ships them (the merge patch of the docs).
                "data": dict(golive_cm["data"]),
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-rbac-cm", "namespace": NAMESPACE, "labels": PART_OF},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "argocd-secret", "namespace": NAMESPACE, "labels": PART_OF},
                "stringData": {"server.secretkey": os.urandom(16).hex()},
            },
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AppProject",
                "metadata": {"name": "default", "namespace": NAMESPACE},
                "spec": {
                    "sourceRepos": ["*"],
                    "destinations": [{"server": "*", "namespace": "*"}],
                    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                },
            },
        ]
        # Server-side apply: the Namespace must exist before the objects in it.
        for obj in objects:
            self.cluster.kubectl(
                "apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(obj)
            )

    def _established(self, crd: str) -> bool:
        jsonpath = "jsonpath={.status.conditions[?(@.type=='Established')].status}"
        proc = self.cluster.kubectl("get", "crd", crd, "-o", jsonpath, check=False)
        return proc.stdout.strip() == "True"

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    def process(self, name: str) -> ManagedProcess:
        return next(p for p in self.processes if p.name == name)

    @contextlib.contextmanager
    def controller_paused(self) -> Iterator[None]:
        """The application-controller stopped (SIGSTOP) and resumed after, as a controller
        that is slow to react: what Argo CD would undo at once (self-heal) stays long enough to
        be observed."""
        controller = self.process("argocd-application-controller")
        controller.pause()
        try:
            yield
        finally:
            controller.resume()

    def register_cluster(
        self, name: str, plane: ControlPlane, labels: Mapping[str, str] | None = None
    ) -> None:
        """Argo CD's cluster Secret for `plane` (its URL, admin token and CA), as `argocd
        cluster add` writes it, with `labels` for the ApplicationSet cluster generator."""
        config = {
            "bearerToken": plane.admin_token,
            "tlsClientConfig": {"caData": base64.b64encode(plane.ca_file.read_bytes()).decode()},
        }
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": f"cluster-{name}",
                "namespace": NAMESPACE,
                "labels": {**CLUSTER_SECRET_LABEL, **(labels or {})},
            },
            "type": "Opaque",
            "stringData": {"name": name, "server": plane.url, "config": json.dumps(config)},
        }
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(secret))

    def alive(self) -> None:
        """Raise with the log of any Argo CD process that has exited."""
        for proc in self.processes:
            if not proc.alive():
                raise HarnessError(f"{proc.name} exited:\n{proc.log_tail()}")

    # --- Applications --------------------------------------------------------------------

    def apply_application(self, app: Mapping[str, Any]) -> None:
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(app))

    def application(self, name: str) -> dict[str, Any]:
        proc = self.cluster.kubectl("get", "application", name, "-n", NAMESPACE, "-o", "json")
        return dict(json.loads(proc.stdout))

    def refresh(self, name: str, hard: bool = True) -> None:
        """Ask the controller to compare with git now (hard: resolve the branch again).

        What `argocd app get --hard-refresh` does; a normal refresh may answer from the
        repo-server's 3-minute cache of the branch's commit and see a new commit minutes later.
        """
        self.cluster.kubectl(
            "annotate",
            "application",
            name,
            "-n",
            NAMESPACE,
            "--overwrite",
            f"{REFRESH_ANNOTATION}={'hard' if hard else 'normal'}",
        )

    def wait_application(
        self,
        name: str,
        check: Callable[[dict[str, Any]], bool],
        timeout: float,
        what: str,
        refresh_every: float | None = None,
    ) -> dict[str, Any]:
        """Poll the Application until `check` holds; on timeout say where it was.

        refresh_every: ask for a normal refresh that often while waiting. Argo CD re-reads a
        resource's health message only on a refresh when its health status stays the same, and
        golive's Ready message moves during a rollout (the replica counts).
        """
        deadline = time.monotonic() + timeout
        app: dict[str, Any] = {}
        refreshed = 0.0
        while time.monotonic() < deadline:
            self.alive()
            if refresh_every is not None and time.monotonic() - refreshed >= refresh_every:
                self.refresh(name, hard=False)
                refreshed = time.monotonic()
            app = self.application(name)
            if check(app):
                return app
            time.sleep(0.3)
        controller = self.process("argocd-application-controller")
        raise HarnessError(
            f"timed out after {timeout:.0f}s waiting for Application {name}: {what}\n"
            f"{json.dumps(summary(app), indent=1)}\n--- controller log ---\n"
            f"{controller.log_tail(4000)}"
        )


def summary(app: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of an Application's status a failing test should print."""
    status = app.get("status") or {}
    op = status.get("operationState") or {}
    return {
        "sync": (status.get("sync") or {}).get("status"),
        "revision": (status.get("sync") or {}).get("revision"),
        "health": (status.get("health") or {}).get("status"),
        "operation": {"phase": op.get("phase"), "message": op.get("message")},
        "conditions": status.get("conditions"),
        "resources": [
            {
                "kind": r.get("kind"),
                "name": r.get("name"),
                "status": r.get("status"),
                "health": r.get("health"),
            }
            for r in status.get("resources") or []
        ],
    }


def resource_status(app: Mapping[str, Any], kind: str, name: str) -> dict[str, Any]:
    """The Application's entry for one managed resource ({} if Argo CD does not list it)."""
    for res in (app.get("status") or {}).get("resources") or []:
        if res.get("kind") == kind and res.get("name") == name:
            return dict(res)
    return {}
