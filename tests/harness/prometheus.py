"""The Prometheus Operator's real PrometheusRule CRD, from its Go module (no docker, no helm repo).

`go mod download -json github.com/prometheus-operator/prometheus-operator@<version>` puts the
module in Go's module cache (checked against sum.golang.org); the CRD the Prometheus Operator
ships is `example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml` in it. The
version is pinned in scripts/versions.env (PROMETHEUS_OPERATOR_VERSION).
"""

from __future__ import annotations

import functools
from pathlib import Path

from tests.harness.controlplane import REPO, ControlPlane, HarnessError, go_module_dir

MODULE = "github.com/prometheus-operator/prometheus-operator"
CRD_FILE = "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
CRD_NAME = "prometheusrules.monitoring.coreos.com"


def pinned_version() -> str:
    for line in (REPO / "scripts" / "versions.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "PROMETHEUS_OPERATOR_VERSION" and value.strip():
            return value.strip()
    raise HarnessError("scripts/versions.env has no PROMETHEUS_OPERATOR_VERSION")


@functools.cache
def prometheus_rule_crd(version: str | None = None) -> Path:
    """The path of the real PrometheusRule CRD of the pinned (or given) Prometheus Operator."""
    version = version or pinned_version()
    crd = go_module_dir(MODULE, version) / CRD_FILE
    if not crd.is_file():
        raise HarnessError(f"{MODULE}@{version} has no {CRD_FILE}")
    return crd


def install_prometheus_rule_crd(plane: ControlPlane) -> None:
    """Apply the real CRD and wait until the API server serves PrometheusRules."""
    plane.apply(prometheus_rule_crd())
    plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")


def uninstall_prometheus_rule_crd(plane: ControlPlane) -> None:
    """Delete the CRD (and with it every PrometheusRule) and wait until it is gone."""
    plane.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true", "--timeout=60s")
