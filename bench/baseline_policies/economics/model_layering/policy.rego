# METADATA
# title: A regulated agent has a rules layer or a judge
# description: >-
#   A regulated agent (spec.governance.regulated) declares its model layers in spec.models and
#   one of them is a rules layer (role rules: the hard compliance requirements as code) or a judge
#   (role judge: a model that checks the answers before they leave), not only models that reason
#   or classify.
# custom:
#   enforcement: warn
#   severity: medium
#   checklist: models
package golive.economics.model_layering

import rego.v1

import data.golive.lib.fields

spec := s if {
	s := object.get(input, ["agent", "spec"], {})
	is_object(s)
} else := {}

regulated if object.get(spec, ["governance", "regulated"], false) == true

models := list if {
	list := object.get(spec, "models", [])
	is_array(list)
} else := []

# The roles that keep a regulated agent's answers within its rules.
guard_roles := {"rules", "judge"}

declared := [sprintf("%s %q", [fields.text(object.get(m, "role", "")), fields.text(object.get(m, "name", ""))]) |
	some m in models
	is_object(m)
]

guarded if {
	some m in models
	is_object(m)
	object.get(m, "role", "") in guard_roles
}

advice := concat("", [
	"add a rules layer (role: rules) for the hard compliance requirements or a judge",
	" (role: judge) that checks the answers before they leave",
])

deny contains violation if {
	regulated
	count(models) == 0
	violation := {
		"field": "spec.models",
		"msg": concat("", [
			"a regulated agent", domain, " declares no models; list its model layers in spec.models and ",
			advice,
		]),
	}
}

deny contains violation if {
	regulated
	count(models) > 0
	not guarded
	violation := {
		"field": "spec.models",
		"msg": concat("", [
			"a regulated agent", domain, " has only ", concat(", ", declared),
			": no rules layer and no judge; ", advice,
		]),
	}
}

# domain is " (finance)" from spec.governance.domain, or "" when none is given.
domain := concat("", [" (", d, ")"]) if {
	d := object.get(spec, ["governance", "domain"], "")
	not fields.blank(d)
} else := ""
