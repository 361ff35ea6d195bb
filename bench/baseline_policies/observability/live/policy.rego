# METADATA
# title: Monitoring is live from day one
# description: >-
#   An agent whose rollout completed more than graceMinutes ago is scraped by the Prometheus
#   golive reads: some target labelled with the agent (the series labels agent and namespace,
#   from the pod label golive.dev/agent) is up. Needs golive run --prometheus-url.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: monitoring
#   graceMinutes: 10
package golive.observability.live

import rego.v1

import data.golive.lib.observed

grace_minutes := observed.number_parameter(rego.metadata.chain(), "graceMinutes", 10)

deny contains violation if {
	observed.present
	observed.observed.scraped == false
	rolled_out := observed.observed.rolledOutAt
	is_string(rolled_out)
	time.parse_rfc3339_ns(rolled_out) + ((grace_minutes * 60) * 1000000000) <= time.now_ns()
	violation := {
		"field": "spec.monitoring.metricsPath",
		"msg": concat("", [
			"no Prometheus scrapes this agent: it rolled out at ", rolled_out,
			sprintf(" (more than %v minutes ago) and no target labelled agent=", [grace_minutes]),
			object.get(input, ["agent", "metadata", "name"], ""), " is up; scrape its pods' ",
			object.get(input, ["agent", "spec", "monitoring", "metricsPath"], "/metrics"),
			" (pod label golive.dev/agent -> series label agent, see docs/observed.md)",
		]),
	}
}
