"""The allowed signers the operator verifies sign-offs against: the ConfigMaps labelled
golive.dev/allowed-signers in golive's own namespace (the chart renders one from values),
watched like the policy ConfigMaps. A change re-decides every agent, so removing a signer
re-blocks the agents approved with that key without anyone touching them."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from controller.domain.signoffs import SIGNERS_KEY, AllowedSigners, merge_allowed_signers

log = logging.getLogger("golive.signers")


class SignerStore:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        # ConfigMap name -> its allowed-signers.yaml (None: a labelled ConfigMap without it)
        self.texts: dict[str, str | None] = {}
        # None: no ConfigMap, so no signature verifies (the sign-off rules say so).
        self.current: AllowedSigners | None = None

    def set_configmap(self, name: str, data: Mapping[str, str] | None) -> bool:
        """Record a labelled ConfigMap (None when deleted); True when the signers changed."""
        before = dict(self.texts)
        if data is None:
            self.texts.pop(name, None)
        else:
            self.texts[name] = data.get(SIGNERS_KEY)
        if self.texts == before:
            return False
        self._rebuild()
        return True

    def replace_all(self, configmaps: Mapping[str, Mapping[str, str]]) -> None:
        """The ConfigMaps listed at start (before any decision)."""
        self.texts = {name: data.get(SIGNERS_KEY) for name, data in configmaps.items()}
        self._rebuild()

    def _rebuild(self) -> None:
        parts = [(f"ConfigMap {self.namespace}/{name}", t) for name, t in self.texts.items()]
        missing = sorted(source for source, text in parts if text is None)
        signers = (
            # A labelled ConfigMap without the key is a mistake, not an empty list: unreadable.
            AllowedSigners.unreadable(missing[0], f"{missing[0]}: data.{SIGNERS_KEY}: missing")
            if missing
            else merge_allowed_signers((source, text or "") for source, text in parts)
        )
        if signers is not None and signers.error is not None:
            # Every signature fails with this reason until the list is fixed: never an admit.
            log.error("allowed signers unreadable, no sign-off verifies: %s", signers.error)
        elif signers is not None:
            log.info("allowed signers: %d from %s", len(signers.signers), signers.source)
        self.current = signers
