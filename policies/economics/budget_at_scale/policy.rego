# METADATA
# title: Budget holds at 100x the expected volume
# description: >-
#   spec.budget is declared and the monthly cost at 100 times the expected daily requests
#   stays within monthlyLimit.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: budget
package golive.economics.budget_at_scale

import rego.v1

import data.golive.lib.fields

# The arithmetic is done in exact decimals in Python (controller/domain/cost.py) and handed over
# in input.cost as decimal strings and booleans; this policy only reads those facts.
cost := object.get(input, "cost", {})

declared if cost.declared == true

within_100x if cost.within100x == true

deny contains violation if {
	not declared
	violation := {
		"field": "spec.budget",
		"msg": "no complete budget declared; declare currency, monthlyLimit, costPerRequest and expectedDailyRequests",
	}
}

deny contains violation if {
	declared
	not within_100x
	violation := {
		"field": "spec.budget.monthlyLimit",
		"msg": concat("", [
			"at 100x the expected daily requests the agent costs ", figure("monthly100x"),
			" a month (", figure("monthly1x"), " at 1x), above monthlyLimit ", figure("monthlyLimit"),
			"; raise monthlyLimit or lower costPerRequest",
		]),
	}
}

# figure(key) is an amount from input.cost with its currency, e.g. "2400.00 USD".
figure(key) := concat(" ", [
	fields.text(object.get(cost, key, "unknown")),
	fields.text(object.get(cost, "currency", "")),
])
