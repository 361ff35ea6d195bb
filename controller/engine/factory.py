"""Build a PolicySet from flags: which engine, which policies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from controller.engine.bundle import PolicyBundle, load_library
from controller.engine.decision_pipeline import PolicySet
from controller.engine.protocol import Engine

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


def policy_set_from_library(
    kind: str,
    policies: Sequence[Path] = (),
    *,
    safe_library: bool = True,
    opa_url: str | None = None,
) -> PolicySet:
    """golive's SAFE library (unless safe_library is False) plus a team's own folders."""
    bundle = load_library(policies, safe_library=safe_library)
    return PolicySet(make_engine(kind, bundle, opa_url), bundle)


def engine_problem(engine: str) -> str:
    return f"--engine: expected one of {', '.join(ENGINES)}, got {engine!r}"
