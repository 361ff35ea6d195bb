"""RemoteEngine against a real `opa run --server` on loopback.

OPA is the harness's `OpaServer`: built by scripts/tools.sh if missing, always stopped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.domain.decision import RawViolation
from controller.engine.bundle import _smoke_inputs, bundle_from_modules
from controller.engine.embedded import EmbeddedEngine
from controller.engine.protocol import EngineUnavailable, PolicyError
from controller.engine.remote import RemoteEngine
from kit.controlplane import OpaServer, free_port
from tests.unit.rego_samples import LIB, NET_CALL, OWNER, REPLICAS, policy

pytestmark = pytest.mark.e2e


@pytest.fixture
def opa(tmp_path: Path) -> Iterator[OpaServer]:
    server = OpaServer(tmp_path)
    try:
        yield server.start()
    finally:
        server.stop()


def agent_input(**spec: Any) -> dict[str, Any]:
    policy_input = copy.deepcopy(_smoke_inputs()[0])
    policy_input["agent"]["spec"] = spec
    return policy_input


MODULES = {
    "ownership/owner/policy.rego": OWNER,
    "release/replicas/policy.rego": REPLICAS,
    "lib/names.rego": LIB,
}


def test_remote_returns_the_same_violations_as_embedded(opa: OpaServer) -> None:
    bundle = bundle_from_modules(MODULES)
    with RemoteEngine(bundle, opa.url) as remote, EmbeddedEngine(bundle) as embedded:
        assert remote.name == "remote" and remote.digest == embedded.digest == bundle.digest
        for spec in ({}, {"replicas": 3}, {"owner": {"name": "D"}, "replicas": 1}):
            assert remote.evaluate(agent_input(**spec)) == embedded.evaluate(agent_input(**spec))
        assert remote.evaluate(agent_input(replicas=3)) == [
            RawViolation("golive.ownership.owner", "spec.owner", "no owner among 1 fields"),
            RawViolation("golive.release.replicas", "spec.replicas", "more than one replica"),
        ]


def test_reload_replaces_old_modules(opa: OpaServer) -> None:
    with RemoteEngine(bundle_from_modules(MODULES), opa.url):
        pass
    only_owner = bundle_from_modules({"renamed/owner.rego": OWNER})
    with RemoteEngine(only_owner, opa.url) as remote:
        found = remote.evaluate(agent_input(replicas=3))
        assert [v.policy for v in found] == ["golive.ownership.owner"]


def test_syntax_error_is_policy_error_with_opa_location(
    opa: OpaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = OWNER.replace("if not input.agent.spec.owner", "if { x := }")
    with pytest.raises(PolicyError, match=r"ownership/owner/policy\.rego:11:\d+: rego_parse_error"):
        bundle_from_modules({"ownership/owner/policy.rego": broken})
    # Past golive's own checks (a bundle assembled by hand), the server's refusal is reported
    # with OPA's location too.
    good = bundle_from_modules({"o.rego": OWNER})
    hand_made = type(good)({"ownership/owner/policy.rego": broken}, {}, "x")
    monkeypatch.setattr("controller.engine.remote.check_in_sandbox", lambda modules: None)
    with pytest.raises(PolicyError) as caught:
        RemoteEngine(hand_made, opa.url)
    message = str(caught.value)
    assert "OPA refused module ownership/owner/policy.rego" in message
    assert "ownership/owner/policy.rego:11:" in message


def test_forbidden_builtin_refused_before_upload_and_why(
    opa: OpaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = NET_CALL
    with pytest.raises(PolicyError, match=r"policy\.rego:12:7: builtin http\.send is refused"):
        bundle_from_modules({"net/call/policy.rego": text})
    bundle = bundle_from_modules({"o.rego": OWNER})
    sneaky = type(bundle)(dict(bundle.modules, **{"net/call/policy.rego": text}), {}, "x")
    with pytest.raises(PolicyError, match=r"builtin http\.send is refused"):
        RemoteEngine(sneaky, opa.url)
    # Why: the OPA server itself accepts http.send (a builtin there); golive's sandbox stops it.
    monkeypatch.setattr("controller.engine.remote.check_in_sandbox", lambda modules: None)
    RemoteEngine(sneaky, opa.url).close()


def test_evaluation_error_is_policy_error(opa: OpaServer) -> None:
    conflict = policy(
        "golive.bad.conflict",
        "value := input.agent.spec.a\nvalue := input.agent.spec.b\n\n"
        'deny contains {"field": "f", "msg": "m"} if value\n',
    )
    with RemoteEngine(bundle_from_modules({"c.rego": conflict}), opa.url) as remote:
        assert remote.evaluate(agent_input()) == []
        with pytest.raises(PolicyError, match="could not evaluate"):
            remote.evaluate(agent_input(a=1, b=2))


def test_unreachable_opa_is_engine_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable):
        RemoteEngine(bundle_from_modules(MODULES), f"http://127.0.0.1:{free_port()}")


def test_opa_restart_loses_modules_and_the_engine_uploads_again(tmp_path: Path) -> None:
    server = OpaServer(tmp_path).start()
    try:
        remote = RemoteEngine(bundle_from_modules(MODULES), server.url, timeout=1.0)
        assert len(remote.evaluate(agent_input())) == 1
        server.stop()
        with pytest.raises(EngineUnavailable):
            remote.evaluate(agent_input())
        server = OpaServer(tmp_path, port=server.port).start()
        assert len(remote.evaluate(agent_input())) == 1  # re-uploaded on the undefined answer
        remote.close()
        with pytest.raises(EngineUnavailable, match="closed"):
            remote.evaluate(agent_input())
    finally:
        server.stop()
