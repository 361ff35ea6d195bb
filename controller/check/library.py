"""`golive policy configmaps`: a policy library as the ConfigMaps `golive run --policy-namespace`
reads, for a git repository that Argo CD (or any GitOps tool) applies to every cluster.

The ConfigMaps are laid out as the chart's (templates/policies.yaml): one per policy folder,
named `<prefix>-policy-<folder>`, a key per module file, labelled `golive.dev/policy: "true"`.
Each also carries `golive.dev/policy-digest`, the digest of the whole library, the one `golive
check` prints and the cluster shows in `status.policy.digest`: the operator compares it with what
it loaded, so a hand edit of a ConfigMap shows as drift (controller/domain/fleet.py).
Tests (`*_test.rego`) are left out, as the library loads without them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from controller.domain.api import POLICY_DIGEST, POLICY_LABEL
from controller.engine.bundle import (
    ENTRYPOINT_MODULE,
    SAFE_LIBRARY_PREFIX,
    load_library,
)
from controller.engine.protocol import PolicyError

PATH_ANNOTATION = "golive.dev/policy-path"  # the folder, as the chart's ConfigMaps say it
MAX_NAME = 63
PLAIN_KEY = re.compile(r"^[A-Za-z_][-._A-Za-z0-9]*\.rego$")


def configmap_name(prefix: str, folder: str) -> str:
    """The chart's name for a folder's ConfigMap: `<prefix>-policy-<folder>`, `/` and `_` as
    `-`, cut at 63 characters."""
    name = f"{prefix}-policy-{folder.replace('/', '-').replace('_', '-')}"
    return name[:MAX_NAME].rstrip("-")


def library_configmaps(
    policies: Sequence[Path], safe_library: bool, namespace: str, prefix: str = "golive"
) -> list[dict[str, Any]]:
    """The library (golive's SAFE library unless `safe_library` is False, plus each folder of
    `policies`) as ConfigMaps in `namespace`. Raises PolicyError when the library does not load
    (what the cluster would refuse) or two modules would share a ConfigMap key."""
    bundle = load_library(policies, safe_library=safe_library)
    roots = [f"{root.as_posix().rstrip('/')}/" for root in policies]
    if safe_library:
        roots.insert(0, SAFE_LIBRARY_PREFIX)
    folders: dict[str, dict[str, str]] = {}
    for module, text in bundle.modules.items():
        if module == ENTRYPOINT_MODULE:
            continue  # generated again by the operator from the packages
        root = next(r for r in roots if module.startswith(r))
        path = PurePosixPath(module[len(root) :])
        data = folders.setdefault(str(path.parent), {})
        if path.name in data:
            raise PolicyError(f"module {module}: another module of {path.parent} has its name")
        data[path.name] = text
    names: dict[str, str] = {}
    out = []
    for folder in sorted(folders):
        name = configmap_name(prefix, folder)
        if name in names:
            raise PolicyError(f"folders {names[name]} and {folder} both make ConfigMap {name}")
        names[name] = folder
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": {POLICY_LABEL: "true"},
                    "annotations": {PATH_ANNOTATION: folder, POLICY_DIGEST: bundle.digest},
                },
                "data": dict(sorted(folders[folder].items())),
            }
        )
    return out


def _block(text: str) -> str | None:
    """`text` as a YAML literal block under a key indented by two spaces; None where a block
    cannot say it exactly (PyYAML writes Rego, which opa fmt indents with tabs, as one quoted
    line: a block keeps it readable in git and in `kubectl get -o yaml`)."""
    if not text or text[0] in " \t\n" or "\r" in text:
        return None
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = {0: "-", 1: ""}.get(trailing, "+")
    lines = (text if chomp == "+" else body).split("\n")
    if chomp == "+":
        lines = lines[:-1]
    return f"|{chomp}\n" + "".join(f"    {line}\n" if line else "\n" for line in lines)


def _document(configmap: dict[str, Any]) -> str:
    head = {k: v for k, v in configmap.items() if k != "data"}
    text = yaml.safe_dump(head, sort_keys=False, width=100) + "data:\n"
    for key, value in configmap["data"].items():
        block = _block(value)
        if block is None:
            text += yaml.safe_dump({"data": {key: value}}, width=100).split("\n", 1)[1]
        else:
            # ConfigMap keys are [-._a-zA-Z0-9]+: JSON quotes the odd one YAML might misread.
            text += f"  {key if PLAIN_KEY.match(key) else json.dumps(key)}: {block}"
    if yaml.safe_load(text) != configmap:  # never write what does not read back the same
        text = yaml.safe_dump(configmap, sort_keys=False, width=100)
    return text


def render_configmaps(configmaps: list[dict[str, Any]], header: str = "") -> str:
    """The ConfigMaps as one YAML stream (a document each), after a comment `header`."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + "---\n".join(_document(c) for c in configmaps)
