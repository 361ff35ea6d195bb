"""A real Kubernetes control plane (etcd + kube-apiserver) and OPA server on loopback.

envtest-style: the binaries are built from pinned Go modules by scripts/tools.sh and started
directly, because this machine has no docker for kind. Used by the e2e fixtures and by
`make demo`. Every process is started in its own process group and stopped by `stop()`; in
tests a parent-death signal also kills them if the test runner itself is killed.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from controller.k8s.certs import self_signed_pair

REPO = Path(__file__).resolve().parents[1]
TOOLS_SCRIPT = REPO / "scripts" / "tools.sh"
PR_SET_PDEATHSIG = 1


class HarnessError(RuntimeError):
    """The control plane could not be built or started; the message says which step."""


def tool_bin_dir(tools: Sequence[str] = ()) -> Path:
    """Build (or reuse) the pinned binaries and return the directory that holds them."""
    proc = subprocess.run(
        ["bash", str(TOOLS_SCRIPT), *tools], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise HarnessError(f"scripts/tools.sh {' '.join(tools)} failed:\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def go_module_dir(module: str, version: str) -> Path:
    """A Go module's source folder, fetched through the module proxy into Go's cache if needed.

    Run outside any module, so no go.mod of the repository is touched.
    """
    with tempfile.TemporaryDirectory() as outside_any_module:
        proc = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
            cwd=outside_any_module,
        )
    info = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    if proc.returncode != 0 or info.get("Error") or not info.get("Dir"):
        detail = info.get("Error") or f"{proc.stdout}{proc.stderr}"
        raise HarnessError(f"go mod download {module}@{version} failed: {detail}")
    return Path(info["Dir"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Loaded once in the parent: the child between fork and exec then only calls prctl, and loads
# no library while another thread of the parent may hold the loader's lock (processes are
# started from several threads, kit.controlplane.all_running_with_crds).
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the test runner dies, so does the server.
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class ManagedProcess:
    """One server process, its log file, and a reliable stop."""

    name: str
    argv: list[str]
    log_path: Path
    tie_to_parent: bool = True
    popen: subprocess.Popen[bytes] | None = None
    env: dict[str, str] | None = None  # added to this process's environment

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            env={**os.environ, **self.env} if self.env else None,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if self.tie_to_parent else None,
        )
        log.close()

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def pause(self) -> None:
        """SIGSTOP the process group: it keeps its sockets and state, and does nothing."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, proc: ManagedProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise HarnessError(f"{proc.name} exited while waiting for {what}:\n{proc.log_tail()}")
        if check():
            return
        time.sleep(0.1)
    tail = proc.log_tail() if proc else ""
    raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}\n{tail}")


# --- the control plane ------------------------------------------------------------------------


