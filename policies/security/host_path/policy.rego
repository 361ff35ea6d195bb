# METADATA
# title: The pod mounts no hostPath volume
# description: >-
#   No volume of spec.template is a hostPath: an agent reads and writes no file of the node
#   (Pod Security Standards: baseline "HostPath Volumes").
# custom:
#   enforcement: warn
#   severity: high
#   checklist: security
package golive.security.host_path

import rego.v1

import data.golive.lib.fields
import data.golive.lib.pods

deny contains violation if {
	volumes := object.get(pods.pod_spec, "volumes", [])
	is_array(volumes)
	some i, item in volumes
	volume := pods.as_object(item)
	host_path := object.get(volume, "hostPath", null)
	host_path != null
	violation := {
		"field": sprintf("%s.volumes[%d].hostPath", [pods.prefix, i]),
		"msg": concat("", [
			`volume "`, fields.text(object.get(volume, "name", "")), `" mounts the node's path `,
			fields.text(object.get(pods.as_object(host_path), "path", "")),
			"; use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim instead",
		]),
	}
}
