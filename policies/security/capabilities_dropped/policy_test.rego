package golive.security.capabilities_dropped_test

import rego.v1

import data.golive.security.capabilities_dropped

agent(pod) := {"spec": {"template": {"spec": pod}}}

fields(pod) := found if {
	found := {v.field | some v in capabilities_dropped.deny} with input.agent as agent(pod)
}

container(capabilities) := {"name": "agent", "securityContext": {"capabilities": capabilities}}

test_drop_all_allowed if {
	fields({"containers": [container({"drop": ["ALL"]})]}) == set()
}

test_drop_all_lowercase_and_net_bind_service_allowed if {
	fields({"containers": [container({"drop": ["all"], "add": ["NET_BIND_SERVICE"]})]}) == set()
}

test_nothing_dropped_denied_with_message if {
	violations := capabilities_dropped.deny with input.agent as agent({"containers": [{"name": "agent"}]})
	some v in violations
	v.field == "spec.template.spec.containers[0].securityContext.capabilities.drop"
	v.msg == concat("", [
		`container "agent" keeps the runtime's default Linux capabilities (drop is []);`,
		" set securityContext.capabilities.drop: [ALL]",
	])
	count(violations) == 1
}

test_dropping_some_is_not_all if {
	fields({"containers": [container({"drop": ["NET_RAW", "SYS_ADMIN"]})]}) == {
		"spec.template.spec.containers[0].securityContext.capabilities.drop",
	}
}

test_added_capability_denied if {
	violations := capabilities_dropped.deny with input.agent as agent({"containers": [
		container({"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_ADMIN"]}),
	]})
	{v.field | some v in violations} == {"spec.template.spec.containers[0].securityContext.capabilities.add[1]"}
	some v in violations
	contains(v.msg, "adds the capability SYS_ADMIN; an agent may add back only NET_BIND_SERVICE")
}

test_init_and_ephemeral_containers_are_checked if {
	pod := {
		"containers": [container({"drop": ["ALL"]})],
		"initContainers": [{"name": "migrate", "securityContext": {"capabilities": {"drop": "ALL"}}}],
		"ephemeralContainers": [{"name": "debug", "securityContext": {"capabilities": {
			"drop": ["ALL"],
			"add": ["SYS_PTRACE"],
		}}}],
	}
	fields(pod) == {
		"spec.template.spec.initContainers[0].securityContext.capabilities.drop",
		"spec.template.spec.ephemeralContainers[0].securityContext.capabilities.add[0]",
	}
}

test_windows_pods_need_not_drop if {
	fields({"os": {"name": "windows"}, "containers": [{"name": "agent"}]}) == set()
}
