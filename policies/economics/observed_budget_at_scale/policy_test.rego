package golive.economics.observed_budget_at_scale_test

import rego.v1

import data.golive.economics.observed_budget_at_scale

observed(within10x) := {"budget": {
	"currency": "USD", "monthlyLimit": "4000", "monthlyRunRate": "520.00",
	"monthlyRunRate10x": "5200.00", "withinLimit": true, "within10x": within10x,
}}

test_over_the_limit_at_10x_warned_with_the_numbers if {
	violations := observed_budget_at_scale.deny with input.observed as observed(false)
	count(violations) == 1
	some v in violations
	v.field == "spec.budget.monthlyLimit"
	v.msg == concat("", [
		"at 10x the observed traffic the monthly run-rate would be 5200.00 USD (observed 520.00), ",
		"over the monthly limit of 4000",
	])
}

test_within_at_10x_allowed if {
	count(observed_budget_at_scale.deny) == 0 with input.observed as observed(true)
}

test_no_observation_is_not_judged if {
	count(observed_budget_at_scale.deny) == 0
}
