"""Which policies decide, and with which engine; swapped whole when the policies change.

Policies come from a folder (`--policies`) or, GitOps-style, from ConfigMaps labelled
`golive.dev/policy` in one namespace (`--policy-namespace`): each `*.rego` key is a module.
A set that cannot be loaded (a broken module, an unreachable OPA) is replaced by an unusable
one whose engine raises the recorded failure: every decision is then Unknown, never an admit,
until a good set loads. `current` is always a PolicySet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path

from controller.engine.bundle import bundle_from_modules, load_bundle_dir
from controller.engine.factory import make_engine
from controller.engine.protocol import EngineError, EngineUnavailable, PolicyError
from controller.engine.verdict import PolicySet, unusable_policy_set

log = logging.getLogger("golive.policies")


class PolicyManager:
    def __init__(
        self,
        engine_kind: str,
        opa_url: str | None = None,
        directory: Path | None = None,
        namespace: str | None = None,
    ) -> None:
        if (directory is None) == (namespace is None):
            raise ValueError(
                "give exactly one policy source: --policies DIR or --policy-namespace NS"
            )
        self.engine_kind = engine_kind
        self.opa_url = opa_url
        self.directory = directory
        self.namespace = namespace
        self.configmaps: dict[str, Mapping[str, str]] = {}  # ConfigMap name -> data
        self.current: PolicySet = unusable_policy_set(
            engine_kind, PolicyError("no policies loaded yet")
        )
        self._lock = threading.Lock()

    @property
    def digest(self) -> str:
        return self.current.engine.digest

    def modules(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for cm_name in sorted(self.configmaps):
            for key, text in sorted(self.configmaps[cm_name].items()):
                if key.endswith(".rego"):
                    out[f"{cm_name}/{key}"] = text
        return out

    def set_configmap(self, name: str, data: Mapping[str, str] | None) -> bool:
        """Record a policy ConfigMap (None when deleted); True if the modules changed."""
        before = self.configmaps.get(name)
        if data is None:
            self.configmaps.pop(name, None)
        else:
            self.configmaps[name] = dict(data)
        return before != (None if data is None else dict(data))

    def load(self) -> bool:
        """(Re)build bundle and engine; blocking (engines compile or upload). True on success."""
        with self._lock:
            try:
                bundle = (
                    load_bundle_dir(self.directory)
                    if self.directory is not None
                    else bundle_from_modules(self.modules())
                )
                if self.current.usable and self.current.bundle.digest == bundle.digest:
                    return True
                engine = make_engine(self.engine_kind, bundle, self.opa_url)
            except EngineError as error:
                log.error("policies unusable (%s): %s", type(error).__name__, error)
                self._replace(unusable_policy_set(self.engine_kind, error))
                return False
            self._replace(PolicySet(engine, bundle))
            log.info("policies loaded: %d modules, digest %s", len(bundle.modules), bundle.digest)
            return True

    def _replace(self, new: PolicySet) -> None:
        old, self.current = self.current, new
        if old is not new:
            old.engine.close()

    def close(self) -> None:
        with self._lock:
            self._replace(
                unusable_policy_set(self.engine_kind, EngineUnavailable("operator stopping"))
            )
