# METADATA
# title: The agent names the cost center its spend is charged to
# description: >-
#   The platform team's own rule, kept beside golive's SAFE library in its repository and
#   shipped with it to every cluster of the fleet (docs/fleet.md): an AgentDeployment carries
#   the label example.com/cost-center, which finance reads to charge the agent's spend.
# custom:
#   enforcement: deny
#   severity: medium
#   checklist: budget
package golive.platform.cost_center

import rego.v1

label := "example.com/cost-center"

cost_center := object.get(input, ["agent", "metadata", "labels", label], "")

deny contains violation if {
	not named(cost_center)
	violation := {
		"field": sprintf("metadata.labels[%q]", [label]),
		"msg": sprintf(`no cost center: label the agent "%s" with the cost center its spend is charged to (found %v)`, [label, cost_center]),
	}
}

named(value) if {
	is_string(value)
	trim_space(value) != ""
}
