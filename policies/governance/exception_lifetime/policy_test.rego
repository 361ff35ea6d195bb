package golive.governance.exception_lifetime_test

import rego.v1

import data.golive.governance.exception_lifetime

waiver(expires) := {"name": "launch-budget", "policies": ["golive.economics.budget_at_scale"], "expiresAt": expires}

granted := {"exceptions": {"launch-budget": {"verified": true, "grantedAt": "2026-12-01T00:00:00Z"}}}

test_ninety_days_allowed if {
	count(exception_lifetime.deny) == 0 with input.exceptions as [waiver("2027-03-01T00:00:00Z")]
		with input.signoffs as granted with input.context as {"now": "2026-12-05T00:00:00Z"}
}

test_one_second_more_reported if {
	violations := exception_lifetime.deny with input.exceptions as [waiver("2027-03-01T00:00:01Z")]
		with input.signoffs as granted with input.context as {"now": "2026-12-05T00:00:00Z"}
	some v in violations
	v.field == "metadata.name"
	v.msg == concat("", [
		"AgentException launch-budget runs 91 days (granted 2026-12-01T00:00:00Z, expires ",
		"2027-03-01T00:00:01Z), longer than the 90 days an exception may last; shorten expiresAt, ",
		"renew it when it runs out",
	])
}

test_without_grant_time_measured_from_now if {
	violations := exception_lifetime.deny with input.exceptions as [waiver("2027-06-30T00:00:00Z")]
		with input.signoffs as {"exceptions": {}} with input.context as {"now": "2026-12-05T00:00:00Z"}
	count(violations) == 1
	count(exception_lifetime.deny) == 0 with input.exceptions as [waiver("2027-01-30T00:00:00Z")]
		with input.signoffs as {"exceptions": {}} with input.context as {"now": "2026-12-05T00:00:00Z"}
}

test_max_days_read_from_metadata if {
	exception_lifetime.max_days == 90
}
