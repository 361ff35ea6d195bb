# METADATA
# title: The pod shares no host namespace
# description: >-
#   spec.template does not set hostNetwork, hostPID or hostIPC: an agent sees only its own
#   network, processes and shared memory, not the node's (Pod Security Standards: baseline
#   "Host Namespaces").
# custom:
#   enforcement: warn
#   severity: high
#   checklist: security
package golive.security.host_namespaces

import rego.v1

import data.golive.lib.pods

what := {
	"hostNetwork": "the node's network (every port and interface of the node)",
	"hostPID": "the node's processes",
	"hostIPC": "the node's shared memory",
}

deny contains violation if {
	some key, shares in what
	object.get(pods.pod_spec, key, false) == true
	violation := {
		"field": concat(".", [pods.prefix, key]),
		"msg": concat("", ["the pod sets ", key, ": true and so shares ", shares, "; remove ", key, " or set it to false"]),
	}
}
