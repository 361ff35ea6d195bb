# METADATA
# title: Containers declare resource requests and a memory limit
# description: >-
#   Every container and init container of spec.template requests cpu and memory and limits
#   memory: requests are what the scheduler reserves (what the agent's pods cost, the basis of
#   any capacity cost model) and the memory limit stops one pod from starving the node. A cpu
#   limit is not required (it throttles latency-sensitive agents); ephemeral containers cannot
#   set resources.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: security
package golive.security.resources_set

import rego.v1

import data.golive.lib.pods

required := [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]

deny contains violation if {
	some entry in pods.resource_containers
	missing := [concat(".", path) |
		some path in required
		object.get(entry.container, array.concat(["resources"], path), null) == null
	]
	count(missing) > 0
	violation := {
		"field": concat(".", [entry.path, "resources"]),
		"msg": concat("", [
			entry.label, " sets no ", concat(", ", missing),
			"; set requests.cpu and requests.memory (what its pods reserve and cost) and limits.memory",
		]),
	}
}
