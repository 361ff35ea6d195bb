"""Small Rego modules for the engine unit tests (shared, not a test module)."""

from __future__ import annotations


def policy(policy_id: str, body: str, enforcement: str = "deny", header: str = "") -> str:
    """A policy module with a valid METADATA block; `body` holds the rules."""
    return f"""# METADATA
# title: {policy_id}
# custom:
#   enforcement: {enforcement}
#   severity: high
#   checklist: test
package {policy_id}

import rego.v1
{header}
{body}
"""


OWNER = policy(
    "golive.ownership.owner",
    'deny contains {"field": "spec.owner", "msg": sprintf("no owner among %d fields", '
    "[count(input.agent.spec)])} if not input.agent.spec.owner\n",
)

REPLICAS = policy(
    "golive.release.replicas",
    'deny contains {"field": "spec.replicas", "msg": "more than one replica"} '
    "if input.agent.spec.replicas > 1\n",
    enforcement="warn",
)

LIB = """package golive.lib.names

import rego.v1

shout(s) := upper(s)
"""

# A rule that calls the network: refused by golive's sandbox when the bundle is compiled, for
# both engines (an OPA server would otherwise run it).
NET_CALL = policy(
    "golive.net.call",
    'deny contains {"field": "f", "msg": "unreachable"} if {\n'
    '\tr := http.send({"method": "get", "url": "http://127.0.0.1:9"})\n'
    "\tr.status_code != 200\n}\n",
)
