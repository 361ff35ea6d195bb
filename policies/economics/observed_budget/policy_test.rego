package golive.economics.observed_budget_test

import rego.v1

import data.golive.economics.observed_budget

agent := {"metadata": {"name": "invoice-triage", "generation": 3}, "spec": {}}

observed(new, within) := {
	"generation": 3, "newGeneration": new, "costSource": "counter", "requestsPerDay": 40000,
	"budget": {
		"currency": "USD", "monthlyLimit": "4000", "monthlyRunRate": "5200.00",
		"monthlyRunRate10x": "52000.00", "withinLimit": within, "within10x": false,
	},
}

test_over_the_limit_denies_the_next_generation_with_the_numbers if {
	violations := observed_budget.deny with input.agent as agent with input.observed as observed(true, false)
	count(violations) == 1
	some v in violations
	v.field == "spec.budget.monthlyLimit"
	v.msg == concat("", [
		"the observed monthly run-rate is 5200.00 USD (counter, 40000 requests/day), over the monthly ",
		"limit of 4000; generation 3 is not rolled out until the spend fits or the limit is raised",
	])
}

test_within_the_limit_allowed if {
	count(observed_budget.deny) == 0 with input.agent as agent with input.observed as observed(true, true)
}

test_the_running_generation_is_not_judged if {
	count(observed_budget.deny) == 0 with input.agent as agent with input.observed as observed(false, false)
}

test_unknown_run_rate_is_not_judged if {
	count(observed_budget.deny) == 0 with input.agent as agent
		with input.observed as {"newGeneration": true, "budget": {"withinLimit": null}}
}
