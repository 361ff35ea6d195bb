package golive.governance.review_cadence_test

import rego.v1

import data.golive.governance.review_cadence

agent(governance) := {
	"metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
	"spec": {"governance": governance},
}

test_declared_cadences_allowed if {
	every cadence in ["weekly", "monthly", "quarterly"] {
		count(review_cadence.deny) == 0 with input.agent as agent({"regulated": false, "reviewCadence": cadence})
	}
}

test_missing_cadence_warned if {
	violations := review_cadence.deny with input.agent as agent({"regulated": false})
	some v in violations
	v.field == "spec.governance.reviewCadence"
	v.msg == "no reviewCadence declared; declare weekly, monthly or quarterly"
	count(violations) == 1
}

test_missing_governance_warned if {
	violations := review_cadence.deny with input.agent as {"metadata": {"name": "a"}, "spec": {}}
	some v in violations
	v.field == "spec.governance.reviewCadence"
}

test_unknown_cadence_warned if {
	violations := review_cadence.deny with input.agent as agent({"reviewCadence": "yearly"})
	some v in violations
	v.field == "spec.governance.reviewCadence"
	contains(v.msg, `reviewCadence "yearly" is unknown`)
}
