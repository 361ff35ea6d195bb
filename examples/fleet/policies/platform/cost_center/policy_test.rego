package golive.platform.cost_center_test

import rego.v1

import data.golive.platform.cost_center

agent(labels) := {"metadata": {"name": "ticket-router", "namespace": "agents", "labels": labels}}

test_a_named_cost_center_is_allowed if {
	count(cost_center.deny) == 0 with input.agent as agent({"example.com/cost-center": "support-ops"})
}

test_no_label_is_denied if {
	some v in cost_center.deny with input.agent as agent({})
	v.field == `metadata.labels["example.com/cost-center"]`
	startswith(v.msg, `no cost center: label the agent "example.com/cost-center"`)
}

test_a_blank_or_non_string_label_is_denied if {
	count(cost_center.deny) == 1 with input.agent as agent({"example.com/cost-center": "  "})
	count(cost_center.deny) == 1 with input.agent as agent({"example.com/cost-center": 7})
}

test_an_agent_without_labels_is_denied if {
	count(cost_center.deny) == 1 with input.agent as {"metadata": {"name": "x"}}
}
