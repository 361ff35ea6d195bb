# METADATA
# title: Containers have a read-only root filesystem
# description: >-
#   Every container, init container and ephemeral container of spec.template sets
#   readOnlyRootFilesystem true, so an agent that is talked into running code cannot change its
#   own image; it writes only to volumes it declares (an emptyDir for scratch files). Windows pods
#   are exempt (Windows does not support the setting).
# custom:
#   enforcement: warn
#   severity: low
#   checklist: security
package golive.security.read_only_root_filesystem

import rego.v1

import data.golive.lib.fields
import data.golive.lib.pods

deny contains violation if {
	not pods.windows
	some entry in pods.all_containers
	setting := object.get(entry.container, ["securityContext", "readOnlyRootFilesystem"], null)
	setting != true
	violation := {
		"field": concat(".", [entry.path, "securityContext.readOnlyRootFilesystem"]),
		"msg": concat("", [
			entry.label, " can write to its root filesystem (readOnlyRootFilesystem is ", shown(setting),
			"); set readOnlyRootFilesystem: true and mount an emptyDir where it needs to write",
		]),
	}
}

shown(null) := "not set"

shown(x) := fields.text(x) if x != null
