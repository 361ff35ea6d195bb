package golive.observability.alerts_loaded_test

import rego.v1

import data.golive.observability.alerts_loaded

agent := {"metadata": {"name": "invoice-triage"}, "spec": {"monitoring": {"alerts": ["ErrorRate", "Latency"]}}}

test_every_alert_loaded_allowed if {
	count(alerts_loaded.deny) == 0 with input.agent as agent
		with input.observed as {"alerts": {
			"ErrorRate": {"loaded": true, "state": "inactive"},
			"Latency": {"loaded": true, "state": "firing"},
		}}
}

test_an_alert_not_loaded_denied_naming_it if {
	violations := alerts_loaded.deny with input.agent as agent
		with input.observed as {"alerts": {
			"ErrorRate": {"loaded": true, "state": "inactive"},
			"Latency": {"loaded": false, "state": "inactive"},
		}}
	count(violations) == 1
	some v in violations
	v.field == "spec.monitoring.alerts[1]"
	startswith(v.msg, `alert "Latency" is not loaded by the Prometheus golive reads`)
}

test_an_alert_missing_from_the_observation_is_not_loaded if {
	violations := alerts_loaded.deny with input.agent as agent with input.observed as {"alerts": {}}
	{v.field | some v in violations} == {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"}
}

test_no_observation_is_not_judged if {
	count(alerts_loaded.deny) == 0 with input.agent as agent
}
