package golive.economics.model_layering_test

import rego.v1

import data.golive.economics.model_layering

agent(regulated, models) := {"spec": {
	"governance": {"regulated": regulated, "domain": "finance"},
	"models": models,
}}

reasoning := {"name": "gpt-4o-2024-08-06", "role": "reasoning", "costPerRequest": "0.0003"}

test_regulated_with_rules_layer_allowed if {
	rules := {"name": "ap-rules", "role": "rules"}
	count(model_layering.deny) == 0 with input.agent as agent(true, [reasoning, rules])
}

test_regulated_with_judge_allowed if {
	judge := {"name": "judge-mini", "role": "judge", "costPerRequest": "0.00004"}
	count(model_layering.deny) == 0 with input.agent as agent(true, [reasoning, judge])
}

test_not_regulated_needs_no_guard if {
	count(model_layering.deny) == 0 with input.agent as agent(false, [reasoning])
	count(model_layering.deny) == 0 with input.agent as {"spec": {}}
}

test_regulated_without_models_reported if {
	governance := {"regulated": true, "domain": "finance"}
	violations := model_layering.deny with input.agent as {"spec": {"governance": governance}}
	some v in violations
	v.field == "spec.models"
	v.msg == concat("", [
		"a regulated agent (finance) declares no models; list its model layers in spec.models and add a rules layer",
		" (role: rules) for the hard compliance requirements or a judge (role: judge) that checks the answers",
		" before they leave",
	])
}

test_regulated_with_only_reasoning_and_classifier_reported if {
	router := {"name": "router", "role": "classifier", "costPerRequest": "0.00001"}
	violations := model_layering.deny with input.agent as agent(true, [reasoning, router])
	some v in violations
	v.field == "spec.models"
	startswith(v.msg, `a regulated agent (finance) has only reasoning "gpt-4o-2024-08-06", classifier "router": no rules`)
	count(violations) == 1
}

test_malformed_models_are_not_a_guard if {
	violations := model_layering.deny with input.agent as agent(true, ["rules", {"role": "Rules"}])
	count(violations) == 1
}
