package golive.security.host_path_test

import rego.v1

import data.golive.security.host_path

agent(pod) := {"spec": {"template": {"spec": pod}}}

fields(pod) := found if {
	found := {v.field | some v in host_path.deny} with input.agent as agent(pod)
}

test_other_volumes_allowed if {
	fields({"volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "x"}}]}) == set()
}

test_host_path_denied_with_message if {
	violations := host_path.deny with input.agent as agent({"volumes": [
		{"name": "tmp", "emptyDir": {}},
		{"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}},
	]})
	some v in violations
	v.field == "spec.template.spec.volumes[1].hostPath"
	v.msg == concat("", [
		`volume "docker" mounts the node's path /var/run/docker.sock;`,
		" use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim instead",
	])
	count(violations) == 1
}

test_malformed_host_path_still_denied if {
	fields({"volumes": [{"name": "x", "hostPath": "/etc"}, "not-a-volume"]}) == {"spec.template.spec.volumes[0].hostPath"}
}
