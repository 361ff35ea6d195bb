# METADATA
# title: No rollout while a declared alert fires
# description: >-
#   A new generation is not rolled out while one of the agent's declared alerts is firing in
#   the Prometheus golive reads, as an error-budget policy freezes releases: the running
#   generation keeps running, and the rollout starts by itself when the alert resolves. The
#   hotfix path is an AgentException waiving golive.observability.alerts_quiet.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: monitoring
package golive.observability.alerts_quiet

import rego.v1

import data.golive.lib.observed

deny contains violation if {
	observed.present
	observed.observed.newGeneration == true
	some [i, alert] in observed.declared_alerts
	observed.alert_state(alert) == "firing"
	violation := {
		"field": sprintf("spec.monitoring.alerts[%d]", [i]),
		"msg": concat("", [
			`alert "`, alert, `" is firing: `, observed.generation,
			" is not rolled out until it resolves (the running generation keeps running); ",
			"for a hotfix, an AgentException may waive golive.observability.alerts_quiet",
		]),
	}
}
