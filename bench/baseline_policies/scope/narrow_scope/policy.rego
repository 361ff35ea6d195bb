# METADATA
# title: Scope is one process with one input and one output format
# description: spec.scope names a single process and exactly one MIME type for input and for output.
# custom:
#   enforcement: deny
#   severity: medium
#   checklist: scope
package golive.scope.narrow_scope

import rego.v1

import data.golive.lib.fields

scope := object.get(input, ["agent", "spec", "scope"], null)

process := object.get(scope, "process", "") if is_object(scope)

slug_pattern := `^[a-z0-9]+(-[a-z0-9]+)*$`

# One type/subtype, optionally with parameters such as "; charset=utf-8"; no lists, no wildcards.
mime_pattern := `^[a-z]+/[a-z0-9.+-]+(\s*;\s*[a-z0-9-]+=[^,;\s]+)*$`

# Separators that turn one value into a list of values.
list_pattern := `,|;|&|\||/|\s(and|or|plus)\s`

format_keys := ["inputFormat", "outputFormat"]

deny contains violation if {
	not is_object(scope)
	violation := {
		"field": "spec.scope",
		"msg": "no scope declared; name one process and one input and one output MIME type",
	}
}

deny contains violation if {
	fields.blank(process)
	violation := {
		"field": "spec.scope.process",
		"msg": "scope has no process; name the one business process this agent serves, e.g. invoice-triage",
	}
}

deny contains violation if {
	not fields.blank(process)
	regex.match(list_pattern, process)
	violation := {
		"field": "spec.scope.process",
		"msg": concat("", [
			`process "`, process,
			`" lists several processes; scope one process per agent, as a lowercase slug`,
		]),
	}
}

deny contains violation if {
	not fields.blank(process)
	not regex.match(list_pattern, process)
	not regex.match(slug_pattern, process)
	violation := {
		"field": "spec.scope.process",
		"msg": concat("", [`process "`, process, `" is not a single lowercase slug; expected e.g. invoice-triage`]),
	}
}

deny contains violation if {
	is_object(scope)
	some key in format_keys
	fields.blank(object.get(scope, key, ""))
	violation := {
		"field": concat(".", ["spec.scope", key]),
		"msg": concat("", ["scope has no ", key, "; give exactly one MIME type, e.g. application/json"]),
	}
}

deny contains violation if {
	is_object(scope)
	some key in format_keys
	format := object.get(scope, key, "")
	not fields.blank(format)
	not regex.match(mime_pattern, format)
	violation := {
		"field": concat(".", ["spec.scope", key]),
		"msg": concat("", [
			key, ` "`, format,
			`" is not exactly one MIME type (no lists, no wildcards); expected e.g. application/json`,
		]),
	}
}
