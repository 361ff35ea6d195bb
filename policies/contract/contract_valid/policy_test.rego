package golive.contract.contract_valid_test

import rego.v1

import data.golive.contract.contract_valid

contract_spec := {
	"owner": {"name": "Dana Ruiz", "email": "dana.ruiz@example.com"},
	"version": "3",
	"inputSchema": {"type": "object", "required": ["document"]},
	"outputSchema": {"type": "object", "required": ["queue"]},
}

# with_owner(owner) is the contract spec with another owner (object.union merges recursively in OPA).
with_owner(owner) := object.union(object.remove(contract_spec, ["owner"]), {"owner": owner})

found(spec, errors) := {"name": "invoice-triage-v3", "resolution": "found", "spec": spec, "schemaErrors": errors}

# messages(contract) is the set of messages denied for this contract.
messages(contract) := msgs if {
	violations := contract_valid.deny with input.contract as contract
	every v in violations {
		v.field == "spec.contractRef.name"
	}
	msgs := {v.msg | some v in violations}
}

test_complete_contract_allowed if {
	count(contract_valid.deny) == 0 with input.contract as found(contract_spec, [])
}

test_missing_contract_not_judged_here if {
	every resolution in ["missing", "skipped", "undeclared"] {
		count(contract_valid.deny) == 0 with input.contract as {
			"name": "invoice-triage-v3",
			"resolution": resolution,
			"spec": null,
			"schemaErrors": [],
		}
	}
}

test_schema_error_denied if {
	errors := ["inputSchema: 12 is not valid under any of the given schemas"]
	violations := contract_valid.deny with input.contract as found(contract_spec, errors)
	some v in violations
	v.field == "spec.contractRef.name"
	contains(v.msg, `AgentContract "invoice-triage-v3": inputSchema: 12 is not valid`)
	count(violations) == 1
}

test_each_schema_error_denied if {
	count(messages(found(contract_spec, ["inputSchema: a", "outputSchema: b"]))) == 2
}

test_empty_spec_denied if {
	msgs := messages(found(null, []))
	count(msgs) == 1
	some msg in msgs
	contains(msg, "has no spec")
}

test_missing_input_schema_denied if {
	msgs := messages(found(object.remove(contract_spec, ["inputSchema"]), []))
	msgs == {`AgentContract "invoice-triage-v3" has no inputSchema; declare it as a JSON Schema`}
}

test_missing_output_schema_denied if {
	msgs := messages(found(object.union(contract_spec, {"outputSchema": "free text"}), []))
	msgs == {`AgentContract "invoice-triage-v3" has no outputSchema; declare it as a JSON Schema`}
}

test_boolean_schema_allowed if {
	messages(found(object.union(contract_spec, {"outputSchema": true}), [])) == set()
}

test_missing_schema_reported_once if {
	msgs := messages(found(object.remove(contract_spec, ["inputSchema"]), ["inputSchema: missing"]))
	msgs == {`AgentContract "invoice-triage-v3": inputSchema: missing; fix the JSON Schema`}
}

test_missing_version_denied if {
	msgs := messages(found(object.remove(contract_spec, ["version"]), []))
	count(msgs) == 1
	some msg in msgs
	contains(msg, "has no version")
}

test_numeric_version_allowed if {
	messages(found(object.union(contract_spec, {"version": 3}), [])) == set()
}

test_missing_owner_denied if {
	msgs := messages(found(object.remove(contract_spec, ["owner"]), []))
	msgs == {concat("", [
		`AgentContract "invoice-triage-v3": no contract owner declared;`,
		" name one person (first and last name) with a personal email",
	])}
}

test_team_owner_denied if {
	msgs := messages(found(with_owner({"name": "AP Platform Team", "email": "dana.ruiz@example.com"}), []))
	count(msgs) == 1
	some msg in msgs
	contains(msg, `contract owner "AP Platform Team" looks like a team alias`)
}

test_owner_without_email_denied if {
	msgs := messages(found(with_owner({"name": "Dana Ruiz"}), []))
	count(msgs) == 1
	some msg in msgs
	contains(msg, "contract owner has no email")
}
