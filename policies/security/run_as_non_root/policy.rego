# METADATA
# title: Containers run as a non-root user
# description: >-
#   Every container, init container and ephemeral container of spec.template runs with
#   runAsNonRoot true (in the pod's securityContext or its own) and no runAsUser 0, as the Pod
#   Security Standards' restricted profile requires.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: security
package golive.security.run_as_non_root

import rego.v1

import data.golive.lib.fields
import data.golive.lib.pods

deny contains violation if {
	object.get(pods.pod_spec, ["securityContext", "runAsNonRoot"], null) == false
	violation := {
		"field": "spec.template.spec.securityContext.runAsNonRoot",
		"msg": "the pod sets runAsNonRoot: false; set it to true so that no container runs as root",
	}
}

deny contains violation if {
	some entry in pods.containers(pods.all_kinds)
	not non_root(entry)
	violation := {
		"field": concat(".", [entry.path, "securityContext.runAsNonRoot"]),
		"msg": concat("", [
			entry.label, " may run as root: ", found(entry),
			"; set runAsNonRoot: true in spec.template.spec.securityContext (for every container) or in its",
			" securityContext, and run the image as a non-zero user",
		]),
	}
}

deny contains violation if {
	object.get(pods.pod_spec, ["securityContext", "runAsUser"], null) == 0
	violation := {
		"field": "spec.template.spec.securityContext.runAsUser",
		"msg": "the pod sets runAsUser: 0, which is root; use a non-zero user id, e.g. 10001",
	}
}

deny contains violation if {
	some entry in pods.containers(pods.all_kinds)
	object.get(entry.container, ["securityContext", "runAsUser"], null) == 0
	violation := {
		"field": concat(".", [entry.path, "securityContext.runAsUser"]),
		"msg": concat("", [entry.label, " sets runAsUser: 0, which is root; use a non-zero user id, e.g. 10001"]),
	}
}

# non_root(entry) holds when runAsNonRoot true is in effect for the container. A rule of its
# own: in `not f(x) == true` OPA evaluates f(x) outside the negation, so an undefined f(x)
# (nothing set) would make the whole rule undefined instead of reporting it.
non_root(entry) if pods.setting(entry, "runAsNonRoot") == true

# found(entry) says what the container has now, for the message.
found(entry) := msg if {
	value := pods.setting(entry, "runAsNonRoot")
	msg := concat("", ["runAsNonRoot is ", fields.text(value)])
} else := "runAsNonRoot is not set"
