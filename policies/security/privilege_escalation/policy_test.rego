package golive.security.privilege_escalation_test

import rego.v1

import data.golive.security.privilege_escalation

agent(pod) := {"spec": {"template": {"spec": pod}}}

fields(pod) := found if {
	found := {v.field | some v in privilege_escalation.deny} with input.agent as agent(pod)
}

locked := {"allowPrivilegeEscalation": false}

test_escalation_off_allowed if {
	fields({"containers": [{"name": "agent", "securityContext": locked}]}) == set()
}

test_escalation_not_set_denied_with_message if {
	violations := privilege_escalation.deny with input.agent as agent({"containers": [{"name": "agent"}]})
	some v in violations
	v.field == "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation"
	v.msg == concat("", [
		`container "agent" may gain more privileges than its process started with`,
		" (allowPrivilegeEscalation is not set); set allowPrivilegeEscalation: false in its securityContext",
	])
}

test_escalation_true_denied if {
	fields({"containers": [{"name": "agent", "securityContext": {"allowPrivilegeEscalation": true}}]}) == {
		"spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
	}
}

test_privileged_denied_even_with_escalation_off if {
	pod := {"containers": [{"name": "agent", "securityContext": {"allowPrivilegeEscalation": false, "privileged": true}}]}
	fields(pod) == {"spec.template.spec.containers[0].securityContext.privileged"}
}

test_init_and_ephemeral_containers_are_checked if {
	pod := {
		"containers": [{"name": "agent", "securityContext": locked}],
		"initContainers": [{"name": "migrate", "securityContext": {"allowPrivilegeEscalation": false, "privileged": true}}],
		"ephemeralContainers": [{"name": "debug"}],
	}
	fields(pod) == {
		"spec.template.spec.initContainers[0].securityContext.privileged",
		"spec.template.spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation",
	}
}

test_windows_pods_are_exempt_from_escalation_not_from_privileged if {
	pod := {"os": {"name": "windows"}, "containers": [{"name": "agent", "securityContext": {"privileged": true}}]}
	fields(pod) == {"spec.template.spec.containers[0].securityContext.privileged"}
}
