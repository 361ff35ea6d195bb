# METADATA
# title: Regulated agents are signed off by a second person
# description: A regulated agent has at least one approval by a named person other than the owner (four eyes).
# custom:
#   enforcement: deny
#   severity: high
#   checklist: signoff
package golive.governance.human_signoff

import rego.v1

import data.golive.lib.fields
import data.golive.lib.people

# Values are read with object.get from input along the whole path: that is defined even when
# spec or governance is null.
regulated if object.get(input, ["agent", "spec", "governance", "regulated"], false) == true

approvals := object.get(input, ["agent", "spec", "governance", "approvals"], [])

domain := object.get(input, ["agent", "spec", "governance", "domain"], "")

owner_email := lower(trim_space(input.agent.spec.owner.email)) if is_string(input.agent.spec.owner.email)

date_pattern := `^[0-9]{4}-[0-9]{2}-[0-9]{2}`

deny contains violation if {
	regulated
	not has_approvals
	violation := {
		"field": "spec.governance.approvals",
		"msg": concat("", [
			`regulated agent (domain "`, fields.text(domain),
			`") has no approval; add one sign-off {name, email, at} by a person other than the owner`,
		]),
	}
}

deny contains violation if {
	regulated
	has_approvals
	some i, approval in approvals
	some problem in people.problems(approval, "approver")
	violation := {"field": fields.join(sprintf("spec.governance.approvals[%d]", [i]), problem.attr), "msg": problem.msg}
}

deny contains violation if {
	regulated
	has_approvals
	some i, approval in approvals
	is_object(approval)
	fields.blank(object.get(approval, "at", ""))
	violation := {
		"field": sprintf("spec.governance.approvals[%d].at", [i]),
		"msg": `approval has no date; set "at" to the date of the sign-off, e.g. 2026-11-20`,
	}
}

deny contains violation if {
	regulated
	has_approvals
	some i, approval in approvals
	is_string(approval.at)
	not fields.blank(approval.at)
	not regex.match(date_pattern, approval.at)
	violation := {
		"field": sprintf("spec.governance.approvals[%d].at", [i]),
		"msg": concat("", [`approval date "`, approval.at, `" is not a date; expected YYYY-MM-DD, e.g. 2026-11-20`]),
	}
}

deny contains violation if {
	regulated
	has_approvals
	some i, approval in approvals
	is_string(approval.email)
	lower(trim_space(approval.email)) == owner_email
	violation := {
		"field": sprintf("spec.governance.approvals[%d].email", [i]),
		"msg": concat("", [
			`approver "`, approval.email,
			`" is the owner; four eyes: the sign-off must come from a person other than the owner`,
		]),
	}
}

has_approvals if {
	is_array(approvals)
	count(approvals) > 0
}
