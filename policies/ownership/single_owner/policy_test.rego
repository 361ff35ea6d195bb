package golive.ownership.single_owner_test

import rego.v1

import data.golive.ownership.single_owner

dana := {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"}

agent(owner) := {
	"kind": "AgentDeployment",
	"metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
	"spec": {"owner": owner},
}

# denied(owner) is the set of fields denied for an agent with this owner.
denied(owner) := fields if {
	fields := {v.field | some v in single_owner.deny} with input.agent as agent(owner)
}

test_person_allowed if {
	count(single_owner.deny) == 0 with input.agent as agent(dana)
}

test_person_with_middle_name_allowed if {
	denied({"name": "Ana María López", "email": "ana.lopez@example.com"}) == set()
}

test_missing_owner_denied if {
	violations := single_owner.deny with input.agent as {"metadata": {"name": "a"}, "spec": {}}
	some v in violations
	v.field == "spec.owner"
	count(violations) == 1
}

test_null_spec_denied if {
	violations := single_owner.deny with input.agent as {"metadata": {"name": "a"}, "spec": null}
	{v.field | some v in violations} == {"spec.owner"}
}

test_owner_not_an_object_denied if {
	denied("dana.ruiz@example.com") == {"spec.owner"}
}

test_missing_name_denied if {
	denied({"email": "dana.ruiz@example.com"}) == {"spec.owner.name"}
}

test_blank_name_denied if {
	denied({"name": "  ", "email": "dana.ruiz@example.com"}) == {"spec.owner.name"}
}

test_missing_email_denied if {
	denied({"name": "Dana Ruiz"}) == {"spec.owner.email"}
}

test_malformed_email_denied if {
	denied({"name": "Dana Ruiz", "email": "dana.ruiz"}) == {"spec.owner.email"}
}

test_team_name_denied if {
	violations := single_owner.deny with input.agent as agent({"name": "platform-team", "email": "dana.ruiz@example.com"})
	some v in violations
	v.field == "spec.owner.name"
	contains(v.msg, `owner "platform-team" looks like a team alias`)
	count(violations) == 1
}

test_alias_words_in_name_denied if {
	every name in ["AP Squad", "Finance Ops", "Payments Engineering", "All Staff", "Support Desk"] {
		denied({"name": name, "email": "dana.ruiz@example.com"}) == {"spec.owner.name"}
	}
}

test_shared_mailbox_denied if {
	every email in ["ap-team@example.com", "noreply@example.com", "finance.ops@example.com", "dl-payments@example.com"] {
		denied({"name": "Dana Ruiz", "email": email}) == {"spec.owner.email"}
	}
}

test_single_word_name_denied if {
	violations := single_owner.deny with input.agent as agent({"name": "Dana", "email": "dana.ruiz@example.com"})
	some v in violations
	v.field == "spec.owner.name"
	contains(v.msg, "single word")
}

test_alias_name_and_mailbox_both_denied if {
	denied({"name": "platform-team", "email": "platform-team@example.com"}) == {"spec.owner.name", "spec.owner.email"}
}