@dataclass
class ControlPlane:
    """etcd + kube-apiserver with RBAC, an admin token and a non-admin token."""

    workdir: Path
    tie_to_parent: bool = True
    bin_dir: Path = field(default_factory=Path)
    api_port: int = 0
    etcd_port: int = 0
    admin_token: str = ""
    user_token: str = ""
    user_name: str = "dev-user"
    processes: list[ManagedProcess] = field(default_factory=list)
    # No service-account admission: pods need no token controller. The full cluster (cluster.py)
    # also turns off TaintNodesByCondition, see there.
    disabled_admission_plugins: tuple[str, ...] = ("ServiceAccount",)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    @property
    def user_kubeconfig(self) -> Path:
        return self.workdir / "user.kubeconfig"

    def start(self, timeout: float = 90.0) -> ControlPlane:
        self.bin_dir = tool_bin_dir(["etcd", "kube-apiserver", "kubectl"])
        self.workdir.mkdir(parents=True, exist_ok=True)
        pki = self.workdir / "pki"
        pki.mkdir(exist_ok=True)
        # The same certificate code the operator uses for its webhook.
        ca_pem, cert_pem, key_pem = self_signed_pair(["127.0.0.1", "localhost"])
        (pki / "ca.crt").write_bytes(ca_pem)
        (pki / "apiserver.crt").write_bytes(cert_pem)
        (pki / "apiserver.key").write_bytes(key_pem)
        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (pki / "sa.key").write_bytes(
            sa_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        (pki / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.admin_token = secrets.token_hex(16)
        self.user_token = secrets.token_hex(16)
        (pki / "tokens.csv").write_text(
            f'{self.admin_token},admin,admin-uid,"system:masters"\n'
            f"{self.user_token},{self.user_name},user-uid\n"
        )
        self.etcd_port, peer_port = free_port(), free_port()
        etcd = ManagedProcess(
            "etcd",
            [
                str(self.bin_dir / "etcd"),
                "--data-dir",
                str(self.workdir / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{self.etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{self.etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",  # tests: durability across power loss is not the point
                "--log-level",
                "warn",
            ],
            self.workdir / "etcd.log",
            self.tie_to_parent,
        )
        etcd.start()
        self.processes.append(etcd)
        wait_until(
            lambda: http_ok(f"http://127.0.0.1:{self.etcd_port}/health"), 30, "etcd /health", etcd
        )
        self.api_port = free_port()
        self.processes.append(self._apiserver())
        self.processes[-1].start()
        self.write_kubeconfig(self.kubeconfig, "admin", self.admin_token)
        self.write_kubeconfig(self.user_kubeconfig, self.user_name, self.user_token)
        wait_until(self.ready, timeout, "kube-apiserver /readyz", self.processes[-1])
        return self

    def _apiserver(self) -> ManagedProcess:
        pki = self.workdir / "pki"
        return ManagedProcess(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                "--etcd-servers",
                f"http://127.0.0.1:{self.etcd_port}",
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--secure-port",
                str(self.api_port),
                "--cert-dir",
                str(pki),
                "--tls-cert-file",
                str(pki / "apiserver.crt"),
                "--tls-private-key-file",
                str(pki / "apiserver.key"),
                "--client-ca-file",
                str(pki / "ca.crt"),
                "--token-auth-file",
                str(pki / "tokens.csv"),
                "--authorization-mode",
                "RBAC",
                "--service-account-issuer",
                "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file",
                str(pki / "sa.pub"),
                "--service-account-signing-key-file",
                str(pki / "sa.key"),
                "--service-cluster-ip-range",
                "10.0.0.0/24",
                "--disable-admission-plugins",
                ",".join(self.disabled_admission_plugins),
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",  # loopback cannot be an endpoint
                "--v",
                "1",
            ],
            self.workdir / "kube-apiserver.log",
            self.tie_to_parent,
        )

    def restart_apiserver(self) -> None:
        """Stop and start kube-apiserver on the same port and etcd (for fault tests)."""
        api = next(p for p in self.processes if p.name == "kube-apiserver")
        api.stop()
        self.processes.remove(api)
        fresh = self._apiserver()
        fresh.start()
        self.processes.append(fresh)
        wait_until(self.ready, 60, "kube-apiserver /readyz after restart", fresh)

    def ready(self) -> bool:
        return http_ok(f"{self.url}/readyz", token=self.admin_token, ca_file=self.ca_file)

    def write_kubeconfig(self, path: Path, user: str, token: str) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "golive-local",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(
                            self.ca_file.read_bytes()
                        ).decode(),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {"name": "golive-local", "context": {"cluster": "golive-local", "user": user}}
            ],
            "current-context": "golive-local",
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.popen is not None]

    # --- clients --------------------------------------------------------------------------

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, user: bool = False
    ) -> subprocess.CompletedProcess[str]:
        kubeconfig = self.user_kubeconfig if user else self.kubeconfig
        proc = subprocess.run(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise HarnessError(f"kubectl {' '.join(args)} failed:\n{proc.stderr}")
        return proc

    def api_client(self, user: bool = False) -> Any:
        from kubernetes import config

        return config.new_client_from_config(
            config_file=str(self.user_kubeconfig if user else self.kubeconfig)
        )

    def apply(self, path: Path | str) -> None:
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(path))

    def apply_crds(self, path: Path | str = REPO / "crds") -> None:
        self.apply(path)
        self.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "-l",
            "app.kubernetes.io/part-of=golive",
        )


P = TypeVar("P", bound=ControlPlane)


def _start_with_crds(plane: P) -> P:
    plane.start()
    plane.apply_crds(REPO / "crds")
    return plane


@contextlib.contextmanager
def running_with_crds(plane: P) -> Iterator[P]:
    """The plane started with golive's CRDs installed, and stopped afterwards whatever happens."""
    try:
        yield _start_with_crds(plane)
    finally:
        plane.stop()


@contextlib.contextmanager
def all_running_with_crds(planes: Sequence[P]) -> Iterator[list[P]]:
    """Several planes started side by side (a start-up mostly waits on its processes), each
    with golive's CRDs installed; all stopped afterwards whatever happens."""
    try:
        with ThreadPoolExecutor(max(1, len(planes))) as pool:
            yield list(pool.map(_start_with_crds, planes))
    finally:
        for plane in planes:
            plane.stop()


@dataclass
class OpaServer:
    """`opa run --server` on a loopback port."""

    workdir: Path
    tie_to_parent: bool = True
    port: int = 0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> OpaServer:
        bin_dir = tool_bin_dir(["opa"])
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.process = ManagedProcess(
            "opa",
            [
                str(bin_dir / "opa"),
                "run",
                "--server",
                "--addr",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "error",
                "--disable-telemetry",
            ],
            self.workdir / "opa.log",
            self.tie_to_parent,
        )
        self.process.start()
        wait_until(lambda: http_ok(f"{self.url}/health"), timeout, "opa /health", self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()


def http_ok(url: str, token: str | None = None, ca_file: Path | None = None) -> bool:
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    try:
        with urllib.request.urlopen(req, timeout=2, context=ctx) as resp:
            return int(resp.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
