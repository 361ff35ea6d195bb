package golive.release.pinned_image_test

import rego.v1

import data.golive.release.pinned_image

agent(images) := {
	"metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
	"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image} | some image in images]}}},
}

denied(images) := fields if {
	fields := {v.field | some v in pinned_image.deny} with input.agent as agent(images)
}

test_tagged_image_allowed if {
	count(pinned_image.deny) == 0 with input.agent as agent(["registry.example.com/agents/invoice-triage:3.4.1"])
}

test_digest_and_registry_port_allowed if {
	denied([
		"registry.example.com/agents/invoice-triage@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
		"registry.example.com:5000/agents/invoice-triage:3.4.1",
	]) == set()
}

test_latest_tag_denied if {
	violations := pinned_image.deny with input.agent as agent(["registry.example.com/agents/invoice-triage:latest"])
	some v in violations
	v.field == "spec.template.spec.containers[0].image"
	v.msg == concat("", [
		`container "agent" image "registry.example.com/agents/invoice-triage:latest" is not pinned;`,
		" use a version tag other than latest, or a digest (@sha256:...)",
	])
}

test_untagged_image_denied if {
	denied([
		"registry.example.com/agents/invoice-triage:3.4.1",
		"registry.example.com:5000/agents/sidecar",
	]) == {"spec.template.spec.containers[1].image"}
}

test_container_not_an_object_denied if {
	violations := pinned_image.deny with input.agent as {"spec": {"template": {"spec": {
		"containers": ["registry.example.com/agents/x:1.0"],
	}}}}
	{v.field | some v in violations} == {"spec.template.spec.containers[0].image"}
}

test_missing_image_denied if {
	violations := pinned_image.deny with input.agent as {"spec": {"template": {"spec": {
		"containers": [{"name": "agent"}],
	}}}}
	{v.field | some v in violations} == {"spec.template.spec.containers[0].image"}
}
