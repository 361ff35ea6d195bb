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

# Problems Python found in spec.models (a negative or missing cost, a cost on a rules layer, ...)
# are reported each at its own field: a malformed model is never projected as free.
problems := [p | some p in object.get(cost, "problems", []); is_object(p)]

model_problems := [p | some p in problems; startswith(fields.text(object.get(p, "field", "")), "spec.models")]

# The budget itself is incomplete: a problem outside spec.models, or no reason given at all.
budget_incomplete if {
	not declared
	count(model_problems) < count(problems)
}

budget_incomplete if {
	not declared
	count(model_problems) == 0
}

deny contains violation if {
	budget_incomplete
	violation := {
		"field": "spec.budget",
		"msg": concat("", ["no complete budget declared; declare ", wanted]),
	}
}

deny contains violation if {
	some problem in model_problems
	violation := {
		"field": problem.field,
		"msg": concat("", [
			fields.text(object.get(problem, "msg", "")),
			"; the monthly cost at 1x, 10x and 100x cannot be projected until it is fixed",
		]),
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
			remedy,
		]),
	}
}

# figure(key) is an amount from input.cost with its currency, e.g. "2400.00 USD".
figure(key) := concat(" ", [
	fields.text(object.get(cost, key, "unknown")),
	fields.text(object.get(cost, "currency", "")),
])

has_models if {
	declared_models := object.get(input, ["agent", "spec", "models"], [])
	is_array(declared_models)
	count(declared_models) > 0
}

wanted := "currency, monthlyLimit and expectedDailyRequests (spec.models gives the cost per request)" if has_models

else := "currency, monthlyLimit, costPerRequest and expectedDailyRequests"

# With spec.models, the remedy shows each model's share at 100x (exact figures from Python).
model_shares := [concat("", [
	fields.text(object.get(m, "name", "")), " (", fields.text(object.get(m, "role", "")), ") ",
	fields.text(object.get(m, "monthly100x", "")), " ", fields.text(object.get(cost, "currency", "")),
]) |
	some m in object.get(cost, "models", [])
	is_object(m)
]

remedy := concat("", [
	"; raise monthlyLimit or lower the cost per request (spec.budget.costPerRequest plus the models'; at 100x ",
	concat(", ", model_shares), ")",
]) if count(model_shares) > 0

else := "; raise monthlyLimit or lower costPerRequest"
