# METADATA
# title: Owner is one named person
# description: spec.owner names one accountable person with a personal email, not a team or a shared mailbox.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: owner
package golive.ownership.single_owner

import rego.v1

import data.golive.lib.fields
import data.golive.lib.people

deny contains violation if {
	owner := object.get(input, ["agent", "spec", "owner"], null)
	some problem in people.problems(owner, "owner")
	violation := {"field": fields.join("spec.owner", problem.attr), "msg": problem.msg}
}
