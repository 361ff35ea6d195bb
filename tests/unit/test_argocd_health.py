"""The Argo CD health check of AgentDeployment (charts/golive/argocd/health.lua), run for real.

The script runs in Lua 5.1 (lupa), the language version of gopher-lua that Argo CD embeds, in a
sandbox shaped like Argo CD's for custom health scripts: the global `obj`, the base library, the
table library and a small `os`; no string, math, io or debug library, and no string metatable
(so `s:sub()` fails here as it does in Argo CD). Each fixture of health_test.yaml (Argo CD's
layout: inputPath + expected healthStatus) must give exactly the expected status and message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51

ROOT = Path(__file__).resolve().parents[2]
ARGOCD_DIR = ROOT / "charts" / "golive" / "argocd"
HEALTH_LUA = ARGOCD_DIR / "health.lua"
HEALTH_TESTS = ARGOCD_DIR / "health_test.yaml"
ARGOCD_CM = ARGOCD_DIR / "argocd-cm.yaml"
CM_KEY = "resource.customizations.health.golive.dev_AgentDeployment"

# gitops-engine's health status codes; anything else Argo CD turns into Unknown.
VALID_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

# What Argo CD opens for a custom health script: base (+ package), table and a safe os.
SANDBOX = """
local script, obj = ...
local env = {}
for _, name in ipairs({
  "assert", "error", "ipairs", "next", "pairs", "pcall", "print", "rawequal", "rawget",
  "rawset", "select", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION",
}) do
  env[name] = _G[name]
end
env.table = table
env.os = {time = os.time, date = os.date, clock = os.clock, difftime = os.difftime}
env._G = env
env.obj = obj
local chunk, err = loadstring(script, "=health.lua")
if chunk == nil then error(err) end
setfenv(chunk, env)
debug.setmetatable("", nil)
return chunk()
"""


def run_health(obj: dict[str, Any]) -> dict[str, Any]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    result = lua.execute(SANDBOX, HEALTH_LUA.read_text(), lua.table_from(obj, recursive=True))
    assert lua.eval("type")(result) == "table", f"health.lua returned {result!r}, not a table"
    return {key: result[key] for key in ("status", "message")}


def fixtures() -> list[dict[str, Any]]:
    return list(yaml.safe_load(HEALTH_TESTS.read_text())["tests"])


@pytest.mark.parametrize("case", fixtures(), ids=lambda c: Path(c["inputPath"]).stem)
def test_fixture(case: dict[str, Any]) -> None:
    obj = yaml.safe_load((ARGOCD_DIR / case["inputPath"]).read_text())
    health = run_health(obj)
    assert health["status"] in VALID_STATUSES
    assert health == case["healthStatus"]


def test_every_testdata_file_has_a_case() -> None:
    covered = {Path(c["inputPath"]).name for c in fixtures()}
    present = {p.name for p in (ARGOCD_DIR / "testdata").glob("*.yaml")}
    assert covered == present


def test_every_status_we_document_is_covered() -> None:
    statuses = {c["healthStatus"]["status"] for c in fixtures()}
    assert statuses == {"Healthy", "Progressing", "Degraded", "Unknown"}


def test_degraded_message_carries_the_admitted_message() -> None:
    obj = yaml.safe_load((ARGOCD_DIR / "testdata" / "degraded_blocked.yaml").read_text())
    admitted = next(c for c in obj["status"]["conditions"] if c["type"] == "Admitted")
    health = run_health(obj)
    assert health["status"] == "Degraded"
    assert admitted["message"] in health["message"]


def test_sandbox_rejects_the_string_library() -> None:
    # The sandbox itself is honest: a script that needs the string library fails here as in
    # Argo CD, so health.lua passing above means it does not need it.
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    with pytest.raises(lua51.LuaError):
        lua.execute(SANDBOX, 'return {status = string.upper("healthy")}', lua.table_from({}))
    with pytest.raises(lua51.LuaError):
        lua.execute(SANDBOX, 'local s = "x"; return {status = s:upper()}', lua.table_from({}))


def test_argocd_cm_snippet_is_health_lua_verbatim() -> None:
    cm = yaml.safe_load(ARGOCD_CM.read_text())
    assert cm["kind"] == "ConfigMap"
    assert cm["metadata"]["name"] == "argocd-cm"
    assert cm["data"][CM_KEY] == HEALTH_LUA.read_text()
