# METADATA
# title: Exceptions are signed by their approver and not approved by the owner
# description: >-
#   Every AgentException that waives a policy for this agent carries an SSH signature
#   (ssh-keygen -Y sign -n golive.dev) by its approver, an allowed signer with the right to
#   grant exceptions who does not own the agent (input.signoffs.exceptions). An exception
#   approved by the agent's owner waives nothing, signed or not: golive drops it in Python and
#   this rule says why (input.signoffs.refusedExceptions). warn until the platform team sets
#   deny; no exception waives this rule.
# custom:
#   enforcement: warn
#   severity: high
#   checklist: signoff
package golive.governance.signed_exceptions

import rego.v1

exceptions := object.get(input, ["exceptions"], [])

check(name) := object.get(input, ["signoffs", "exceptions", name], {
	"verified": false,
	"reason": concat("", ["AgentException ", name, ": golive gave no verdict on its signature"]),
})

# Exceptions have no field in the agent: a finding about one is reported at metadata.name, and
# its message names the exception.
deny contains violation if {
	some exception in exceptions
	c := check(exception.name)
	not c.verified == true
	violation := {
		"field": "metadata.name",
		"msg": concat("", [
			object.get(c, "reason", "the exception's signature is not verified"),
			"; until then it waives ", concat(", ", exception.policies),
		]),
	}
}

deny contains violation if {
	some refused in object.get(input, ["signoffs", "refusedExceptions"], [])
	violation := {"field": "metadata.name", "msg": refused.reason}
}
