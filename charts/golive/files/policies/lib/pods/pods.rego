# Pod-template helpers shared by the golive.security policies: the agent's PodSpec, its
# containers of every kind with their field paths, and the security settings in effect for each
# (a container's securityContext overrides the pod's). No deny rules.
package golive.lib.pods

import rego.v1

# prefix is the field path of the PodSpec in an AgentDeployment.
prefix := "spec.template.spec"

# pod_spec is spec.template.spec, or {} when it is missing or not an object.
pod_spec := spec if {
	spec := object.get(input, ["agent", "spec", "template", "spec"], {})
	is_object(spec)
} else := {}

# The container lists of a PodSpec, as the Pod Security Standards name them.
all_kinds := ["initContainers", "containers", "ephemeralContainers"]

# Ephemeral containers cannot set resources (the API refuses them), so resource rules skip them.
resource_kinds := ["initContainers", "containers"]

kind_words := {
	"initContainers": "init container",
	"containers": "container",
	"ephemeralContainers": "ephemeral container",
}

# containers(kinds) lists every container of the PodSpec under one of kinds (in that order) as
# {"path", "label", "container"}: path is its field path, e.g. "spec.template.spec.containers[0]",
# label names it for messages, e.g. `init container "migrate"`; a container that is not an
# object is given as {} so that every rule sees it as one that sets nothing.
containers(kinds) := [entry |
	some kind in kinds
	list := object.get(pod_spec, kind, [])
	is_array(list)
	some i, container in list
	entry := {
		"path": sprintf("%s.%s[%d]", [prefix, kind, i]),
		"label": sprintf("%s %q", [kind_words[kind], name_of(container)]),
		"container": as_object(container),
	}
]

# The containers of every kind, and of the kinds that set resources: computed once per decision
# (a rule is cached for the evaluation; a function call is evaluated again at every call).
all_containers := containers(all_kinds)

# The same entries without the ephemeral containers (all_kinds lists them last).
resource_containers := [entry |
	some entry in all_containers
	not startswith(entry.path, concat(".", [prefix, "ephemeralContainers["]))
]

as_object(x) := x if is_object(x)

else := {}

name_of(container) := name if {
	name := object.get(container, "name", "")
	is_string(name)
} else := ""

# setting(entry, key) is the securityContext value in effect for a container: its own, else the
# pod's (for the keys that exist at both levels); undefined when neither sets it.
setting(entry, key) := value if {
	value := object.get(entry.container, ["securityContext", key], null)
	value != null
} else := value if {
	value := object.get(pod_spec, ["securityContext", key], null)
	value != null
}

# windows is true for a pod that declares spec.os.name windows: the Pod Security Standards
# exempt it from the Linux-only controls (privilege escalation, capabilities).
windows if object.get(pod_spec, ["os", "name"], "") == "windows"
