# METADATA
# title: The observed spend would fit the budget at 10x
# description: >-
#   At ten times the traffic the Prometheus golive reads observes, the monthly run-rate would
#   still fit spec.budget.monthlyLimit: the budget is checked against production, not only
#   against the declared numbers. Needs golive run --prometheus-url.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: budget
package golive.economics.observed_budget_at_scale

import rego.v1

import data.golive.lib.observed

deny contains violation if {
	observed.present
	observed.budget.within10x == false
	violation := {
		"field": "spec.budget.monthlyLimit",
		"msg": concat("", [
			"at 10x the observed traffic the monthly run-rate would be ", observed.budget.monthlyRunRate10x,
			" ", object.get(observed.budget, "currency", ""), " (observed ", observed.budget.monthlyRunRate,
			"), over the monthly limit of ", observed.budget.monthlyLimit,
		]),
	}
}
