# METADATA
# title: Approvals are signed by the people they name
# description: >-
#   Every approval of a regulated agent carries an SSH signature (ssh-keygen -Y sign -n
#   golive.dev) by the person it names, an allowed signer with the right to approve agents of
#   the agent's domain who is not its owner, over the approved fields of this version of the
#   agent. golive verifies it in Python (input.signoffs.approvals); warn until the platform
#   team sets deny.
# custom:
#   enforcement: warn
#   severity: high
#   checklist: signoff
package golive.governance.signed_approvals

import rego.v1

regulated if object.get(input, ["agent", "spec", "governance", "regulated"], false) == true

approvals := object.get(input, ["agent", "spec", "governance", "approvals"], [])

# The verdict golive gave the i-th approval; a missing one (an input without the signoffs
# block) is unverified, never verified by default.
check(i) := object.get(input, ["signoffs", "approvals", i], {
	"verified": false,
	"reason": "golive gave no verdict on this approval's signature",
})

deny contains violation if {
	regulated
	is_array(approvals)
	some i, _ in approvals
	c := check(i)
	not c.verified == true
	violation := {
		"field": sprintf("spec.governance.approvals[%d].signature", [i]),
		"msg": object.get(c, "reason", "the approval's signature is not verified"),
	}
}
