# METADATA
# title: A review cadence is declared
# description: spec.governance.reviewCadence says how often the agent's go-live checklist is reviewed.
# custom:
#   enforcement: warn
#   severity: low
#   checklist: review
package golive.governance.review_cadence

import rego.v1

import data.golive.lib.fields

cadence := object.get(input, ["agent", "spec", "governance", "reviewCadence"], "")

cadences := {"weekly", "monthly", "quarterly"}

deny contains violation if {
	fields.blank(cadence)
	violation := {
		"field": "spec.governance.reviewCadence",
		"msg": "no reviewCadence declared; declare weekly, monthly or quarterly",
	}
}

deny contains violation if {
	not fields.blank(cadence)
	not cadence in cadences
	violation := {
		"field": "spec.governance.reviewCadence",
		"msg": concat("", [`reviewCadence "`, cadence, `" is unknown; expected weekly, monthly or quarterly`]),
	}
}
