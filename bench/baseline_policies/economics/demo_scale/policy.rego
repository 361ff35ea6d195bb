# METADATA
# title: The cost model was not built on demo-scale numbers
# description: >-
#   The traffic and cost per request the Prometheus golive reads observes stay near what the
#   budget declares: observed requests per day at most requestsFactor times
#   spec.budget.expectedDailyRequests, and the observed cost per request (from the agent's cost
#   counter) at most costFactor times the declared one. Needs golive run --prometheus-url.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: budget
#   requestsFactor: 10
#   costFactor: 2
package golive.economics.demo_scale

import rego.v1

import data.golive.lib.observed

requests_factor := observed.number_parameter(rego.metadata.chain(), "requestsFactor", 10)

cost_factor := observed.number_parameter(rego.metadata.chain(), "costFactor", 2)

budget := object.get(input, ["agent", "spec", "budget"], {})

deny contains violation if {
	observed.present
	seen := observed.observed.requestsPerDay
	is_number(seen)
	expected := object.get(budget, "expectedDailyRequests", null)
	is_number(expected)
	seen > requests_factor * expected
	violation := {
		"field": "spec.budget.expectedDailyRequests",
		"msg": concat("", [
			sprintf("observed %v requests/day, more than %v times the declared %v: ", [seen, requests_factor, expected]),
			"the cost model was built on demo-scale numbers; declare the real volume and check the budget ",
			"at 10x and 100x of it",
		]),
	}
}

deny contains violation if {
	observed.present
	observed.observed.costSource == "counter"
	seen := observed.observed.costPerRequest
	declared := observed.budget.declaredCostPerRequest
	is_string(seen)
	is_string(declared)
	to_number(declared) > 0
	to_number(seen) > cost_factor * to_number(declared)
	violation := {
		"field": "spec.budget.costPerRequest",
		"msg": concat("", [
			sprintf("observed cost per request %v, more than %v times the declared %v ", [seen, cost_factor, declared]),
			"(models included): the cost model was built on demo-scale numbers",
		]),
	}
}
