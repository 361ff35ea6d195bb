package golive.security.resources_set_test

import rego.v1

import data.golive.security.resources_set

agent(pod) := {"spec": {"template": {"spec": pod}}}

fields(pod) := found if {
	found := {v.field | some v in resources_set.deny} with input.agent as agent(pod)
}

sized := {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}

test_requests_and_memory_limit_allowed if {
	fields({"containers": [{"name": "agent", "resources": sized}]}) == set()
}

test_no_resources_denied_with_message if {
	violations := resources_set.deny with input.agent as agent({"containers": [{"name": "agent"}]})
	some v in violations
	v.field == "spec.template.spec.containers[0].resources"
	v.msg == concat("", [
		`container "agent" sets no requests.cpu, requests.memory, limits.memory; set requests.cpu and`,
		" requests.memory (what its pods reserve and cost) and limits.memory",
	])
	count(violations) == 1
}

test_requests_without_limits_denied if {
	violations := resources_set.deny with input.agent as agent({"containers": [
		{"name": "agent", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
	]})
	some v in violations
	contains(v.msg, `container "agent" sets no limits.memory;`)
}

test_init_containers_checked_ephemeral_not if {
	pod := {
		"containers": [{"name": "agent", "resources": sized}],
		"initContainers": [{"name": "migrate", "resources": {"limits": {"memory": "64Mi"}}}],
		"ephemeralContainers": [{"name": "debug"}],
	}
	fields(pod) == {"spec.template.spec.initContainers[0].resources"}
}
