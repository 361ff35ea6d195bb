package golive.podsecurity.valid_test

import rego.v1

import data.golive.podsecurity.valid

agent(pod) := {"metadata": {"name": "a", "namespace": "agents"}, "spec": {"template": {"spec": pod}}}

fields(pod) := {v.field | some v in valid.deny with input.agent as agent(pod)}

test_well_typed_settings_pass if {
	fields({
		"hostNetwork": false,
		"securityContext": {"runAsUser": 10001, "seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}},
		"containers": [{"name": "agent", "securityContext": {"privileged": false, "procMount": "Default"}}],
	}) == set()
}

test_negative_user_denied_with_message if {
	violations := valid.deny with input.agent as agent({"securityContext": {"runAsUser": -1}, "containers": []})
	violations == {{
		"field": "spec.template.spec.securityContext.runAsUser",
		"msg": "spec.template.spec.securityContext.runAsUser is -1; Kubernetes expects a user id from 0 to 2147483647",
	}}
}

test_unknown_profile_types_denied if {
	fields({
		"securityContext": {"seccompProfile": {"type": "Strict"}, "appArmorProfile": {"type": "unconfined"}},
		"containers": [{"name": "agent", "securityContext": {"procMount": "Masked"}}],
	}) == {
		"spec.template.spec.securityContext.seccompProfile.type",
		"spec.template.spec.securityContext.appArmorProfile.type",
		"spec.template.spec.containers[0].securityContext.procMount",
	}
}

test_wrong_types_denied if {
	fields({
		"hostPID": "yes",
		"securityContext": {"runAsUser": "0", "sysctls": "kernel.msgmax=1"},
		"containers": [
			{"name": "a", "securityContext": {"privileged": "true", "capabilities": {"add": "SYS_ADMIN"}}},
			{"name": "b", "securityContext": "restricted", "ports": [{"containerPort": 80, "hostPort": 1.5}]},
		],
	}) == {
		"spec.template.spec.hostPID",
		"spec.template.spec.securityContext.runAsUser",
		"spec.template.spec.securityContext.sysctls",
		"spec.template.spec.containers[0].securityContext.privileged",
		"spec.template.spec.containers[0].securityContext.capabilities.add",
		"spec.template.spec.containers[1].securityContext",
		"spec.template.spec.containers[1].ports[0].hostPort",
	}
}

test_container_lists_and_containers_of_the_wrong_type_denied if {
	pod := {"containers": [{"name": "agent", "ports": "80"}], "initContainers": "migrate", "ephemeralContainers": [7]}
	fields(pod) == {
		"spec.template.spec.containers[0].ports",
		"spec.template.spec.initContainers",
		"spec.template.spec.ephemeralContainers[0]",
	}
}
