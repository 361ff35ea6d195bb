package golive.contract.contract_declared_test

import rego.v1

import data.golive.contract.contract_declared

# Fixtures are functions of what each test varies.
agent(namespace) := {
	"metadata": {"name": "invoice-triage", "namespace": namespace},
	"spec": {"contractRef": {"name": "invoice-triage-v3"}},
}

contract(resolution) := {"name": "invoice-triage-v3", "resolution": resolution, "spec": null, "schemaErrors": []}

test_found_allowed if {
	count(contract_declared.deny) == 0 with input.agent as agent("finance-agents")
		with input.contract as contract("found")
}

test_skipped_at_admission_allowed if {
	count(contract_declared.deny) == 0 with input.agent as agent("finance-agents")
		with input.contract as contract("skipped")
}

test_undeclared_denied if {
	violations := contract_declared.deny with input.agent as {"metadata": {"name": "a"}, "spec": {}}
		with input.contract as {"name": "", "resolution": "undeclared", "spec": null, "schemaErrors": []}
	some v in violations
	v.field == "spec.contractRef"
	count(violations) == 1
}

test_missing_denied if {
	violations := contract_declared.deny with input.agent as agent("finance-agents")
		with input.contract as contract("missing")
	some v in violations
	v.field == "spec.contractRef.name"
	v.msg == concat("", [
		`AgentContract "invoice-triage-v3" not found in namespace "finance-agents";`,
		" create it or fix spec.contractRef.name",
	])
	count(violations) == 1
}

test_unknown_resolution_denied if {
	violations := contract_declared.deny with input.agent as agent("finance-agents")
		with input.contract as contract("maybe")
	some v in violations
	v.field == "spec.contractRef"
}

test_no_contract_facts_denied if {
	violations := contract_declared.deny with input.agent as agent("finance-agents")
	some v in violations
	v.field == "spec.contractRef"
}
