# METADATA
# title: Declared alerts exist as alerting rules
# description: >-
#   Each alert named in spec.monitoring.alerts is defined as an alerting rule
#   (spec.groups[].rules[].alert of a Prometheus Operator PrometheusRule) in the namespace where
#   golive looks for alerting rules. Checked by the reconcile gate and by golive check with rule
#   files; deferred at admission; reported as skipped where there is no PrometheusRule to read.
# custom:
#   enforcement: deny
#   severity: medium
#   checklist: monitoring
package golive.observability.alerts_exist

import rego.v1

import data.golive.lib.fields

resolution := object.get(input, ["alertRules", "resolution"], "")

# resolved: looked up (reconcile gate; golive check given PrometheusRule files).
# skipped: admission; the PrometheusRules are other objects, checked by the reconcile gate.
# unavailable: no PrometheusRule CRD in the cluster, no rule files given (golive reports the
# check as skipped; there is nothing to judge here).
known_resolutions := {"resolved", "skipped", "unavailable"}

namespace := object.get(input, ["alertRules", "namespace"], "")

found := object.get(input, ["alertRules", "found"], {})

rejected := object.get(input, ["alertRules", "rejected"], [])

declared := object.get(input, ["agent", "spec", "monitoring", "alerts"], [])

deny contains violation if {
	resolution == "resolved"
	is_array(declared)
	some i, alert in declared
	not fields.blank(alert)
	not defined(alert)
	violation := {
		"field": sprintf("spec.monitoring.alerts[%d]", [i]),
		"msg": concat("", [
			`alert "`, alert, `" is not defined by any PrometheusRule in namespace "`,
			fields.text(namespace), `"; add an alerting rule (spec.groups[].rules[].alert: `,
			alert, `) where Prometheus reads it, or the alert can never fire`,
			concat("", rejected_notes(alert)),
		]),
	}
}

deny contains violation if {
	not resolution in known_resolutions
	violation := {
		"field": "spec.monitoring.alerts",
		"msg": concat("", [
			`alert rule resolution "`, fields.text(resolution),
			`" is unknown; expected resolved, skipped or unavailable`,
		]),
	}
}

# defined(alert) is true when some accepted PrometheusRule has an alerting rule of that name.
defined(alert) if count(object.get(found, alert, [])) > 0

# rejected_notes(alert) explains the PrometheusRules that might have defined the alert but are
# rejected (the Prometheus Operator skips a whole object with any invalid rule).
rejected_notes(alert) := [note |
	some r in rejected
	mentions(r, alert)
	note := concat("", [
		`; PrometheusRule "`, fields.text(object.get(r, "prometheusRule", "")),
		`" is malformed and defines no alert (the Prometheus Operator rejects it): `,
		fields.text(object.get(r, "error", "")),
	])
]

mentions(r, alert) if alert in object.get(r, "alerts", [])

mentions(r, _) if count(object.get(r, "alerts", [])) == 0
