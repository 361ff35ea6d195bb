package golive.security.read_only_root_filesystem_test

import rego.v1

import data.golive.security.read_only_root_filesystem

agent(pod) := {"spec": {"template": {"spec": pod}}}

fields(pod) := found if {
	found := {v.field | some v in read_only_root_filesystem.deny} with input.agent as agent(pod)
}

test_read_only_allowed if {
	fields({"containers": [{"name": "agent", "securityContext": {"readOnlyRootFilesystem": true}}]}) == set()
}

test_not_set_denied_with_message if {
	violations := read_only_root_filesystem.deny with input.agent as agent({"containers": [{"name": "agent"}]})
	some v in violations
	v.field == "spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem"
	v.msg == concat("", [
		`container "agent" can write to its root filesystem (readOnlyRootFilesystem is not set);`,
		" set readOnlyRootFilesystem: true and mount an emptyDir where it needs to write",
	])
}

test_false_denied_in_init_container if {
	pod := {
		"containers": [{"name": "agent", "securityContext": {"readOnlyRootFilesystem": true}}],
		"initContainers": [{"name": "warm-cache", "securityContext": {"readOnlyRootFilesystem": false}}],
	}
	fields(pod) == {"spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem"}
}

test_windows_pods_are_exempt if {
	fields({"os": {"name": "windows"}, "containers": [{"name": "agent"}]}) == set()
}
