# METADATA
# title: The observed spend fits the budget
# description: >-
#   The monthly run-rate the Prometheus golive reads observes (the agent's cost counter, else
#   its observed requests times the declared cost per request; a month is 30 days) stays within
#   spec.budget.monthlyLimit. Over it, no new generation rolls out (the running one keeps
#   running). Needs golive run --prometheus-url.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: budget
package golive.economics.observed_budget

import rego.v1

import data.golive.lib.observed

deny contains violation if {
	observed.present
	observed.observed.newGeneration == true
	observed.budget.withinLimit == false
	violation := {
		"field": "spec.budget.monthlyLimit",
		"msg": concat("", [
			"the observed monthly run-rate is ", observed.budget.monthlyRunRate, " ",
			object.get(observed.budget, "currency", ""), " (", object.get(observed.observed, "costSource", ""),
			sprintf(", %v requests/day", [object.get(observed.observed, "requestsPerDay", 0)]),
			"), over the monthly limit of ", observed.budget.monthlyLimit, "; ", observed.generation,
			" is not rolled out until the spend fits or the limit is raised",
		]),
	}
}
