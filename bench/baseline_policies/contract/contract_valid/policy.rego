# METADATA
# title: AgentContract is complete and its schemas are valid
# description: >-
#   The referenced AgentContract has valid input and output JSON Schemas,
#   a version and one person as owner.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: contract
package golive.contract.contract_valid

import rego.v1

import data.golive.lib.fields
import data.golive.lib.people

# Problems of the contract are reported on the agent's reference to it.
field := "spec.contractRef.name"

found if input.contract.resolution == "found"

name := object.get(input, ["contract", "name"], "")

contract_spec := object.get(input, ["contract", "spec"], null)

schema_errors := object.get(input, ["contract", "schemaErrors"], [])

schema_keys := ["inputSchema", "outputSchema"]

deny contains violation if {
	found
	some error in schema_errors
	violation := {"field": field, "msg": concat("", [
		`AgentContract "`, fields.text(name), `": `, fields.text(error),
		"; fix the JSON Schema",
	])}
}

deny contains violation if {
	found
	not is_object(contract_spec)
	violation := {"field": field, "msg": concat("", [
		`AgentContract "`, fields.text(name),
		`" has no spec; declare owner, version, inputSchema and outputSchema`,
	])}
}

deny contains violation if {
	found
	is_object(contract_spec)
	some key in schema_keys
	not is_schema(object.get(contract_spec, key, null))
	not reported(key)
	violation := {
		"field": field,
		"msg": concat("", [`AgentContract "`, fields.text(name), `" has no `, key, "; declare it as a JSON Schema"]),
	}
}

deny contains violation if {
	found
	is_object(contract_spec)
	not has_version
	violation := {
		"field": field,
		"msg": concat("", [`AgentContract "`, fields.text(name), `" has no version; declare one, e.g. "3"`]),
	}
}

deny contains violation if {
	found
	is_object(contract_spec)
	some problem in people.problems(object.get(contract_spec, "owner", null), "contract owner")
	violation := {"field": field, "msg": concat("", [`AgentContract "`, fields.text(name), `": `, problem.msg])}
}

# A JSON Schema is an object or a boolean.
is_schema(schema) if is_object(schema)

is_schema(schema) if is_boolean(schema)

# reported(key) is true when Python already reported a schema error for this key.
reported(key) if {
	some error in schema_errors
	startswith(fields.text(error), key)
}

has_version if not fields.blank(object.get(contract_spec, "version", ""))

has_version if is_number(contract_spec.version)
