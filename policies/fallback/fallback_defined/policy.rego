# METADATA
# title: Fallback is defined
# description: >-
#   spec.fallback says what happens when the agent fails or times out;
#   regulated agents fall back to human review.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: fallback
package golive.fallback.fallback_defined

import rego.v1

import data.golive.lib.fields

# Values are read with object.get from input along the whole path: that is defined even when
# spec or governance is null, and a derived value that is undefined would silently pass.
fallback := object.get(input, ["agent", "spec", "fallback"], null)

mode := object.get(fallback, "mode", "") if is_object(fallback)

modes := {"human-review", "static-response", "previous-version", "disable"}

# Modes that hand the request to somewhere else, which must be named.
modes_with_target := {"human-review", "static-response"}

regulated if object.get(input, ["agent", "spec", "governance", "regulated"], false) == true

deny contains violation if {
	not is_object(fallback)
	violation := {
		"field": "spec.fallback",
		"msg": concat("", [
			"no fallback declared; declare mode",
			" (human-review, static-response, previous-version or disable) and timeoutSeconds",
		]),
	}
}

deny contains violation if {
	fields.blank(mode)
	violation := {
		"field": "spec.fallback.mode",
		"msg": "fallback has no mode; expected human-review, static-response, previous-version or disable",
	}
}

deny contains violation if {
	not mode in modes # first: a known mode ends the rule without the blank test
	not fields.blank(mode)
	violation := {
		"field": "spec.fallback.mode",
		"msg": concat("", [
			`fallback mode "`, mode,
			`" is unknown; expected human-review, static-response, previous-version or disable`,
		]),
	}
}

deny contains violation if {
	mode in modes_with_target
	fields.blank(object.get(fallback, "target", ""))
	violation := {
		"field": "spec.fallback.target",
		"msg": concat("", [`fallback mode "`, mode, `" has no target; name the queue or response it falls back to`]),
	}
}

deny contains violation if {
	is_object(fallback)
	not positive_timeout
	violation := {
		"field": "spec.fallback.timeoutSeconds",
		"msg": concat("", [
			"fallback timeoutSeconds is ", fields.text(object.get(fallback, "timeoutSeconds", "missing")),
			"; expected a number of seconds greater than 0",
		]),
	}
}

deny contains violation if {
	regulated
	not fields.blank(mode)
	mode != "human-review"
	domain := object.get(input, ["agent", "spec", "governance", "domain"], "")
	violation := {
		"field": "spec.fallback.mode",
		"msg": concat("", [
			`fallback mode "`, mode, `" on a regulated agent (domain "`, fields.text(domain),
			`"); regulated agents must fall back to human-review`,
		]),
	}
}

positive_timeout if {
	is_number(fallback.timeoutSeconds)
	fallback.timeoutSeconds > 0
}
