package golive.observability.alerts_exist_test

import rego.v1

import data.golive.observability.alerts_exist

agent(alerts) := {
	"metadata": {"name": "invoice-triage", "namespace": "agents"},
	"spec": {"monitoring": {"alerts": alerts}},
}

rules(found) := {"resolution": "resolved", "namespace": "agents", "found": found, "rejected": [], "reason": ""}

error_rate := {"InvoiceTriageErrorRate": [{"prometheusRule": "invoice-triage-alerts", "group": "invoice-triage"}]}

test_every_alert_defined_allowed if {
	count(alerts_exist.deny) == 0 with input.agent as agent(["InvoiceTriageErrorRate"])
		with input.alertRules as rules(error_rate)
}

test_missing_alert_denied_naming_it if {
	violations := alerts_exist.deny with input.agent as agent(["InvoiceTriageErrorRate", "InvoiceTriageLatencyP99"])
		with input.alertRules as rules(error_rate)
	count(violations) == 1
	some v in violations
	v.field == "spec.monitoring.alerts[1]"
	v.msg == concat("", [
		`alert "InvoiceTriageLatencyP99" is not defined by any PrometheusRule in namespace "agents"; `,
		"add an alerting rule (spec.groups[].rules[].alert: InvoiceTriageLatencyP99) where Prometheus ",
		"reads it, or the alert can never fire",
	])
}

test_no_rule_at_all_denies_every_alert if {
	violations := alerts_exist.deny with input.agent as agent(["A", "B"]) with input.alertRules as rules({})
	{v.field | some v in violations} == {"spec.monitoring.alerts[0]", "spec.monitoring.alerts[1]"}
}

test_an_empty_location_list_is_not_a_definition if {
	violations := alerts_exist.deny with input.agent as agent(["A"]) with input.alertRules as rules({"A": []})
	count(violations) == 1
}

test_rejected_rule_naming_the_alert_is_explained if {
	bad := {
		"prometheusRule": "broken",
		"error": "spec.groups[0].rules[0].expr: expected a PromQL expression, found nothing (the field is missing)",
		"alerts": ["A"],
	}
	other := {"prometheusRule": "unrelated", "error": "spec.groups[0].rules[1]: expected ...", "alerts": ["Z"]}
	resolved := object.union(rules({}), {"rejected": [bad, other]})
	violations := alerts_exist.deny with input.agent as agent(["A"]) with input.alertRules as resolved
	some v in violations
	contains(v.msg, `PrometheusRule "broken" is malformed and defines no alert`)
	contains(v.msg, "spec.groups[0].rules[0].expr: expected a PromQL expression")
	not contains(v.msg, "unrelated")
}

test_unreadable_rejected_rule_is_named_for_every_missing_alert if {
	unreadable := {
		"prometheusRule": "garbled",
		"error": "spec.groups: expected an array of rule groups, found an object",
		"alerts": [],
	}
	resolved := object.union(rules({}), {"rejected": [unreadable]})
	violations := alerts_exist.deny with input.agent as agent(["A"]) with input.alertRules as resolved
	some v in violations
	contains(v.msg, `PrometheusRule "garbled" is malformed`)
}

test_deferred_and_unavailable_judge_nothing if {
	count(alerts_exist.deny) == 0 with input.agent as agent(["A"]) with input.alertRules as {"resolution": "skipped"}
	count(alerts_exist.deny) == 0 with input.agent as agent(["A"])
		with input.alertRules as {"resolution": "unavailable", "reason": "no PrometheusRule CRD"}
}

test_blank_and_non_string_alerts_are_left_to_monitoring_declared if {
	count(alerts_exist.deny) == 0 with input.agent as agent(["", "  ", 3, null]) with input.alertRules as rules({})
	count(alerts_exist.deny) == 0 with input.agent as agent("A") with input.alertRules as rules({})
	count(alerts_exist.deny) == 0 with input.agent as {"spec": {}} with input.alertRules as rules({})
}

test_unknown_resolution_denied if {
	violations := alerts_exist.deny with input.agent as agent(["A"]) with input.alertRules as {"resolution": "maybe"}
	{v.field | some v in violations} == {"spec.monitoring.alerts"}
	violations_missing := alerts_exist.deny with input.agent as agent(["A"]) with input.alertRules as {}
	count(violations_missing) == 1
}

test_namespace_is_named if {
	platform := object.union(rules({}), {"namespace": "monitoring"})
	violations := alerts_exist.deny with input.agent as agent(["A"]) with input.alertRules as platform
	some v in violations
	contains(v.msg, `in namespace "monitoring"`)
}
