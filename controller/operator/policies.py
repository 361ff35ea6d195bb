"""Which policies decide, and with which engine; swapped whole when the policies change.

Policies come from golive's SAFE library plus a team's folders (`--policies`, or only those with
`--no-safe-library`) or, GitOps-style, from ConfigMaps labelled `golive.dev/policy` in one
namespace (`--policy-namespace`, the whole library: the chart installs the SAFE library there):
each `*.rego` key is a module.
Each ConfigMap may declare the digest of the whole library it belongs to (the annotation
`golive.dev/policy-digest`); `library` compares those declarations with what is loaded, so a hand
edit shows as drift (controller/domain/fleet.py).
A set that cannot be loaded (a broken module, an unreachable OPA) is replaced by an unusable
one whose engine raises the recorded failure: every decision is then Unknown, never an admit,
until a good set loads. `current` is always a PolicySet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from controller.domain.fleet import LibraryState, library_state
from controller.engine.bundle import bundle_from_modules, load_library
from controller.engine.decision_pipeline import PolicySet, unusable_policy_set
from controller.engine.factory import make_engine
from controller.engine.protocol import EngineError, EngineUnavailable, PolicyError

log = logging.getLogger("golive.policies")


class PolicyManager:
    def __init__(
        self,
        engine_kind: str,
        opa_url: str | None = None,
        *,
        folders: Sequence[Path] = (),
        safe_library: bool = True,
        namespace: str | None = None,
    ) -> None:
        """Policies from ConfigMaps in `namespace` (the whole library), or else golive's SAFE
        library (unless `safe_library` is False) plus `folders`."""
        if namespace is not None and (folders or not safe_library):
            raise ValueError("ConfigMaps in a namespace are the whole library: no folders too")
        self.engine_kind = engine_kind
        self.opa_url = opa_url
        self.folders = tuple(folders)
        self.safe_library = safe_library
        self.namespace = namespace
        self.configmaps: dict[str, Mapping[str, str]] = {}  # ConfigMap name -> data
        # ConfigMap name -> the library digest its annotation declares ("" where none).
        self.declared: dict[str, str] = {}
        self.current: PolicySet = unusable_policy_set(
            engine_kind, PolicyError("no policies loaded yet")
        )
        self._lock = threading.Lock()

    @property
    def digest(self) -> str:
        return self.current.engine.digest

    @property
    def library(self) -> LibraryState:
        """The loaded digest against what the policy ConfigMaps declare (no declarations
        outside --policy-namespace: the library is then golive's own and the folders')."""
        return library_state(self.digest, self.declared.values())

    def modules(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for cm_name in sorted(self.configmaps):
            for key, text in sorted(self.configmaps[cm_name].items()):
                if key.endswith(".rego"):
                    out[f"{cm_name}/{key}"] = text
        return out

    def set_configmap(self, name: str, data: Mapping[str, str] | None, declared: str = "") -> bool:
        """Record a policy ConfigMap (None when deleted) and the library digest it declares;
        True if the modules changed (a new declaration alone loads nothing)."""
        before = self.configmaps.get(name)
        if data is None:
            self.configmaps.pop(name, None)
            self.declared.pop(name, None)
        else:
            self.configmaps[name] = dict(data)
            self.declared[name] = declared
        return before != (None if data is None else dict(data))

    def load(self) -> bool:
        """(Re)build bundle and engine; blocking (engines compile or upload). True on success."""
        with self._lock:
            try:
                bundle = (
                    bundle_from_modules(self.modules())
                    if self.namespace is not None
                    else load_library(self.folders, safe_library=self.safe_library)
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
