# METADATA
# title: No privileged containers and no privilege escalation
# description: >-
#   No container, init container or ephemeral container of spec.template is privileged, and each
#   sets allowPrivilegeEscalation false (Pod Security Standards: baseline "Privileged Containers"
#   and restricted "Privilege Escalation"; Windows pods are exempt from the latter).
# custom:
#   enforcement: warn
#   severity: high
#   checklist: security
package golive.security.privilege_escalation

import rego.v1

import data.golive.lib.fields
import data.golive.lib.pods

deny contains violation if {
	some entry in pods.containers(pods.all_kinds)
	object.get(entry.container, ["securityContext", "privileged"], false) == true
	violation := {
		"field": concat(".", [entry.path, "securityContext.privileged"]),
		"msg": concat("", [
			entry.label, " is privileged: it has every capability and the node's devices;",
			" remove privileged or set it to false",
		]),
	}
}

deny contains violation if {
	not pods.windows
	some entry in pods.containers(pods.all_kinds)
	setting := object.get(entry.container, ["securityContext", "allowPrivilegeEscalation"], null)
	setting != false
	violation := {
		"field": concat(".", [entry.path, "securityContext.allowPrivilegeEscalation"]),
		"msg": concat("", [
			entry.label, " may gain more privileges than its process started with (allowPrivilegeEscalation is ",
			shown(setting), "); set allowPrivilegeEscalation: false in its securityContext",
		]),
	}
}

shown(null) := "not set"

shown(x) := fields.text(x) if x != null
