package golive.security.host_namespaces_test

import rego.v1

import data.golive.security.host_namespaces

agent(pod) := {"spec": {"template": {"spec": pod}}}

fields(pod) := found if {
	found := {v.field | some v in host_namespaces.deny} with input.agent as agent(pod)
}

test_no_host_namespace_allowed if {
	fields({"containers": [{"name": "agent"}]}) == set()
	fields({"hostNetwork": false, "hostPID": false, "hostIPC": false, "containers": [{"name": "agent"}]}) == set()
}

test_host_network_denied_with_message if {
	violations := host_namespaces.deny with input.agent as agent({"hostNetwork": true, "containers": [{"name": "agent"}]})
	some v in violations
	v.field == "spec.template.spec.hostNetwork"
	v.msg == concat("", [
		"the pod sets hostNetwork: true and so shares the node's network (every port and interface of the node);",
		" remove hostNetwork or set it to false",
	])
	count(violations) == 1
}

test_each_host_namespace_denied if {
	fields({"hostNetwork": true, "hostPID": true, "hostIPC": true, "containers": []}) == {
		"spec.template.spec.hostNetwork",
		"spec.template.spec.hostPID",
		"spec.template.spec.hostIPC",
	}
}
