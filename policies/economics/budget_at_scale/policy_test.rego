package golive.economics.budget_at_scale_test

import rego.v1

import data.golive.economics.budget_at_scale

# cost(limit, within100x) are the facts Python computes for 0.0004 USD x 2000 requests a day.
cost(limit, within100x) := {
	"declared": true, "currency": "USD", "monthlyLimit": limit,
	"monthly1x": "24.00", "monthly10x": "240.00", "monthly100x": "2400.00",
	"within1x": true, "within10x": true, "within100x": within100x,
}

test_within_100x_allowed if {
	count(budget_at_scale.deny) == 0 with input.cost as cost("4000", true)
}

test_undeclared_budget_denied if {
	violations := budget_at_scale.deny with input.cost as {"declared": false}
	some v in violations
	v.field == "spec.budget"
	contains(v.msg, "declare currency, monthlyLimit, costPerRequest and expectedDailyRequests")
	count(violations) == 1
}

test_missing_cost_facts_denied if {
	violations := budget_at_scale.deny with input.agent as {"spec": {}}
	some v in violations
	v.field == "spec.budget"
}

test_over_budget_at_100x_denied if {
	violations := budget_at_scale.deny with input.cost as cost("1000", false)
	some v in violations
	v.field == "spec.budget.monthlyLimit"
	v.msg == concat("", [
		"at 100x the expected daily requests the agent costs 2400.00 USD a month (24.00 USD at 1x),",
		" above monthlyLimit 1000 USD; raise monthlyLimit or lower costPerRequest",
	])
	count(violations) == 1
}

test_missing_within100x_denied if {
	violations := budget_at_scale.deny with input.cost as object.remove(cost("4000", true), ["within100x"])
	some v in violations
	v.field == "spec.budget.monthlyLimit"
}
