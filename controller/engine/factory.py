"""Build a PolicySet from flags: which engine, which policies."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from controller.engine.bundle import PolicyBundle, bundle_from_modules, load_bundle_dir
from controller.engine.protocol import Engine
from controller.engine.verdict import PolicySet

ENGINES = ("embedded", "remote")


def make_engine(kind: str, bundle: PolicyBundle, opa_url: str | None = None) -> Engine:
    """Raises PolicyError (a module does not compile) or EngineUnavailable (cannot start/reach)."""
    if kind == "embedded":
        from controller.engine.embedded import EmbeddedEngine

        return EmbeddedEngine(bundle)
    if kind == "remote":
        if not opa_url:
            raise ValueError("--engine remote needs --opa-url (e.g. http://127.0.0.1:8181)")
        from controller.engine.remote import RemoteEngine

        return RemoteEngine(bundle, opa_url)
    raise ValueError(f"unknown engine {kind!r}; expected one of {', '.join(ENGINES)}")


def policy_set_from_dir(kind: str, policies: Path, opa_url: str | None = None) -> PolicySet:
    bundle = load_bundle_dir(policies)
    return PolicySet(make_engine(kind, bundle, opa_url), bundle)


def policy_set_from_modules(
    kind: str, modules: Mapping[str, str], opa_url: str | None = None
) -> PolicySet:
    bundle = bundle_from_modules(modules)
    return PolicySet(make_engine(kind, bundle, opa_url), bundle)
