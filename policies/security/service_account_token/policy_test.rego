package golive.security.service_account_token_test

import rego.v1

import data.golive.security.service_account_token

agent(scope, pod) := {"spec": {"scope": scope, "template": {"spec": pod}}}

fields(scope, pod) := found if {
	found := {v.field | some v in service_account_token.deny} with input.agent as agent(scope, pod)
}

no_token := {"automountServiceAccountToken": false, "containers": [{"name": "agent"}]}

needs := {"kubernetesApi": {"needed": true, "reason": "reads the routing ConfigMap of its namespace"}}

test_no_token_allowed if {
	fields({}, no_token) == set()
}

test_default_automount_denied_with_message if {
	violations := service_account_token.deny with input.agent as agent({}, {"containers": [{"name": "agent"}]})
	some v in violations
	v.field == "spec.template.spec.automountServiceAccountToken"
	v.msg == concat("", [
		"the pod gets a service-account token (automountServiceAccountToken is not set, and Kubernetes mounts",
		" one by default) but the agent does not declare that it calls the Kubernetes API; set",
		" automountServiceAccountToken: false, or declare spec.scope.kubernetesApi {needed: true, reason: ...}",
		" if the agent calls the Kubernetes API",
	])
	count(violations) == 1
}

test_declared_need_allows_the_token if {
	fields(needs, {"containers": [{"name": "agent"}]}) == set()
	fields(needs, {"automountServiceAccountToken": true, "containers": []}) == set()
}

test_declared_need_without_reason_denied if {
	fields({"kubernetesApi": {"needed": true}}, {"containers": []}) == {"spec.scope.kubernetesApi.reason"}
}

test_needed_false_is_not_a_declaration if {
	fields({"kubernetesApi": {"needed": false, "reason": "x"}}, {"containers": []}) == {
		"spec.template.spec.automountServiceAccountToken",
	}
}

test_projected_token_denied_even_with_automount_off if {
	pod := object.union(no_token, {"volumes": [
		{"name": "tmp", "emptyDir": {}},
		{"name": "kube-api", "projected": {"sources": [
			{"configMap": {"name": "ca"}},
			{"serviceAccountToken": {"path": "token"}},
		]}},
	]})
	fields({}, pod) == {"spec.template.spec.volumes[1].projected.sources[1].serviceAccountToken"}
	fields(needs, pod) == set()
}
