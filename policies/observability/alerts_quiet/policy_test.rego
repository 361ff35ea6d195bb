package golive.observability.alerts_quiet_test

import rego.v1

import data.golive.observability.alerts_quiet

agent := {"metadata": {"name": "invoice-triage"}, "spec": {"monitoring": {"alerts": ["ErrorRate"]}}}

observed(new, state) := {
	"generation": 2, "newGeneration": new,
	"alerts": {"ErrorRate": {"loaded": true, "state": state}},
}

test_a_new_generation_while_firing_denied if {
	violations := alerts_quiet.deny with input.agent as agent with input.observed as observed(true, "firing")
	count(violations) == 1
	some v in violations
	v.field == "spec.monitoring.alerts[0]"
	v.msg == concat("", [
		`alert "ErrorRate" is firing: generation 2 is not rolled out until it resolves (the running `,
		"generation keeps running); for a hotfix, an AgentException may waive golive.observability.alerts_quiet",
	])
}

test_the_running_generation_is_not_judged if {
	count(alerts_quiet.deny) == 0 with input.agent as agent with input.observed as observed(false, "firing")
}

test_pending_or_inactive_allowed if {
	count(alerts_quiet.deny) == 0 with input.agent as agent with input.observed as observed(true, "pending")
	count(alerts_quiet.deny) == 0 with input.agent as agent with input.observed as observed(true, "inactive")
}

test_no_observation_is_not_judged if {
	count(alerts_quiet.deny) == 0 with input.agent as agent
}
