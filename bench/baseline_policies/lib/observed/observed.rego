# Helpers for the policies that judge what a Prometheus observes of a running agent
# (input.observed, built by golive from Prometheus' HTTP API; absent when there is no
# Prometheus or it could not be read, and then golive reports these policies as skipped).
# No deny rules.
package golive.lib.observed

import rego.v1

# present is true when golive could read a Prometheus for this decision.
present if is_object(input.observed)

observed := object.get(input, "observed", {})

budget := object.get(observed, "budget", {})

# declared_alerts lists spec.monitoring.alerts with their index: [[i, name], ...].
declared_alerts := [[i, alert] |
	alerts := object.get(input, ["agent", "spec", "monitoring", "alerts"], [])
	is_array(alerts)
	some i, alert in alerts
	is_string(alert)
]

# alert_state(name) is the state Prometheus gives the declared alert: inactive, pending or firing.
alert_state(name) := object.get(observed, ["alerts", name, "state"], "inactive")

# number_parameter(chain, key, fallback) is custom.<key> of the package annotations in chain
# (a policy passes its rego.metadata.chain()) when it is a number > 0, else fallback.
number_parameter(chain, key, fallback) := value if {
	some entry in chain
	entry.annotations.scope == "package"
	value := entry.annotations.custom[key]
	is_number(value)
	value > 0
} else := fallback

# generation names the generation a message speaks of (golive check sees files: no generation).
generation := sprintf("generation %d", [observed.generation]) if is_number(observed.generation)

else := "this generation"
