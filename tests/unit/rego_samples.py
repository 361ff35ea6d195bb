"""Small Rego modules for the engine unit tests (shared, not a test module)."""

from __future__ import annotations


def policy(policy_id: str, body: str, enforcement: str = "deny", header: str = "") -> str:
    """A policy module with a valid METADATA block; `body` holds the rules."""
    return f"""# METADATA
# title: {policy_id}
# custom:
#   id: {policy_id}
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
