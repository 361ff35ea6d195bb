package golive.observability.monitoring_declared_test

import rego.v1

import data.golive.observability.monitoring_declared

monitoring := {
	"metricsPath": "/metrics",
	"dashboard": "https://grafana.example.com/d/invoice",
	"alerts": ["InvoiceTriageErrorRate"],
}

agent(config) := {"metadata": {"name": "invoice-triage", "namespace": "finance-agents"}, "spec": {"monitoring": config}}

# denied(changes) is the set of fields denied for the monitoring above with these changes.
denied(changes) := fields if {
	fields := {v.field | some v in monitoring_declared.deny} with input.agent as agent(object.union(monitoring, changes))
}

test_monitoring_allowed if {
	count(monitoring_declared.deny) == 0 with input.agent as agent(monitoring)
}

test_missing_monitoring_denied if {
	violations := monitoring_declared.deny with input.agent as {"metadata": {"name": "a"}, "spec": {}}
	some v in violations
	v.field == "spec.monitoring"
	count(violations) == 1
}

test_relative_metrics_path_denied if {
	violations := monitoring_declared.deny with input.agent as agent(object.union(monitoring, {"metricsPath": "metrics"}))
	some v in violations
	v.field == "spec.monitoring.metricsPath"
	v.msg == `metricsPath "metrics" is not an absolute path; expected e.g. /metrics`
	count(violations) == 1
}

test_missing_metrics_path_denied if {
	violations := monitoring_declared.deny with input.agent as agent(object.remove(monitoring, ["metricsPath"]))
	{v.field | some v in violations} == {"spec.monitoring.metricsPath"}
}

test_no_alert_denied if {
	denied({"alerts": []}) == {"spec.monitoring.alerts"}
	denied({"alerts": [""]}) == {"spec.monitoring.alerts"}
	denied({"alerts": "InvoiceTriageErrorRate"}) == {"spec.monitoring.alerts"}
}

test_missing_alerts_denied if {
	violations := monitoring_declared.deny with input.agent as agent(object.remove(monitoring, ["alerts"]))
	{v.field | some v in violations} == {"spec.monitoring.alerts"}
}

test_plain_http_dashboard_denied if {
	plain_http := object.union(monitoring, {"dashboard": "http://grafana.example.com/d/invoice"})
	violations := monitoring_declared.deny with input.agent as agent(plain_http)
	some v in violations
	v.field == "spec.monitoring.dashboard"
	contains(v.msg, "is not an https URL")
	count(violations) == 1
}

test_not_a_url_dashboard_denied if {
	denied({"dashboard": "grafana invoice board"}) == {"spec.monitoring.dashboard"}
	denied({"dashboard": "https://"}) == {"spec.monitoring.dashboard"}
}

test_missing_dashboard_denied if {
	violations := monitoring_declared.deny with input.agent as agent(object.remove(monitoring, ["dashboard"]))
	{v.field | some v in violations} == {"spec.monitoring.dashboard"}
}
