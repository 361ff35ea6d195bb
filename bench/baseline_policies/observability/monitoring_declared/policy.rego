# METADATA
# title: Monitoring is declared
# description: spec.monitoring exposes metrics, names at least one alert and links an https dashboard.
# custom:
#   enforcement: deny
#   severity: medium
#   checklist: monitoring
package golive.observability.monitoring_declared

import rego.v1

import data.golive.lib.fields

monitoring := object.get(input, ["agent", "spec", "monitoring"], null)

url_pattern := `^https://[^/\s]+\.[^/\s]+(/\S*)?$`

deny contains violation if {
	not is_object(monitoring)
	violation := {
		"field": "spec.monitoring",
		"msg": "no monitoring declared; declare metricsPath, at least one alert and an https dashboard",
	}
}

deny contains violation if {
	is_object(monitoring)
	path := object.get(monitoring, "metricsPath", "")
	not valid_path(path)
	violation := {
		"field": "spec.monitoring.metricsPath",
		"msg": concat("", [`metricsPath "`, fields.text(path), `" is not an absolute path; expected e.g. /metrics`]),
	}
}

deny contains violation if {
	is_object(monitoring)
	count(alerts) == 0
	violation := {
		"field": "spec.monitoring.alerts",
		"msg": "no alert declared; name at least one alert that pages a person when the agent misbehaves",
	}
}

deny contains violation if {
	is_object(monitoring)
	dashboard := object.get(monitoring, "dashboard", "")
	not valid_url(dashboard)
	violation := {
		"field": "spec.monitoring.dashboard",
		"msg": concat("", [
			`dashboard "`, fields.text(dashboard),
			`" is not an https URL; expected e.g. https://grafana.example.com/d/agent`,
		]),
	}
}

# alerts is the set of non-blank alert names.
alerts := {alert | some alert in declared_alerts; not fields.blank(alert)} if is_array(declared_alerts)

else := set()

declared_alerts := object.get(input, ["agent", "spec", "monitoring", "alerts"], [])

valid_path(path) if {
	not fields.blank(path)
	startswith(path, "/")
}

valid_url(url) if {
	is_string(url)
	regex.match(url_pattern, url)
}
