package golive.scope.narrow_scope_test

import rego.v1

import data.golive.scope.narrow_scope

invoice_scope := {"process": "invoice-triage", "inputFormat": "application/pdf", "outputFormat": "application/json"}

agent(scope) := {"metadata": {"name": "invoice-triage", "namespace": "finance-agents"}, "spec": {"scope": scope}}

# denied(changes) is the set of fields denied for the invoice scope with these changes.
denied(changes) := fields if {
	fields := {v.field | some v in narrow_scope.deny} with input.agent as agent(object.union(invoice_scope, changes))
}

test_one_process_allowed if {
	count(narrow_scope.deny) == 0 with input.agent as agent(invoice_scope)
}

test_vendor_mime_types_allowed if {
	denied({"inputFormat": "message/rfc822", "outputFormat": "application/vnd.golive.ticket+json"}) == set()
}

test_mime_parameters_allowed if {
	denied({"outputFormat": "application/json; charset=utf-8"}) == set()
}

test_missing_scope_denied if {
	violations := narrow_scope.deny with input.agent as {"metadata": {"name": "a"}, "spec": {}}
	some v in violations
	v.field == "spec.scope"
	count(violations) == 1
}

test_missing_process_denied if {
	no_process := {"inputFormat": "application/pdf", "outputFormat": "application/json"}
	fields := {v.field | some v in narrow_scope.deny} with input.agent as agent(no_process)
	fields == {"spec.scope.process"}
}

test_process_list_denied if {
	every process in ["invoice-triage, payment-matching", "triage and routing", "triage/routing", "triage & routing"] {
		denied({"process": process}) == {"spec.scope.process"}
	}
}

test_process_list_message if {
	listed := object.union(invoice_scope, {"process": "triage and routing"})
	violations := narrow_scope.deny with input.agent as agent(listed)
	some v in violations
	v.field == "spec.scope.process"
	contains(v.msg, "lists several processes")
}

test_process_not_a_slug_denied if {
	every process in ["Invoice Triage", "invoice_triage", "-triage"] {
		denied({"process": process}) == {"spec.scope.process"}
	}
}

test_missing_input_format_denied if {
	no_input := {"process": "invoice-triage", "outputFormat": "application/json"}
	fields := {v.field | some v in narrow_scope.deny} with input.agent as agent(no_input)
	fields == {"spec.scope.inputFormat"}
}

test_missing_output_format_denied if {
	denied({"outputFormat": ""}) == {"spec.scope.outputFormat"}
}

test_wildcard_format_denied if {
	denied({"inputFormat": "application/*"}) == {"spec.scope.inputFormat"}
	denied({"inputFormat": "*/*"}) == {"spec.scope.inputFormat"}
}

test_format_list_denied if {
	denied({"outputFormat": "application/json, text/csv"}) == {"spec.scope.outputFormat"}
	denied({"inputFormat": "application/pdf,image/png"}) == {"spec.scope.inputFormat"}
	denied({"inputFormat": "text/plain; charset=utf-8, text/html"}) == {"spec.scope.inputFormat"}
}

test_format_not_a_mime_type_denied if {
	violations := narrow_scope.deny with input.agent as agent(object.union(invoice_scope, {"outputFormat": "json"}))
	some v in violations
	v.field == "spec.scope.outputFormat"
	contains(v.msg, `outputFormat "json" is not exactly one MIME type`)
}
