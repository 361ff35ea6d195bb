# METADATA
# title: Declared alerts are loaded by Prometheus
# description: >-
#   Each alert named in spec.monitoring.alerts is an alerting rule that the Prometheus golive
#   reads has loaded (/api/v1/rules). A PrometheusRule that no Prometheus selects passes
#   alerts_exist but can never fire. Needs golive run --prometheus-url.
# custom:
#   enforcement: deny
#   severity: medium
#   checklist: monitoring
package golive.observability.alerts_loaded

import rego.v1

import data.golive.lib.observed

deny contains violation if {
	observed.present
	some [i, alert] in observed.declared_alerts
	object.get(observed.observed, ["alerts", alert, "loaded"], false) == false
	violation := {
		"field": sprintf("spec.monitoring.alerts[%d]", [i]),
		"msg": concat("", [
			`alert "`, alert, `" is not loaded by the Prometheus golive reads, so it can never fire; `,
			"make its PrometheusRule match the Prometheus' ruleSelector and ruleNamespaceSelector ",
			"(or its rule_files)",
		]),
	}
}
