package golive.governance.signed_approvals_test

import rego.v1

import data.golive.governance.signed_approvals

approval := {"name": "Lee Park", "email": "lee.park@example.com", "at": "2026-11-20"}

regulated := {"spec": {"governance": {
	"regulated": true, "domain": "finance",
	"approvals": [approval],
}}}

verified := {"signed": true, "verified": true, "reason": "", "signer": {"name": "Lee Park"}}

unsigned := {"signed": false, "verified": false, "reason": "approval by Lee Park is not signed"}

test_verified_approval_allowed if {
	count(signed_approvals.deny) == 0 with input.agent as regulated
		with input.signoffs as {"approvals": [verified]}
}

test_unsigned_approval_reported_with_golive_reason if {
	violations := signed_approvals.deny with input.agent as regulated
		with input.signoffs as {"approvals": [unsigned]}
	violations == {{"field": "spec.governance.approvals[0].signature", "msg": "approval by Lee Park is not signed"}}
}

test_each_unverified_approval_reported if {
	agent := {"spec": {"governance": {"regulated": true, "approvals": [approval, approval]}}}
	violations := signed_approvals.deny with input.agent as agent
		with input.signoffs as {"approvals": [verified, unsigned]}
	{v.field | some v in violations} == {"spec.governance.approvals[1].signature"}
}

test_missing_verdict_is_never_verified if {
	violations := signed_approvals.deny with input.agent as regulated with input.signoffs as {}
	some v in violations
	v.field == "spec.governance.approvals[0].signature"
	contains(v.msg, "no verdict")
}

test_verified_must_be_true_not_truthy if {
	violations := signed_approvals.deny with input.agent as regulated
		with input.signoffs as {"approvals": [{"verified": "yes", "reason": "x"}]}
	count(violations) == 1
}

test_unregulated_agent_not_judged if {
	agent := {"spec": {"governance": {"regulated": false, "approvals": [approval]}}}
	count(signed_approvals.deny) == 0 with input.agent as agent
		with input.signoffs as {"approvals": [unsigned]}
}
