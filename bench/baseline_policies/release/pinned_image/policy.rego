# METADATA
# title: Container images are pinned
# description: Every container image names a version tag other than latest, or a digest, so a rollout is repeatable.
# custom:
#   enforcement: dryrun
#   severity: low
#   checklist: release
package golive.release.pinned_image

import rego.v1

import data.golive.lib.fields

containers := object.get(input, ["agent", "spec", "template", "spec", "containers"], [])

deny contains violation if {
	is_array(containers)
	some i, container in containers
	image := image_of(container)
	not pinned(image)
	violation := {
		"field": sprintf("spec.template.spec.containers[%d].image", [i]),
		"msg": concat("", [
			`container "`, fields.text(name_of(container)), `" image "`, fields.text(image),
			`" is not pinned; use a version tag other than latest, or a digest (@sha256:...)`,
		]),
	}
}

# A container that is not an object has no image: image_of gives "", which is not pinned.
image_of(container) := object.get(container, "image", "") if is_object(container)

else := ""

name_of(container) := object.get(container, "name", "") if is_object(container)

else := ""

pinned(image) if {
	is_string(image)
	contains(image, "@sha256:")
}

# The tag is after the last ":" of the last path segment (a registry port is not a tag).
pinned(image) if {
	is_string(image)
	not contains(image, "@")
	segments := split(image, "/")
	parts := split(segments[count(segments) - 1], ":")
	count(parts) == 2
	not parts[1] in {"", "latest"}
}
