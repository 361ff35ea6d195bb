package golive.governance.human_signoff_test

import rego.v1

import data.golive.governance.human_signoff

lee := {"name": "Lee Park", "email": "lee.park@example.com", "role": "compliance", "at": "2026-11-20"}

# agent(regulated, approvals) is an agent owned by Dana Ruiz with these approvals (null: none).
agent(regulated, approvals) := {
	"metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
	"spec": {
		"owner": {"name": "Dana Ruiz", "email": "Dana.Ruiz@example.com"},
		"governance": object.union(
			{"regulated": regulated, "domain": "finance"},
			{key: value | some key, value in {"approvals": approvals}; value != null},
		),
	},
}

denied(regulated, approvals) := fields if {
	fields := {v.field | some v in human_signoff.deny} with input.agent as agent(regulated, approvals)
}

test_signed_off_allowed if {
	count(human_signoff.deny) == 0 with input.agent as agent(true, [lee])
}

test_unregulated_without_approval_allowed if {
	denied(false, null) == set()
	denied(false, []) == set()
}

test_regulated_without_approval_denied if {
	violations := human_signoff.deny with input.agent as agent(true, null)
	some v in violations
	v.field == "spec.governance.approvals"
	contains(v.msg, `regulated agent (domain "finance") has no approval`)
	count(violations) == 1
}

test_regulated_with_empty_approvals_denied if {
	denied(true, []) == {"spec.governance.approvals"}
}

test_approval_without_name_denied if {
	denied(true, [object.remove(lee, ["name"])]) == {"spec.governance.approvals[0].name"}
}

test_approval_without_email_denied if {
	denied(true, [object.remove(lee, ["email"])]) == {"spec.governance.approvals[0].email"}
}

test_approval_without_date_denied if {
	denied(true, [object.remove(lee, ["at"])]) == {"spec.governance.approvals[0].at"}
}

test_approval_with_bad_date_denied if {
	denied(true, [object.union(lee, {"at": "last week"})]) == {"spec.governance.approvals[0].at"}
}

test_team_approver_denied if {
	violations := human_signoff.deny with input.agent as agent(true, [lee, object.union(lee, {"name": "Compliance Team"})])
	some v in violations
	v.field == "spec.governance.approvals[1].name"
	contains(v.msg, `approver "Compliance Team" looks like a team alias`)
	count(violations) == 1
}

test_owner_approving_own_agent_denied if {
	owner_approval := {"name": "Dana Ruiz", "email": "dana.ruiz@example.com", "at": "2026-11-20"}
	violations := human_signoff.deny with input.agent as agent(true, [owner_approval])
	some v in violations
	v.field == "spec.governance.approvals[0].email"
	contains(v.msg, "four eyes")
	count(violations) == 1
}

test_owner_among_approvers_denied if {
	owner_approval := {"name": "Dana Ruiz", "email": "dana.ruiz@example.com", "at": "2026-11-20"}
	denied(true, [lee, owner_approval]) == {"spec.governance.approvals[1].email"}
}
