# METADATA
# title: Containers drop all Linux capabilities
# description: >-
#   Every container, init container and ephemeral container of spec.template drops ALL Linux
#   capabilities and adds back none but NET_BIND_SERVICE, as the Pod Security Standards'
#   restricted profile requires (Windows pods are exempt from the drop).
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: security
package golive.security.capabilities_dropped

import rego.v1

import data.golive.lib.fields
import data.golive.lib.pods

# The one capability the restricted profile lets a container add back (binding ports below 1024).
addable := {"NET_BIND_SERVICE"}

deny contains violation if {
	not pods.windows
	some entry in pods.containers(pods.all_kinds)
	not drops_all(entry.container)
	violation := {
		"field": concat(".", [entry.path, "securityContext.capabilities.drop"]),
		"msg": concat("", [
			entry.label, " keeps the runtime's default Linux capabilities (drop is ",
			fields.text(object.get(entry.container, ["securityContext", "capabilities", "drop"], [])),
			"); set securityContext.capabilities.drop: [ALL]",
		]),
	}
}

deny contains violation if {
	some entry in pods.containers(pods.all_kinds)
	added := object.get(entry.container, ["securityContext", "capabilities", "add"], [])
	is_array(added)
	some j, capability in added
	not upper_text(capability) in addable
	violation := {
		"field": sprintf("%s.securityContext.capabilities.add[%d]", [entry.path, j]),
		"msg": concat("", [
			entry.label, " adds the capability ", fields.text(capability),
			"; an agent may add back only NET_BIND_SERVICE",
		]),
	}
}

drops_all(container) if {
	dropped := object.get(container, ["securityContext", "capabilities", "drop"], [])
	is_array(dropped)
	some capability in dropped
	upper_text(capability) == "ALL"
}

upper_text(x) := upper(x) if is_string(x)

else := fields.text(x)
