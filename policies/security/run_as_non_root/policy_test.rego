package golive.security.run_as_non_root_test

import rego.v1

import data.golive.security.run_as_non_root

hardened := {
	"securityContext": {"runAsNonRoot": true, "runAsUser": 10001},
	"containers": [{"name": "agent", "image": "registry.example.com/agents/x:1.0"}],
}

agent(pod) := {"spec": {"template": {"spec": pod}}}

fields(pod) := found if {
	found := {v.field | some v in run_as_non_root.deny} with input.agent as agent(pod)
}

test_pod_level_non_root_allowed if {
	fields(hardened) == set()
}

test_container_level_non_root_allowed if {
	fields({"containers": [
		{"name": "agent", "securityContext": {"runAsNonRoot": true}},
		{"name": "sidecar", "securityContext": {"runAsNonRoot": true, "runAsUser": 1000}},
	]}) == set()
}

test_nothing_set_denied_per_container_with_message if {
	violations := run_as_non_root.deny with input.agent as agent({"containers": [{"name": "agent"}]})
	some v in violations
	v.field == "spec.template.spec.containers[0].securityContext.runAsNonRoot"
	v.msg == concat("", [
		`container "agent" may run as root: runAsNonRoot is not set; set runAsNonRoot: true in`,
		" spec.template.spec.securityContext (for every container) or in its securityContext,",
		" and run the image as a non-zero user",
	])
	count(violations) == 1
}

test_container_overrides_pod_with_false_denied if {
	pod := object.union(hardened, {"containers": [
		{"name": "agent"},
		{"name": "sidecar", "securityContext": {"runAsNonRoot": false}},
	]})
	fields(pod) == {"spec.template.spec.containers[1].securityContext.runAsNonRoot"}
}

test_pod_sets_false_denied if {
	pod := {
		"securityContext": {"runAsNonRoot": false},
		"containers": [{"name": "agent", "securityContext": {"runAsNonRoot": true}}],
	}
	fields(pod) == {"spec.template.spec.securityContext.runAsNonRoot"}
}

test_init_and_ephemeral_containers_are_checked if {
	pod := {
		"containers": [{"name": "agent", "securityContext": {"runAsNonRoot": true}}],
		"initContainers": [{"name": "migrate"}],
		"ephemeralContainers": [{"name": "debug", "securityContext": {"runAsNonRoot": "yes"}}],
	}
	fields(pod) == {
		"spec.template.spec.initContainers[0].securityContext.runAsNonRoot",
		"spec.template.spec.ephemeralContainers[0].securityContext.runAsNonRoot",
	}
}

test_run_as_user_zero_denied_at_both_levels if {
	pod := {
		"securityContext": {"runAsNonRoot": true, "runAsUser": 0},
		"containers": [{"name": "agent", "securityContext": {"runAsUser": 0}}],
	}
	fields(pod) == {
		"spec.template.spec.securityContext.runAsUser",
		"spec.template.spec.containers[0].securityContext.runAsUser",
	}
}

test_malformed_template_is_not_an_error if {
	fields({"containers": ["agent"]}) == {"spec.template.spec.containers[0].securityContext.runAsNonRoot"}
	count(run_as_non_root.deny) == 0 with input.agent as {"spec": {"template": "x"}}
}
