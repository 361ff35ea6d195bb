"""The real OpenReports CRDs, from their Go module (github.com/openreports/reports-api).

`go mod download -json github.com/openreports/reports-api@<version>` puts the module in Go's
module cache (checked against sum.golang.org); `config/crd/openreports.io_reports.yaml` is the
Report CRD Kyverno and Policy Reporter use. The version is pinned in scripts/versions.env
(OPENREPORTS_VERSION). golive ships no copy: the CRD belongs to whoever installs OpenReports.
"""

from __future__ import annotations

import functools
from pathlib import Path

from kit.controlplane import REPO, ControlPlane, HarnessError, go_module_dir

MODULE = "github.com/openreports/reports-api"
CRD_FILE = "config/crd/openreports.io_reports.yaml"
CRD_NAME = "reports.openreports.io"


def pinned_version() -> str:
    for line in (REPO / "scripts" / "versions.env").read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "OPENREPORTS_VERSION" and value.strip():
            return value.strip()
    raise HarnessError("scripts/versions.env has no OPENREPORTS_VERSION")


@functools.cache
def report_crd(version: str | None = None) -> Path:
    """The path of the real Report CRD of the pinned (or given) reports-api module."""
    version = version or pinned_version()
    crd = go_module_dir(MODULE, version) / CRD_FILE
    if not crd.is_file():
        raise HarnessError(f"{MODULE}@{version} has no {CRD_FILE}")
    return crd


def install_report_crd(plane: ControlPlane) -> None:
    """Apply the real CRD and wait until the API server serves Reports."""
    plane.apply(report_crd())
    plane.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")


def uninstall_report_crd(plane: ControlPlane) -> None:
    """Delete the CRD (and with it every Report) and wait until it is gone."""
    plane.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=true", "--timeout=60s")
