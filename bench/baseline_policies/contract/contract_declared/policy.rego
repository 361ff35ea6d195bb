# METADATA
# title: Agent references an existing AgentContract
# description: spec.contractRef names an AgentContract that exists in the agent's namespace.
# custom:
#   enforcement: deny
#   severity: high
#   checklist: contract
package golive.contract.contract_declared

import rego.v1

import data.golive.lib.fields

resolution := object.get(input, ["contract", "resolution"], "")

# found: checked by golive.contract.contract_valid; skipped: admission, checked at reconcile.
known_resolutions := {"found", "missing", "skipped", "undeclared"}

deny contains violation if {
	resolution == "undeclared"
	violation := {
		"field": "spec.contractRef",
		"msg": concat("", [
			"no contractRef declared; reference the AgentContract",
			" (input and output schemas, version, owner) this agent implements",
		]),
	}
}

deny contains violation if {
	resolution == "missing"
	name := object.get(input, ["contract", "name"], "")
	namespace := object.get(input, ["agent", "metadata", "namespace"], "")
	violation := {
		"field": "spec.contractRef.name",
		"msg": concat("", [
			`AgentContract "`, fields.text(name), `" not found in namespace "`, fields.text(namespace),
			`"; create it or fix spec.contractRef.name`,
		]),
	}
}

deny contains violation if {
	not resolution in known_resolutions
	violation := {
		"field": "spec.contractRef",
		"msg": concat("", [
			`contract resolution "`, fields.text(resolution),
			`" is unknown; expected found, missing, skipped or undeclared`,
		]),
	}
}
