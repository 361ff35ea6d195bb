package golive.fallback.fallback_defined_test

import rego.v1

import data.golive.fallback.fallback_defined

review := {"mode": "human-review", "target": "queue/ap-clerks", "timeoutSeconds": 30}

# agent(fallback, regulated) is an agent with this fallback (null: none) in a finance domain.
agent(fallback, regulated) := {
	"metadata": {"name": "invoice-triage", "namespace": "finance-agents"},
	"spec": object.union(
		{"governance": {"regulated": regulated, "domain": "finance"}},
		{key: value | some key, value in {"fallback": fallback}; value != null},
	),
}

denied(fallback, regulated) := fields if {
	fields := {v.field | some v in fallback_defined.deny} with input.agent as agent(fallback, regulated)
}

test_human_review_allowed if {
	count(fallback_defined.deny) == 0 with input.agent as agent(review, true)
}

test_unregulated_modes_allowed if {
	static := {"mode": "static-response", "target": "Your ticket was queued for a person.", "timeoutSeconds": 10}
	denied(static, false) == set()
	denied({"mode": "previous-version", "timeoutSeconds": 10}, false) == set()
	denied({"mode": "disable", "timeoutSeconds": 5}, false) == set()
}

test_missing_fallback_denied if {
	violations := fallback_defined.deny with input.agent as agent(null, false)
	some v in violations
	v.field == "spec.fallback"
	count(violations) == 1
}

test_null_spec_denied if {
	violations := fallback_defined.deny with input.agent as {"metadata": {"name": "a"}, "spec": null}
	{v.field | some v in violations} == {"spec.fallback"}
}

test_missing_mode_denied if {
	denied({"target": "queue/ap-clerks", "timeoutSeconds": 30}, false) == {"spec.fallback.mode"}
}

test_unknown_mode_denied if {
	denied({"mode": "retry", "timeoutSeconds": 30}, false) == {"spec.fallback.mode"}
}

test_missing_target_denied if {
	denied({"mode": "human-review", "timeoutSeconds": 30}, false) == {"spec.fallback.target"}
	denied({"mode": "static-response", "target": " ", "timeoutSeconds": 30}, false) == {"spec.fallback.target"}
}

test_missing_timeout_denied if {
	denied({"mode": "human-review", "target": "queue/ap-clerks"}, false) == {"spec.fallback.timeoutSeconds"}
}

test_zero_timeout_denied if {
	violations := fallback_defined.deny with input.agent as agent({"mode": "disable", "timeoutSeconds": 0}, false)
	some v in violations
	v.field == "spec.fallback.timeoutSeconds"
	v.msg == "fallback timeoutSeconds is 0; expected a number of seconds greater than 0"
}

test_negative_or_text_timeout_denied if {
	denied({"mode": "disable", "timeoutSeconds": -5}, false) == {"spec.fallback.timeoutSeconds"}
	denied({"mode": "disable", "timeoutSeconds": "30"}, false) == {"spec.fallback.timeoutSeconds"}
}

test_regulated_without_human_review_denied if {
	violations := fallback_defined.deny with input.agent as agent({"mode": "previous-version", "timeoutSeconds": 30}, true)
	some v in violations
	v.field == "spec.fallback.mode"
	contains(v.msg, `fallback mode "previous-version" on a regulated agent (domain "finance")`)
	count(violations) == 1
}
