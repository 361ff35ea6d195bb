package golive.governance.signed_exceptions_test

import rego.v1

import data.golive.governance.signed_exceptions

waiver := {
	"name": "launch-budget",
	"policies": ["golive.economics.budget_at_scale"],
	"expiresAt": "2027-01-01T00:00:00Z",
}

unsigned_reason := "AgentException 'launch-budget' (approver Sam Ortiz) is not signed"

test_verified_exception_allowed if {
	count(signed_exceptions.deny) == 0 with input.exceptions as [waiver]
		with input.signoffs as {
			"exceptions": {"launch-budget": {"verified": true, "reason": ""}},
			"refusedExceptions": [],
		}
}

test_unsigned_exception_reported if {
	violations := signed_exceptions.deny with input.exceptions as [waiver]
		with input.signoffs as {"exceptions": {"launch-budget": {"verified": false, "reason": unsigned_reason}}}
	violations == {{
		"field": "metadata.name",
		"msg": concat("", [unsigned_reason, "; until then it waives golive.economics.budget_at_scale"]),
	}}
}

test_missing_verdict_is_never_verified if {
	violations := signed_exceptions.deny with input.exceptions as [waiver] with input.signoffs as {}
	count(violations) == 1
}

test_refused_exception_explained if {
	violations := signed_exceptions.deny with input.exceptions as []
		with input.signoffs as {
			"exceptions": {},
			"refusedExceptions": [{"name": "self", "reason": "AgentException 'self' waives nothing"}],
		}
	violations == {{"field": "metadata.name", "msg": "AgentException 'self' waives nothing"}}
}

test_no_exception_no_finding if {
	count(signed_exceptions.deny) == 0 with input.exceptions as []
		with input.signoffs as {"exceptions": {}, "refusedExceptions": []}
}
