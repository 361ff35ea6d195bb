"""A cluster where agents actually run: the control plane plus the controllers and nodes.

ControlPlane (etcd + kube-apiserver) has no controllers, so a Deployment there stays at 0/N
forever. Cluster adds the real kube-controller-manager (deployment, replicaset, garbage-collector
and namespace controllers), the real kube-scheduler and KWOK, which plays the kubelet for
simulated nodes: pods are scheduled, become Running and Ready, scale down and are garbage
collected exactly as the controllers decide; no container ever runs. Versions, flags and traps:
../shared/design/real-cluster.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kit.controlplane import ControlPlane, ManagedProcess, tool_bin_dir, wait_until

KWOK_STAGES = Path(__file__).with_name("kwok-stages.yaml")
# KWOK manages only the nodes carrying this annotation (the harness creates them).
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "garbage-collector-controller",
    "namespace-controller",
)


@dataclass
class Cluster(ControlPlane):
    """ControlPlane + kube-controller-manager + kube-scheduler + KWOK with simulated nodes."""

    node_names: tuple[str, ...] = ("kwok-node-0",)
    # TaintNodesByCondition taints every new Node not-ready:NoSchedule and only the
    # node-lifecycle controller lifts it; that controller would also evict pods from nodes
    # without kubelet heartbeats. Without the plugin a simulated node is schedulable once Ready.
    disabled_admission_plugins: tuple[str, ...] = ("ServiceAccount", "TaintNodesByCondition")
    node_allocatable: dict[str, str] = field(
        default_factory=lambda: {"cpu": "8", "memory": "32Gi", "pods": "110"}
    )

    def start(self, timeout: float = 90.0) -> Cluster:
        super().start(timeout)
        bins = tool_bin_dir(["kube-controller-manager", "kube-scheduler", "kwok"])
        kubeconfig = str(self.kubeconfig)
        self._start(
            "kube-controller-manager",
            [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--controllers={','.join(CONTROLLERS)}",
                # Fast garbage collection and namespace cleanup suit tests and the demo alike.
                "--concurrent-gc-syncs=5",
                "--v=1",
            ],
        )
        self._start(
            "kube-scheduler",
            [
                str(bins / "kube-scheduler"),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
                "--v=1",
            ],
        )
        key, value = KWOK_NODE_ANNOTATION
        self._start(
            "kwok",
            [
                str(bins / "kwok"),
                f"--kubeconfig={kubeconfig}",
                f"--config={KWOK_STAGES}",
                f"--manage-nodes-with-annotation-selector={key}={value}",
                "--cidr=10.244.0.1/24",
                "--node-ip=127.0.0.1",
            ],
        )
        for name in self.node_names:
            self.add_node(name)
        for name in self.node_names:
            self.wait_node_ready(name, timeout)
        return self

    def _start(self, name: str, argv: list[str]) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.workdir / f"{name}.log", self.tie_to_parent)
        proc.start()
        self.processes.append(proc)
        return proc

    def add_node(self, name: str, labels: dict[str, str] | None = None) -> None:
        """A simulated node that KWOK keeps Ready and whose pods it runs."""
        key, value = KWOK_NODE_ANNOTATION
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {key: value},
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": "kwok",
                    **(labels or {}),
                },
            },
            "status": {
                "allocatable": self.node_allocatable,
                "capacity": self.node_allocatable,
            },
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(node))

    def wait_node_ready(self, name: str, timeout: float = 60.0) -> None:
        kwok = next(p for p in self.processes if p.name == "kwok")

        def ready() -> bool:
            out = self.kubectl(
                "get",
                "node",
                name,
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                check=False,
            )
            return out.returncode == 0 and out.stdout.strip() == "True"

        wait_until(ready, timeout, f"node {name} Ready (KWOK)", kwok)
