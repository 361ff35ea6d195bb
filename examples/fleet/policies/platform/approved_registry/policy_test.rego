package golive.platform.approved_registry_test

import rego.v1

import data.golive.platform.approved_registry

agent(images) := {"spec": {"template": {"spec": {"containers": [container(image) | some image in images]}}}}

container(image) := {"name": "agent", "image": image}

denied(images) := fields if {
	fields := {v.field | some v in approved_registry.deny} with input.agent as agent(images)
}

test_the_platform_registry_is_approved if {
	denied(["registry.example.com/agents/invoice-triage:3.2.0"]) == set()
}

test_another_registry_is_denied if {
	some v in approved_registry.deny with input.agent as agent(["ghcr.io/someone/agent:1.0"])
	v.field == "spec.template.spec.containers[0].image"
	v.msg == concat("", [
		`image "ghcr.io/someone/agent:1.0" is not from an approved registry (registry.example.com);`,
		" mirror it there first",
	])
}

test_docker_hub_short_names_and_look_alikes_are_denied if {
	denied(["agent:1.0", "library/agent:1.0", "registry.example.com.evil.io/agent:1.0"]) == {
		"spec.template.spec.containers[0].image",
		"spec.template.spec.containers[1].image",
		"spec.template.spec.containers[2].image",
	}
}

test_a_container_without_an_image_is_denied if {
	no_image := {"spec": {"template": {"spec": {"containers": [{"name": "x"}]}}}}
	count(approved_registry.deny) == 1 with input.agent as no_image
}
