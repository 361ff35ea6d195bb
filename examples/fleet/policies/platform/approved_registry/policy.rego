# METADATA
# title: Container images come from the platform's registry
# description: >-
#   The platform team's own rule, kept beside golive's SAFE library in its repository and
#   shipped with it to every cluster of the fleet (docs/fleet.md): every container of an agent
#   pulls its image from a registry the platform team scans and mirrors.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: security
package golive.platform.approved_registry

import rego.v1

approved_registries := {"registry.example.com"}

containers := object.get(input, ["agent", "spec", "template", "spec", "containers"], [])

deny contains violation if {
	is_array(containers)
	some i, container in containers
	image := image_of(container)
	not approved(image)
	violation := {
		"field": sprintf("spec.template.spec.containers[%d].image", [i]),
		"msg": sprintf(
			"image %q is not from an approved registry (%s); mirror it there first",
			[image, concat(", ", sort(approved_registries))],
		),
	}
}

image_of(container) := object.get(container, "image", "") if is_object(container)

else := ""

# The registry is the image's first path segment when it names a host (has a "." or ":").
approved(image) if {
	is_string(image)
	registry := split(image, "/")[0]
	registry in approved_registries
	count(split(image, "/")) > 1
}
