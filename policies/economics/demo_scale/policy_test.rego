package golive.economics.demo_scale_test

import rego.v1

import data.golive.economics.demo_scale

agent := {"spec": {"budget": {"expectedDailyRequests": 2000, "costPerRequest": "0.0001"}}}

observed(requests, source, cost) := {
	"requestsPerDay": requests, "costSource": source, "costPerRequest": cost,
	"budget": {"declaredCostPerRequest": "0.0004"},
}

test_twenty_times_the_declared_volume_warned if {
	violations := demo_scale.deny with input.agent as agent with input.observed as observed(40000, "estimate", "0.0004")
	count(violations) == 1
	some v in violations
	v.field == "spec.budget.expectedDailyRequests"
	startswith(v.msg, "observed 40000 requests/day, more than 10 times the declared 2000")
}

test_ten_times_is_not_more_than_ten_times if {
	count(demo_scale.deny) == 0 with input.agent as agent with input.observed as observed(20000, "estimate", "0.0004")
}

test_observed_cost_per_request_over_twice_the_declared_warned if {
	violations := demo_scale.deny with input.agent as agent with input.observed as observed(2000, "counter", "0.0009")
	count(violations) == 1
	some v in violations
	v.field == "spec.budget.costPerRequest"
	startswith(v.msg, "observed cost per request 0.0009, more than 2 times the declared 0.0004")
}

test_an_estimated_cost_is_the_declared_one_and_not_judged if {
	count(demo_scale.deny) == 0 with input.agent as agent with input.observed as observed(2000, "estimate", "0.0009")
}

test_no_observation_is_not_judged if {
	count(demo_scale.deny) == 0 with input.agent as agent
}
